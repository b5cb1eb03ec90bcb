#pragma once
// One VM as the GUI sees it: a Qt adapter over the core's MachineHost (the machine across its
// boots, its added devices, its gdb server), with the serial transcript, the run state and the
// statistics the status bar shows. Everything here runs on the GUI thread and never blocks on a
// vcpu: run/pause/step/stop are the runners' non-blocking requests, and the state follows the
// runners' stateChanged notifications, queued to the GUI thread.
//
// The session is the GUI's one door to the vcpu threads (docs/design.md, "One snapshot per
// stop"): when a vcpu parks it takes the vcpu's VcpuSnapshot in one call on its thread and
// announces it (snapshotTaken); the register, code, call-stack, page-walk and go-to views are
// handed that value and read guest memory relative to it (guestView()), asking no vcpu again.
// An edit of a register goes through the session, which writes it and takes the snapshot again
// in the same call.
#include "common/Signal.h"
#include "debug/Debugger.h"
#include "debug/gdb/GdbServer.h"
#include "inspect/CrashReport.h"
#include "inspect/GuestView.h"
#include "inspect/VcpuSnapshot.h"
#include "machine/MachineConfig.h"
#include "machine/MachineHost.h"
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
    // With `restore` (kvmscope --restore), the first machine is that snapshot's, restored
    // instead of booted (MachineHost::Options::restore); `config` is then its configuration.
    MachineSession(const MachineConfig& config, kvm::System& system, QObject* parent = nullptr,
                   std::shared_ptr<const snapshot::MachineImage> restore = {});
    ~MachineSession() override;

    QString name() const;
    QString imagePath() const;
    const MachineConfig& config() const;
    Machine& machine();
    MachineHost& host() { return *host_; }
    size_t vcpuCount() const;

    State state() const { return state_; }
    std::optional<MachineStop> stopReason() const;
    // True when `vcpu` is parked, so that its registers can be read or written at once.
    bool vcpuParked(size_t vcpu) const;
    // `vcpu` is parked and the machine does not run: what its snapshot shows is where it is now.
    // The debugger's views show their contents as current only then.
    bool vcpuInspectable(size_t vcpu) const;

    // --- the vcpus' state at their stops
    static constexpr int kCallTimeoutMs = 200; // the vcpu is parked: a call takes microseconds
    // The snapshot `vcpu` took when it last parked (or after an edit since); nullopt before the
    // first, or when it could not be read. While the vcpu runs, it is that of its last stop.
    std::optional<inspect::VcpuSnapshot> snapshot(size_t vcpu) const;
    // The machine's memory, read relative to a snapshot. Valid until machineAboutToBeReplaced:
    // a view that keeps one lets go of it then.
    inspect::GuestView guestView();
    // Writes a general register of the parked `vcpu` and takes its snapshot again in the same
    // call, announced by snapshotTaken (the same stop number: an edit is not a new stop). False
    // with the reason in `error` when the vcpu runs or KVM refuses.
    bool writeRegister(size_t vcpu, const inspect::RegisterWrite& write, QString* error);
    // KVM_TRANSLATE's answer for `linear` as `vcpu` sees it at its stop: the snapshot's, or, for
    // an address it was not taken with, one call on the parked vcpu, kept in the snapshot. From
    // then on every snapshot has the address's translation too (it is the page-walk pane's), so
    // a stop costs no call of its own for it. nullopt when the vcpu runs.
    std::optional<inspect::KvmTranslation> kvmTranslation(size_t vcpu, uint64_t linear);
    // The crashed vcpu's report (inspect/CrashReport.h) when the machine stopped by a crash.
    std::optional<inspect::CrashReport> crashReport();

    void run();
    void pause();
    void step(size_t vcpu);
    void stop(); // power off from the GUI (StopKind::UserStop)
    // Power-cycles the machine, as a PC's reset button does (MachineHost::reboot: a fresh
    // Machine from the same configuration), running at once when `runAfter`. Possible in every
    // state, also after a crash. Kernel devices added in this session belonged to the old VM and
    // are gone; a gdb server stays at its address. Views must let go of the old machine's devices
    // and vcpus: machineAboutToBeReplaced() comes before, machineReplaced() after. Throws what
    // the constructor throws (the image may have changed on disk); the old machine then stays.
    void reset(bool runAfter);
    // How many times the machine was reset, by reset() or by the guest.
    unsigned resetCount() const;
    // A guest that resets itself (i8042 pulse, port 0xCF9, triple fault is NOT one) boots again,
    // as a PC does, unless this is off; then it stays Stopped with the reset as its reason.
    void setRebootOnGuestReset(bool reboot);

    bool canRun() const { return state_ == State::Created || state_ == State::Paused; }
    bool canPause() const { return state_ == State::Running; }
    bool canStep() const { return canRun(); }
    bool canStop() const { return state_ != State::Stopped; }

    // Time spent running guest code, in milliseconds.
    qint64 uptimeMs() const;
    // Exits per second over the last statistics interval, all vcpus together.
    double exitsPerSecond() const { return exitsPerSecond_; }
    // Exits of this boot so far, all vcpus together.
    quint64 totalExits() const;
    // Exits of every boot of this session, the current one included.
    quint64 totalExitsOfAllBoots() const;
    // Per-reason totals of this boot, rates (over all boots) and totals of every boot, at the
    // last statistics sample (index: KVM_EXIT_*).
    const std::array<uint64_t, trace::ExitTrace::kReasonCount>& exitCounts() const {
        return counts_;
    }
    const std::array<uint64_t, trace::ExitTrace::kReasonCount>& exitCountsOfAllBoots() const {
        return allCounts_;
    }
    const std::array<double, trace::ExitTrace::kReasonCount>& exitRates() const { return rates_; }

    // The machine's devices followed by the kernel devices added to it.
    std::vector<Device*> devices() const;
    // KVM_CREATE_DEVICE of `type` on the machine's VM (a VM ioctl: no vcpu is touched), shown
    // with the other devices. Throws kvm::KvmError when the kernel refuses.
    Device& addKernelDevice(uint32_t type);
    // The kernel device types the machine's VM accepts (MachineHost::kernelDeviceOffers).
    std::vector<MachineHost::KernelDeviceOffer> kernelDeviceOffers() const;

    // The last kTranscriptCapacity bytes the guest wrote to COM1.
    QByteArray serialTranscript() const { return transcript_; }
    // Keyboard or pasted bytes for the guest's COM1.
    void sendSerialInput(const QByteArray& bytes);

    // Machine > gdb server: serves this session's machine to gdb (MachineHost::serveGdb);
    // the server stays across resets and goes with the session.
    bool serveGdb(const debug::gdb::GdbEndpoint& endpoint, uint16_t ports, QString* error);
    void stopGdb();
    bool gdbServing() const;
    QString gdbAddress() const;
    uint16_t gdbPort() const;

    static QString stateText(State state);
    // "Running", "Stopped: the guest powered off (ACPI S5)", ...
    QString statusText() const;

Q_SIGNALS:
    void stateChanged(kvmscope::ui::MachineSession::State state);
    // A vcpu parked (after a pause, a step or a stop): its state is readable now.
    void vcpuParkedChanged(uint32_t vcpu);
    // A vcpu's new snapshot (snapshot()): taken when it parked, after an edit, or re-announced
    // when its machine stopped for good while it was parked (runState Stopped). Comes before
    // vcpuParkedChanged for the same park.
    void snapshotTaken(const kvmscope::inspect::VcpuSnapshot& snapshot);
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
    void attach();
    void onRunnerParked(uint32_t vcpu);
    // One call on the parked vcpu's thread; false (and a log line) when it could not be read.
    bool takeSnapshot(uint32_t vcpu);
    inspect::ParkedState parkedState() const;
    void onMachineStopped(const MachineStop& stop);
    void onSerialOutput(const QByteArray& bytes);
    void updateState();
    void sampleStatistics();

    std::unique_ptr<SessionSerialSink> sink_; // outlives host_ (declared first)
    std::unique_ptr<MachineHost> host_;
    // To the machine's notifications, each carrying the host's boot number: the old machine's
    // queued before it was replaced are dropped. Cleared before the machine goes, so that no
    // slot still runs.
    std::vector<Connection> machineConnections_;
    std::vector<Connection> hostConnections_;
    // Per vcpu of the current machine: its last snapshot, and the snapshots taken at its parks.
    struct VcpuStops {
        std::optional<inspect::VcpuSnapshot> snapshot;
        uint64_t stops = 0; // VcpuSnapshot::stop of the last park's
    };
    std::vector<VcpuStops> vcpuStops_;
    std::optional<uint64_t> watchedAddress_; // translated in every snapshot (kvmTranslation)
    bool rebootFailed_ = false;              // the guest reset itself and booting again failed
    bool rebootCancelled_ = false;           // stop() came between a guest reset and its reboot
    State state_ = State::Created;
    bool everRun_ = false;

    QElapsedTimer runningClock_; // valid while Running
    qint64 uptimeBeforeMs_ = 0;  // running time accumulated before the current run

    QTimer statisticsTimer_;
    QElapsedTimer sampleClock_;
    quint64 lastTotalExits_ = 0; // of all boots, at the last sample
    std::array<uint64_t, trace::ExitTrace::kReasonCount> allCounts_{}; // of all boots, ditto
    double exitsPerSecond_ = 0;
    std::array<uint64_t, trace::ExitTrace::kReasonCount> counts_{};
    std::array<double, trace::ExitTrace::kReasonCount> rates_{};

    QByteArray transcript_;
};

} // namespace kvmscope::ui

// Carried by snapshotTaken (also to QSignalSpy in the tests).
Q_DECLARE_METATYPE(kvmscope::inspect::VcpuSnapshot)
