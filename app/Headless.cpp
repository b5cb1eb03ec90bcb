#include "Headless.h"

#include "ConsoleSerial.h"
#include "debug/Debugger.h"
#include "inspect/CrashReport.h"
#include "kvm/ExitTeardown.h"
#include "kvm/KvmError.h"
#include "kvm/System.h"
#include "log/Log.h"
#include "machine/Machine.h"
#include "machine/MachineHost.h"
#include "snapshot/MachineSnapshot.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <signal.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace kvmscope::app {
namespace {

constexpr int kStatusBadInput = 2;
constexpr int kStatusKvmUnavailable = 3;
// A signal that ends kvmscope: 128 + its number, as a shell reports a process it killed (130
// for Ctrl-C's SIGINT, 143 for SIGTERM, 129 for SIGHUP).
int signalStatus(int signal) {
    return 128 + signal;
}
constexpr int kPauseTimeoutMs = 2000;

void printError(const std::string& text) {
    fmt::print(stderr, "kvmscope: {}\n", text);
}

// Runs `boot` (building, loading or rebooting a machine, serving gdb): nullopt when it worked,
// else the exit status of its failure, with the message printed. InputError (a bad image or
// option) is 2, KvmError (KVM refused) is 3, any other Error (a gdb port taken) is bad input.
template <typename Boot> std::optional<int> bootStatus(Boot boot) {
    try {
        boot();
        return std::nullopt;
    } catch (const InputError& error) {
        printError(error.what());
        return kStatusBadInput;
    } catch (const kvm::KvmError& error) {
        printError(error.what());
        return kStatusKvmUnavailable;
    } catch (const Error& error) {
        printError(error.what());
        return kStatusBadInput;
    }
}

MachineStop signalStop(int signal) {
    return {StopKind::UserStop, 0, 0, fmt::format("stopped by signal {}", strsignal(signal))};
}

// SIGINT, SIGTERM and SIGHUP end kvmscope at any stage. While a machine exists they stop it
// through the normal stop path (terminal restored, files closed); before one does (opening
// files, loading the image, between a reset and the next boot) they end the process at once:
// nothing then needs stopping, and the terminal has not been touched. A dedicated thread waits
// for them with sigwait, started before anything that could block, so no handler touches the
// machine and no stage can keep a signal waiting.
//
// With --save-state, SIGUSR1 asks for a save and SIGUSR2 for a save after which the run stops (a
// machine whose disks the guest keeps writing can only be restored from a save after which it
// wrote nothing): the thread only notes them, and the main thread, which owns the machine, saves
// between two waits.
class TerminationSignals {
public:
    explicit TerminationSignals(bool saveOnUsr1) {
        sigemptyset(&set_);
        sigaddset(&set_, SIGINT);
        sigaddset(&set_, SIGTERM);
        sigaddset(&set_, SIGHUP);
        if (saveOnUsr1) {
            sigaddset(&set_, SIGUSR1);
            sigaddset(&set_, SIGUSR2);
        }
        // Blocked before any other thread starts, so every thread inherits the mask.
        pthread_sigmask(SIG_BLOCK, &set_, &previous_);
        thread_ = std::thread([this] { wait(); });
    }
    ~TerminationSignals() {
        done_.store(true);
        pthread_kill(thread_.native_handle(), SIGTERM); // wake sigwait if still waiting
        thread_.join();
        pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    }
    TerminationSignals(const TerminationSignals&) = delete;
    TerminationSignals& operator=(const TerminationSignals&) = delete;

    // The machine a signal stops from now on; null while none is built or booted.
    void setMachine(Machine* machine) {
        std::lock_guard lock(mutex_);
        machine_ = machine;
    }
    // Signals after this are left alone: the run is over and its status decided.
    void finish() { done_.store(true); }
    int received() const { return received_.load(); }
    // Whether SIGUSR1 came since the last call.
    bool takeSaveRequest() { return saveRequested_.exchange(false); }
    // Whether SIGUSR2 came.
    bool saveAndStopRequested() const { return saveAndStopRequested_.load(); }

private:
    void wait() {
        int signal = 0;
        for (;;) {
            if (sigwait(&set_, &signal) != 0 || done_.load())
                return;
            if (signal == SIGUSR2) {
                saveAndStopRequested_.store(true);
                continue;
            }
            if (signal != SIGUSR1)
                break;
            saveRequested_.store(true);
        }
        received_.store(signal);
        std::lock_guard lock(mutex_);
        if (machine_) {
            machine_->requestStop(signalStop(signal));
            return;
        }
        printError(fmt::format("{}: stopped before the guest ran", strsignal(signal)));
        std::fflush(stdout);
        std::_Exit(signalStatus(signal));
    }

    sigset_t set_{};
    sigset_t previous_{};
    std::mutex mutex_;
    Machine* machine_ = nullptr;
    std::atomic<bool> done_{false};
    std::atomic<int> received_{0};
    std::atomic<bool> saveRequested_{false};
    std::atomic<bool> saveAndStopRequested_{false};
    std::thread thread_; // last: it uses the members above
};

// How often the main thread looks for a SIGUSR1 save request while the guest runs.
constexpr int kSaveRequestPollMs = 50;

// --save-state: pauses the machine, saves it and says so on stderr (stdout is the guest's
// serial console). False, with the reason printed, when it could not be saved. `thenStop`: the
// machine stops after the save, so its virtio requests stay held: nothing the guest queued
// before the pause may reach a disk after the snapshot recorded the disk's identity.
bool saveState(Machine& machine, const std::string& path, bool thenStop) {
    machine.pause();
    if (!machine.waitUntilPaused(kPauseTimeoutMs)) {
        printError(fmt::format("--save-state {}: the vcpus did not pause within {} ms", path,
                               kPauseTimeoutMs));
        return false;
    }
    try {
        if (thenStop)
            machine.holdDeviceRequests(kPauseTimeoutMs); // never released: the machine stops
        const snapshot::SaveStats stats = snapshot::saveMachine(machine, path);
        fmt::print(stderr, "kvmscope: saved the machine to {} ({} RAM pages stored, {} zero)\n",
                   path, stats.ramPagesStored, stats.ramPagesZero);
        return true;
    } catch (const Error& error) {
        printError(fmt::format("--save-state {}: {}", path, error.what()));
        return false;
    }
}

} // namespace

int runHeadless(const CommandLine& options) {
    if (options.startPaused && !options.gdb) {
        printError("--paused without a window: only a gdb client could continue the guest; add "
                   "--gdb [HOST:]PORT, or run with a display");
        return kStatusBadInput;
    }
    const bool saving = !options.saveStatePath.empty();
    TerminationSignals signals(saving);
    std::unique_ptr<kvm::System> system;
    try {
        system = std::make_unique<kvm::System>();
    } catch (const kvm::KvmError& error) {
        printError(error.what());
        return kStatusKvmUnavailable;
    }

    int serialFd = STDOUT_FILENO;
    int ownedFd = -1;
    if (options.serial == SerialMode::File) {
        ownedFd =
            ::open(options.serialPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (ownedFd < 0) {
            printError(fmt::format("--serial file:{}: cannot open: {}", options.serialPath,
                                   std::strerror(errno)));
            return kStatusBadInput;
        }
        serialFd = ownedFd;
    } else if (options.serial == SerialMode::None) {
        ownedFd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        serialFd = ownedFd;
    }
    struct FdCloser {
        int fd;
        ~FdCloser() {
            if (fd >= 0)
                ::close(fd);
        }
    } closer{ownedFd};
    FdSerialSink sink(serialFd);

    using Clock = std::chrono::steady_clock;
    const bool hasDeadline = options.timeoutSeconds.has_value();
    const Clock::time_point deadline =
        Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(
                           std::ceil(options.timeoutSeconds.value_or(0.0) * 1000.0)));
    std::unique_ptr<TerminalInput> input;
    // Nothing on a terminal shows a kernel device's attributes, and creating one only costs time
    // (a VFIO device's teardown takes ~10 ms on some hosts): the window makes them. Only a file
    // given with --symbols is read (a bad one is bad input): nothing here shows the image's own.
    MachineConfig config = options.machine;
    config.inspectKernelDevices = false;
    MachineHost::Options hostOptions;
    hostOptions.rebootOnGuestReset = !options.noReboot;
    hostOptions.symbols = MachineHost::Symbols::Named;
    hostOptions.restore = options.restore;
    std::unique_ptr<MachineHost> host;
    // Between a guest reset and the next boot, a signal ends kvmscope at once.
    Connection detachSignals;
    std::optional<MachineStop> stop;
    bool saveFailed = false;
    bool savedAndStopped = false; // SIGUSR2: status 128 + SIGUSR2, as a stop by signal
    if (const auto failed = bootStatus([&] {
            host = std::make_unique<MachineHost>(config, *system, sink, hostOptions);
            // --gdb: the server stays at its address across the guest's reboots (MachineHost).
            if (options.gdb)
                host->serveGdb(*options.gdb);
        }))
        return *failed;
    detachSignals = host->machineAboutToBeReplaced.connect([&signals, &input] {
        input.reset();
        signals.setMachine(nullptr);
    });
    for (;;) {
        Machine& machine = host->machine();
        signals.setMachine(&machine);
        if (const int signal = signals.received()) // it reached the previous machine as it ended
            machine.requestStop(signalStop(signal));
        if (options.serial == SerialMode::Stdio)
            input = std::make_unique<TerminalInput>(STDIN_FILENO, machine.serial(), [&machine] {
                machine.requestStop({StopKind::UserStop, 0, 0, "quit from the console (Ctrl-A x)"});
            });

        if (host->gdbServing() && host->boots() == 1) {
            // As a debugger expects (and QEMU's -s -S does): the guest waits before its first
            // instruction until the client continues it. A reboot runs on: the client was told
            // the old machine exited and attaches to the new one when it wants.
            fmt::print(stderr, "kvmscope: gdb: waiting for a client on {}\n", host->gdbAddress());
        } else {
            machine.run();
        }
        for (;;) {
            int timeoutMs = -1;
            if (hasDeadline)
                timeoutMs = static_cast<int>(std::max<int64_t>(
                    0,
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())
                        .count()));
            // With --save-state, wake now and then for a SIGUSR1's save request.
            if (saving)
                timeoutMs =
                    timeoutMs < 0 ? kSaveRequestPollMs : std::min(timeoutMs, kSaveRequestPollMs);
            stop = machine.waitForStop(timeoutMs);
            if (stop || (hasDeadline && Clock::now() >= deadline) ||
                (saving && signals.saveAndStopRequested()))
                break;
            if (saving && signals.takeSaveRequest()) {
                // The vcpus that ran go on after the save, whether it worked or not; one a gdb
                // client holds stopped stays so.
                std::vector<size_t> running;
                for (size_t index = 0; index < machine.vcpuCount(); ++index)
                    if (machine.vcpu(index).state() == cpu::RunState::Running)
                        running.push_back(index);
                saveState(machine, options.saveStatePath, false);
                if (!machine.stopState())
                    for (size_t index : running)
                        machine.vcpu(index).resume();
            }
        }
        if (!stop && saving) {
            // --timeout with --save-state, or SIGUSR2: the machine as it is then, and the run
            // stops. A save that fails makes the run's status bad input (2).
            saveFailed = !saveState(machine, options.saveStatePath, true);
        }
        // A vcpu may be waiting for a serial reader that has stopped reading (a full pipe): let
        // it give up, or the machine could never be paused or torn down.
        sink.abandon();
        if (!stop && signals.saveAndStopRequested()) {
            machine.requestStop(
                {StopKind::UserStop, 0, 0, "stopped after the save SIGUSR2 asked for"});
            stop = machine.stopState();
            savedAndStopped = true;
        }
        if (!stop) {
            machine.requestStop(
                {StopKind::Timeout, 0, 0,
                 fmt::format("--timeout of {} s ran out", *options.timeoutSeconds)});
            stop = machine.stopState();
        }
        // A reset boots the guest again, as a PC does, unless --no-reboot or a quit came.
        if (!host->rebootsAfter(*stop) || signals.received())
            break;
        if (const auto failed = bootStatus([&] { host->reboot(); })) // fresh RAM, devices, vcpus
            return *failed;
        sink.resume();
        log::get("kvm")->info("{}: booting again after the guest's reset (boot {})",
                              options.machine.name, host->boots());
    }
    host->stopGdb(); // the client has had the exit reply; no stop reaches it any more
    detachSignals.reset();
    signals.finish();
    input.reset(); // restore the terminal before printing anything
    Machine& machine = host->machine();
    // This VM never runs again and the process is about to exit: let the kernel destroy it
    // after we are gone instead of before (ExitTeardown.h; 8-30 ms on busy hosts).
    kvm::deferTeardownToExit(machine.vm());

    if (stop->kind == StopKind::Crash || stop->kind == StopKind::Timeout) {
        printError(stop->reason);
        if (stop->kind == StopKind::Crash && machine.waitUntilPaused(kPauseTimeoutMs)) {
            // KVM's state now, and the registers at the last exit before the crash: on AMD
            // hosts the first is the reset state, and the report says so (cpu/CrashState.h).
            // After a triple fault, the chain of exceptions that led to it follows
            // (inspect/TripleFaultAutopsy.h).
            const inspect::CrashReport report =
                inspect::readCrashReport(machine, stop->vcpu, kPauseTimeoutMs);
            fmt::print(stderr, "{}{}", report.text, report.autopsy);
        }
    } else {
        log::get("kvm")->info("{}", stop->reason);
    }
    if (saveFailed)
        return kStatusBadInput;
    if (savedAndStopped)
        return signalStatus(SIGUSR2);
    if (stop->kind == StopKind::UserStop && signals.received())
        return signalStatus(signals.received());
    return stop->exitStatus();
}

} // namespace kvmscope::app
