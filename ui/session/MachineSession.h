#pragma once
// One VM as the GUI sees it: the core Machine, its serial sink, its run state and the statistics
// the status bar shows. Everything here runs on the GUI thread and never blocks on a vcpu:
// run/pause/step/stop are the runners' non-blocking requests, and the state follows the runners'
// stateChanged notifications, queued to the GUI thread.
#include "common/Signal.h"
#include "debug/Debugger.h"
#include "machine/MachineConfig.h"
#include "machine/MachineStop.h"
#include "trace/ExitTrace.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QTimer>
#include <array>
#include <memory>
#include <optional>
#include <vector>

namespace kvmscope {
class Device;
class Machine;
namespace kvm {
class System;
}
} // namespace kvmscope

namespace kvmscope::ui {

class SessionSerialSink;

class MachineSession : public QObject {
    Q_OBJECT
public:
    enum class State {
        Created, // booted, never run: the boot state can be inspected and stepped
        Running, // at least one vcpu runs guest code
        Paused,  // every vcpu is parked
        Stopped, // the machine stopped (stopReason() says why); its state can still be read
    };
    Q_ENUM(State)

    static constexpr int kStatisticsIntervalMs = 500;
    static constexpr qsizetype kTranscriptCapacity = 1 << 20; // bytes of serial history kept

    // Creates the machine and loads its image (not running yet). Throws InputError (LoadError
    // for the image) and kvm::KvmError as the core does.
    MachineSession(const MachineConfig& config, kvm::System& system, QObject* parent = nullptr);
    ~MachineSession() override;

    QString name() const;
    QString imagePath() const;
    const MachineConfig& config() const;
    Machine& machine() { return *machine_; }
    size_t vcpuCount() const;

    State state() const { return state_; }
    std::optional<MachineStop> stopReason() const;
    // True when `vcpu` is parked, so that its registers can be read or written at once.
    bool vcpuParked(size_t vcpu) const;

    void run();
    void pause();
    void step(size_t vcpu);
    void stop(); // power off from the GUI (StopKind::UserStop)
    // Power-cycles the machine, as a PC's reset button does: a fresh Machine from the same
    // configuration (new RAM, devices and vcpus, the image loaded again), running at once when
    // `runAfter`. Possible in every state, also after a crash. Kernel devices added in this
    // session belonged to the old VM and are gone. Views must let go of the old machine's devices
    // and vcpus: machineAboutToBeReplaced() comes before, machineReplaced() after. Throws what
    // the constructor throws (the image may have changed on disk); the old machine then stays.
    void reset(bool runAfter);
    // How many times the machine was reset, by reset() or by the guest.
    unsigned resetCount() const { return resetCount_; }
    // A guest that resets itself (i8042 pulse, port 0xCF9, triple fault is NOT one) boots again,
    // as a PC does, unless this is off; then it stays Stopped with the reset as its reason.
    void setRebootOnGuestReset(bool reboot) { rebootOnGuestReset_ = reboot; }

    bool canRun() const { return state_ == State::Created || state_ == State::Paused; }
    bool canPause() const { return state_ == State::Running; }
    bool canStep() const { return canRun(); }
    bool canStop() const { return state_ != State::Stopped; }

    // Time spent running guest code, in milliseconds.
    qint64 uptimeMs() const;
    // Exits per second over the last statistics interval, all vcpus together.
    double exitsPerSecond() const { return exitsPerSecond_; }
    quint64 totalExits() const;
    // Per-reason totals and rates at the last statistics sample (index: KVM_EXIT_*).
    const std::array<uint64_t, trace::ExitTrace::kReasonCount>& exitCounts() const {
        return counts_;
    }
    const std::array<double, trace::ExitTrace::kReasonCount>& exitRates() const { return rates_; }

    // The machine's devices followed by the kernel devices added in this session. Machine has no
    // way to take a device after construction, so the session owns the ones the user adds.
    std::vector<Device*> devices() const;
    // KVM_CREATE_DEVICE of `type` on the machine's VM (a VM ioctl: no vcpu is touched), shown
    // with the other devices. Throws kvm::KvmError when the kernel refuses.
    Device& addKernelDevice(uint32_t type);

    // The last kTranscriptCapacity bytes the guest wrote to COM1.
    QByteArray serialTranscript() const { return transcript_; }
    // Keyboard or pasted bytes for the guest's COM1.
    void sendSerialInput(const QByteArray& bytes);

    static QString stateText(State state);
    // "Running", "Stopped: the guest powered off (ACPI S5)", ...
    QString statusText() const;

Q_SIGNALS:
    void stateChanged(kvmscope::ui::MachineSession::State state);
    // A vcpu parked (after a pause, a step or a stop): its state is readable now.
    void vcpuParkedChanged(uint32_t vcpu);
    void serialOutput(const QByteArray& bytes);
    // A new statistics sample (exits, rates, uptime) is available.
    void statisticsUpdated();
    // devices() changed (a kernel device was added).
    void devicesChanged();
    // reset(): the old machine is about to be destroyed (drop every pointer into it) ...
    void machineAboutToBeReplaced();
    // ... and the new one is booted (bind to machine() again).
    void machineReplaced();
    // The guest reset itself and booting it again failed (e.g. the image is gone); the session
    // stays Stopped.
    void rebootFailed(const QString& reason);
    // The debugger stopped the machine (breakpoint, step, exit breakpoint), from
    // Debugger::stopped, queued to this thread; a replaced machine's stops are dropped.
    void debugStopped(const kvmscope::debug::DebugStop& stop);

private:
    std::unique_ptr<Machine> bootMachine();
    void attach(std::unique_ptr<Machine> machine);
    void onRunnerParked(uint32_t vcpu);
    void onMachineStopped(const MachineStop& stop);
    void onSerialOutput(const QByteArray& bytes);
    void updateState();
    void sampleStatistics();

    kvm::System& system_;
    MachineConfig config_;
    std::unique_ptr<SessionSerialSink> sink_; // outlives machine_ (declared first)
    std::unique_ptr<Machine> machine_;
    // Bumped for every new machine: signals the old machine's threads queued before it was
    // destroyed carry the old value and are dropped.
    unsigned generation_ = 0;
    // To machine_'s notifications; cleared before machine_ goes, so that no slot still runs.
    std::vector<Connection> machineConnections_;
    unsigned resetCount_ = 0;
    bool rebootOnGuestReset_ = true;
    bool rebootFailed_ = false;    // the guest reset itself and booting again failed
    bool rebootCancelled_ = false; // stop() came between a guest reset and its reboot
    // Declared after machine_, so destroyed first: their fds close before the VM's.
    std::vector<std::unique_ptr<Device>> addedDevices_;
    State state_ = State::Created;
    bool everRun_ = false;

    QElapsedTimer runningClock_; // valid while Running
    qint64 uptimeBeforeMs_ = 0;  // running time accumulated before the current run

    QTimer statisticsTimer_;
    QElapsedTimer sampleClock_;
    quint64 lastTotalExits_ = 0;
    double exitsPerSecond_ = 0;
    std::array<uint64_t, trace::ExitTrace::kReasonCount> counts_{};
    std::array<double, trace::ExitTrace::kReasonCount> rates_{};

    QByteArray transcript_;
};

} // namespace kvmscope::ui
