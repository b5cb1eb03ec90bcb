#include "cpu/VcpuRunner.h"

#include "common/Error.h"
#include "cpu/EmulationFallback.h"
#include "cpu/ExitAction.h"
#include "kvm/Ioctl.h"
#include "log/Log.h"
#include "machine/AddressBus.h"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fmt/format.h>

namespace kvmscope::cpu {
namespace {

// The signal that kicks a vcpu out of KVM_RUN. Its handler does nothing: the point is that the
// ioctl returns EINTR. SA_RESTART keeps other syscalls on the vcpu thread (a serial sink's write)
// from failing; KVM_RUN is never restarted (it returns EINTR itself). The first real-time signal,
// which nobody sends a process by hand, so that SIGUSR1 stays the user's (the headless runner's
// --save-state takes it and blocks it in every thread, which would block a kick by it too).
int kickSignal() {
    return SIGRTMIN;
}

void onKick(int) {}

void installKickHandler() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction action {};
        action.sa_handler = onKick;
        action.sa_flags = SA_RESTART;
        sigemptyset(&action.sa_mask);
        sigaction(kickSignal(), &action, nullptr);
    });
}

std::atomic_ref<uint8_t> immediateExit(kvm_run* run) {
    return std::atomic_ref<uint8_t>(run->immediate_exit);
}

} // namespace

const char* toString(RunState state) {
    switch (state) {
    case RunState::Created:
        return "created";
    case RunState::Running:
        return "running";
    case RunState::Paused:
        return "paused";
    case RunState::Stopped:
        return "stopped";
    }
    return "?";
}

VcpuRunner::VcpuRunner(kvm::Vcpu vcpu, const AddressBus& ioBus, const AddressBus& mmioBus,
                       VcpuHost& host)
    : vcpu_(std::move(vcpu)), ioBus_(ioBus), mmioBus_(mmioBus), host_(host) {}

VcpuRunner::~VcpuRunner() {
    stop();
    join();
}

void VcpuRunner::start() {
    installKickHandler();
    // Ask KVM to copy the general registers into kvm_run on every exit (KVM_CAP_SYNC_REGS,
    // api.rst 5 "kvm_valid_regs") so the trace can show RIP without a KVM_GET_REGS per exit.
    // The machine probes the capability. kvm_dirty_regs stays 0: kvmscope writes registers with
    // KVM_SET_REGS, never through the run page. Set before the thread exists, so no race.
    // With the system registers as well (KVM_SYNC_X86_SREGS) where KVM offers them: on AMD hosts
    // a triple fault resets the vcpu before kvmscope sees the shutdown, so the descriptor tables
    // and paging at the last exit are all that is left to explain the fault with
    // (inspect/TripleFaultAutopsy.h). KVM fills them on every exit (api.rst 5, "kvm_valid_regs").
    if (syncRegs_)
        vcpu_.runState()->kvm_valid_regs =
            KVM_SYNC_X86_REGS | (syncSregs_ ? KVM_SYNC_X86_SREGS : 0);
    thread_ = std::thread([this] { threadMain(); });
}

void VcpuRunner::kick() {
    immediateExit(vcpu_.runState()).store(1, std::memory_order_release);
    if (threadInKvm_.load(std::memory_order_acquire))
        pthread_kill(threadHandle_.load(), kickSignal());
}

void VcpuRunner::clearKick() {
    immediateExit(vcpu_.runState()).store(0, std::memory_order_release);
}

void VcpuRunner::resume() {
    {
        std::lock_guard lock(mutex_);
        if (request_ == Request::Quit)
            return;
        request_ = Request::Run;
    }
    // Running from the caller's point of view at once, so that waitUntilParked() waits for the
    // park that follows this request rather than returning on the previous one.
    setState(RunState::Running);
    changed_.notify_all();
}

void VcpuRunner::setGuestDebug(const kvm_guest_debug& debug) {
    {
        std::lock_guard lock(mutex_);
        armedDebug_ = debug;
    }
    // A running vcpu leaves KVM_RUN and, its request unchanged, re-enters with the new state.
    if (state_.load() == RunState::Running)
        kick();
}

void VcpuRunner::pause() {
    {
        std::lock_guard lock(mutex_);
        // Already asked to pause: the thread parks, or has, without being woken again (the
        // debugger pauses every vcpu before each step, most of them long parked).
        if (request_ == Request::Quit || request_ == Request::Pause)
            return;
        request_ = Request::Pause;
    }
    kick();
    changed_.notify_all();
}

void VcpuRunner::stop() {
    {
        std::lock_guard lock(mutex_);
        request_ = Request::Quit;
    }
    if (thread_.joinable())
        kick();
    changed_.notify_all();
}

void VcpuRunner::join() {
    if (thread_.joinable())
        thread_.join();
}

bool VcpuRunner::waitUntilParked(int timeoutMs) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::milliseconds(timeoutMs), [this] {
        const RunState s = state_.load();
        return s == RunState::Paused || s == RunState::Stopped;
    });
}

void VcpuRunner::setState(RunState state) {
    {
        std::lock_guard lock(mutex_);
        if (state_.exchange(state) == state)
            return;
    }
    changed_.notify_all();
    stateChanged.emit(vcpu_.id(), state);
}

void VcpuRunner::enqueue(std::function<void()> work, int timeoutMs, std::future<void>& done) {
    auto task = std::make_shared<std::packaged_task<void()>>(std::move(work));
    done = task->get_future();
    {
        std::lock_guard lock(mutex_);
        if (state_.load() == RunState::Stopped || !thread_.joinable())
            throw Error(fmt::format("vcpu {} has no running thread", vcpu_.id()));
        work_.push_back(task);
    }
    changed_.notify_all();
    if (done.wait_for(std::chrono::milliseconds(timeoutMs)) == std::future_status::ready)
        return;
    // Not served in time: withdraw the request unless the vcpu thread has already taken it.
    std::lock_guard lock(mutex_);
    for (auto it = work_.begin(); it != work_.end(); ++it) {
        if (*it == task) {
            work_.erase(it);
            throw Error(fmt::format("vcpu {} is {}: pause it before reading or writing its state",
                                    vcpu_.id(), toString(state_.load())));
        }
    }
    // Taken: it is running right now and will finish; the caller's done.get() waits for it.
}

void VcpuRunner::threadMain() {
    threadHandle_.store(pthread_self());
    auto logger = log::get("cpu");
    std::unique_lock lock(mutex_);
    for (;;) {
        // Park: serve queued work until asked to run, step or quit. The state says Paused before
        // any work is served, so whoever's call() returned sees the vcpu parked (it is).
        while (request_ == Request::Pause || !work_.empty()) {
            if (request_ == Request::Pause && state_.load() != RunState::Paused) {
                lock.unlock();
                setState(RunState::Paused);
                lock.lock();
                continue;
            }
            if (!work_.empty()) {
                auto task = std::move(work_.front());
                work_.pop_front();
                lock.unlock();
                (*task)();
                lock.lock();
                continue;
            }
            changed_.wait(lock);
        }
        if (request_ == Request::Quit)
            break;
        const bool singleStep = request_ == Request::Step;
        const StepRequest stepRequest = stepRequest_;
        const uint64_t stepSerial = stepSerial_;
        runDebug_ = armedDebug_;
        runStepWithoutBreakpoints_ = singleStep && stepRequest.firstWithoutBreakpoints;
        runStepCheck_ = stepCheck_;
        // Consume any kick aimed at the previous run; a kick from now on interrupts this one.
        clearKick();
        lock.unlock();
        setState(RunState::Running);
        try {
            if (singleStep)
                runSteps(stepRequest, stepSerial);
            else
                runUntilInterrupted(false);
        } catch (const std::exception& error) {
            VcpuStop stop{vcpu_.id(), StopCause::HostError, 0, 0, error.what()};
            logger->error("vcpu {}: {}", vcpu_.id(), error.what());
            lock.lock();
            // Park, unless stop() asked the thread to end meanwhile: a Quit overwritten here
            // would park it for good and leave ~VcpuRunner's join() waiting.
            if (request_ != Request::Quit)
                request_ = Request::Pause;
            lock.unlock();
            host_.vcpuStopped(stop);
        }
        lock.lock();
        // A run of steps that nothing else ended parks now (pause, resume or a new step request
        // from another thread meanwhile win).
        if (singleStep && request_ == Request::Step && stepSerial_ == stepSerial)
            request_ = Request::Pause;
        if (host_.machineStopping() && request_ != Request::Quit)
            request_ = Request::Pause;
    }
    lock.unlock();
    setState(RunState::Stopped);
}

void VcpuRunner::applyGuestDebug(bool singleStep) {
    kvm_guest_debug wanted = runStepWithoutBreakpoints_ ? kvm_guest_debug{} : runDebug_;
    if (singleStep || !runStepCheck_.empty())
        wanted.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
    // KVM_SET_GUEST_DEBUG costs an ioctl: issue it only when the state changes, so a run of steps
    // or of continues with the same breakpoints pays for it once.
    if (std::memcmp(&wanted, &appliedDebug_, sizeof wanted) == 0)
        return;
    vcpu_.setGuestDebug(wanted);
    appliedDebug_ = wanted;
}

bool VcpuRunner::runUntilInterrupted(bool singleStep) {
    if (singleStep)
        lastStepPc_.store(kNoStepPc, std::memory_order_relaxed);
    applyGuestDebug(singleStep);
    if (exitBreakPending_) {
        // The access an exit breakpoint stopped: the device sees it now, once, and KVM_RUN below
        // completes it (an IN's value reaches RAX, RIP moves past the instruction).
        exitBreakPending_ = false;
        kvm_run& run = *vcpu_.runState();
        if (run.exit_reason == KVM_EXIT_IO)
            dispatchIo(run);
        else
            dispatchMmio(run);
        lastExitNeedsCompletion_ = true;
    }
    bool stepDone = false;
    for (;;) {
        threadInKvm_.store(true, std::memory_order_release);
        const int result = vcpu_.run();
        threadInKvm_.store(false, std::memory_order_release);
        if (result == -EINTR) {
            lastExitNeedsCompletion_ = false; // KVM_RUN completed the pending access first
            break;
        }
        const ExitAction action = handleExit(singleStep);
        if (!action.runsOn()) {
            stepDone = action.finishesStep();
            break;
        }
        if (host_.machineStopping())
            break;
    }
    completePendingIo();
    return stepDone;
}

void VcpuRunner::completePendingIo() {
    // api.rst 5 (KVM_EXIT_IO/MMIO): the access is complete and the registers consistent only
    // after the next KVM_RUN; one with immediate_exit set completes it without running the guest.
    if (!lastExitNeedsCompletion_)
        return;
    lastExitNeedsCompletion_ = false;
    auto flag = immediateExit(vcpu_.runState());
    const uint8_t previous = flag.exchange(1);
    vcpu_.run();
    flag.store(previous);
}

ExitAction VcpuRunner::handleExit(bool singleStep) {
    kvm_run& run = *vcpu_.runState();
    recordExit(run);
    lastExitNeedsCompletion_ = false;
    ExitContext context;
    context.vcpu = vcpu_.id();
    context.singleStep = singleStep;
    context.softwareBreakpoints = (appliedDebug_.control & KVM_GUESTDBG_USE_SW_BP) != 0;
    context.stepCheck = runStepCheck_;
    context.exitBreakpoints = exitBreakpoints_;
    ExitAction action = decodeExit(run, context);
    switch (action.kind) {
    case ExitAction::Kind::DispatchIo:
        dispatchIo(run);
        lastExitNeedsCompletion_ = true;
        break;
    case ExitAction::Kind::DispatchMmio:
        dispatchMmio(run);
        lastExitNeedsCompletion_ = true;
        break;
    case ExitAction::Kind::CompleteInstruction:
        if (const auto completed = completeInstruction(vcpu_, action.instruction, memory_)) {
            if (instructionsCompleted_.fetch_add(1, std::memory_order_relaxed) == 0)
                log::get("kvm")->info("vcpu {}: completing instructions KVM's emulator cannot "
                                      "run, first {} at RIP {:#x}",
                                      vcpu_.id(), completed->mnemonic, completed->rip);
            action.kind = ExitAction::Kind::Resume;
        } else {
            action.kind = ExitAction::Kind::Stop;
            action.stop = describeStop(vcpu_.id(), StopCause::InternalError, run);
        }
        break;
    case ExitAction::Kind::StepDone:
        lastStepPc_.store(action.stepPc, std::memory_order_relaxed);
        break;
    case ExitAction::Kind::Resume:
    case ExitAction::Kind::Interrupted:
    case ExitAction::Kind::Stop:
        break;
    }
    if (action.kind == ExitAction::Kind::Stop) {
        // An exit breakpoint's access stays pending in kvm_run; the next run dispatches it
        // (runUntilInterrupted) and no KVM_RUN may complete it before: completePendingIo() must
        // not run for it.
        if (action.stop.cause == StopCause::ExitBreakpoint)
            exitBreakPending_ = run.exit_reason == KVM_EXIT_IO || run.exit_reason == KVM_EXIT_MMIO;
        reportStop(action.stop);
    }
    return action;
}

void VcpuRunner::reportStop(const VcpuStop& stop) {
    {
        std::lock_guard lock(mutex_);
        if (request_ != Request::Quit)
            request_ = Request::Pause;
    }
    host_.vcpuStopped(stop);
}

void VcpuRunner::dispatchIo(kvm_run& run) {
    auto* base = reinterpret_cast<uint8_t*>(&run) + run.io.data_offset;
    const size_t size = run.io.size;
    for (uint32_t i = 0; i < run.io.count; ++i) {
        uint8_t* element = base + i * size;
        if (run.io.direction == KVM_EXIT_IO_OUT) {
            ioBus_.write(run.io.port, {element, size});
        } else if (!ioBus_.read(run.io.port, {element, size})) {
            // Nothing decodes the port: the ISA bus floats high.
            std::fill(element, element + size, 0xff);
        }
    }
}

void VcpuRunner::dispatchMmio(kvm_run& run) {
    const size_t length = std::min<size_t>(run.mmio.len, sizeof run.mmio.data);
    if (run.mmio.is_write) {
        mmioBus_.write(run.mmio.phys_addr, {run.mmio.data, length});
    } else if (!mmioBus_.read(run.mmio.phys_addr, {run.mmio.data, length})) {
        std::fill(run.mmio.data, run.mmio.data + length, 0xff);
    }
}

std::optional<VcpuRunner::LastExit> VcpuRunner::lastExit(int timeoutMs) {
    return call([this](kvm::Vcpu&) { return lastExit_; }, timeoutMs);
}

void VcpuRunner::recordExit(const kvm_run& run) {
    trace::ExitRecord record;
    record.timestampNs = trace::monotonicNs();
    record.reason = run.exit_reason;
    record.vcpu = vcpu_.id();
    if (run.kvm_valid_regs & KVM_SYNC_X86_REGS) {
        record.rip = run.s.regs.regs.rip;
        record.ripValid = true;
        // Not a shutdown's: on AMD hosts KVM has already reset the vcpu when it reports one.
        if (run.exit_reason != KVM_EXIT_SHUTDOWN) {
            const bool hasSregs = (run.kvm_valid_regs & KVM_SYNC_X86_SREGS) != 0;
            lastExit_ = LastExit{run.s.regs.regs, hasSregs ? run.s.regs.sregs : kvm_sregs{},
                                 hasSregs, run.exit_reason, record.timestampNs};
        }
    }
    if (run.exit_reason == KVM_EXIT_IO) {
        record.address = run.io.port;
        record.size = run.io.size;
        record.count = run.io.count;
        record.access = run.io.direction == KVM_EXIT_IO_OUT ? trace::AccessKind::PortOut
                                                            : trace::AccessKind::PortIn;
        if (run.io.direction == KVM_EXIT_IO_OUT) {
            const auto* data = reinterpret_cast<const uint8_t*>(&run) + run.io.data_offset;
            std::memcpy(&record.data, data, std::min<size_t>(run.io.size, sizeof record.data));
        }
    } else if (run.exit_reason == KVM_EXIT_MMIO) {
        record.address = run.mmio.phys_addr;
        record.size = static_cast<uint8_t>(run.mmio.len);
        record.count = 1;
        record.access =
            run.mmio.is_write ? trace::AccessKind::MmioWrite : trace::AccessKind::MmioRead;
        if (run.mmio.is_write)
            std::memcpy(&record.data, run.mmio.data,
                        std::min<size_t>(run.mmio.len, sizeof record.data));
    }
    trace_.record(record);
    // Per-address counters: only port and MMIO exits carry an access (None is ignored).
    addressCounters_.record(record.access, record.address,
                            uint64_t{record.size} * std::max<uint32_t>(record.count, 1));
}

CpuState VcpuRunner::readState(int timeoutMs) {
    return call([this](kvm::Vcpu& vcpu) { return readCpuState(vcpu, msrIndices_); }, timeoutMs);
}

void VcpuRunner::writeState(const CpuState& state, unsigned parts, int timeoutMs) {
    call(
        [&state, parts](kvm::Vcpu& vcpu) {
            if (parts & PartSregs)
                vcpu.setSregs(state.sregs);
            if (parts & PartRegs)
                vcpu.setRegs(state.regs);
            if (parts & PartFpu)
                vcpu.setFpu(state.fpu);
            if (parts & PartDebugRegs)
                vcpu.setDebugRegs(state.debugRegs);
            if ((parts & PartLapic) && state.hasLapic)
                vcpu.setLapic(state.lapic);
            if (parts & PartEvents)
                vcpu.setEvents(state.events);
            if (parts & PartMpState)
                vcpu.setMpState(state.mpState);
            if (parts & PartMsrs)
                vcpu.setMsrs(state.msrs);
        },
        timeoutMs);
}

} // namespace kvmscope::cpu
