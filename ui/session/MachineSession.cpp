#include "session/MachineSession.h"

#include "cpu/VcpuRunner.h"
#include "devices/Uart16550.h"
#include "devices/kernel/KernelDevice.h"
#include "kvm/System.h"
#include "log/Log.h"
#include "machine/Machine.h"
#include "session/SessionSerialSink.h"

#include <span>

namespace kvmscope::ui {

MachineSession::MachineSession(const MachineConfig& config, kvm::System& system, QObject* parent)
    : QObject(parent), system_(system), config_(config),
      sink_(std::make_unique<SessionSerialSink>()) {
    connect(sink_.get(), &SessionSerialSink::output, this, &MachineSession::onSerialOutput);

    attach(bootMachine());

    statisticsTimer_.setInterval(kStatisticsIntervalMs);
    connect(&statisticsTimer_, &QTimer::timeout, this, &MachineSession::sampleStatistics);
    statisticsTimer_.start();
    sampleClock_.start();
}

std::unique_ptr<Machine> MachineSession::bootMachine() {
    auto machine = std::make_unique<Machine>(config_, system_, *sink_);
    machine->boot();
    machine->debugger().loadSymbols(config_.symbolsPath, config_.boot.imagePath);
    return machine;
}

void MachineSession::attach(std::unique_ptr<Machine> machine) {
    machineConnections_.clear();
    machine_ = std::move(machine);
    const unsigned generation = ++generation_;

    // The notifications come from vcpu threads (or from this thread for a GUI stop): they are
    // always queued to this object's thread, so the session's state only changes on the GUI
    // thread. One of a machine that a reset has since replaced is stale and dropped.
    machineConnections_.push_back(
        machine_->stopped.connect([this, generation](const MachineStop& stop) {
            QMetaObject::invokeMethod(
                this,
                [this, generation, stop] {
                    if (generation == generation_)
                        onMachineStopped(stop);
                },
                Qt::QueuedConnection);
        }));
    machineConnections_.push_back(
        machine_->debugger().stopped.connect([this, generation](const debug::DebugStop& stop) {
            QMetaObject::invokeMethod(
                this,
                [this, generation, stop] {
                    if (generation == generation_)
                        Q_EMIT debugStopped(stop);
                },
                Qt::QueuedConnection);
        }));
    for (size_t index = 0; index < machine_->vcpuCount(); ++index) {
        machineConnections_.push_back(machine_->vcpu(index).stateChanged.connect(
            [this, generation](uint32_t vcpu, cpu::RunState state) {
                QMetaObject::invokeMethod(
                    this,
                    [this, generation, vcpu, state] {
                        if (generation != generation_)
                            return;
                        if (state == cpu::RunState::Paused)
                            onRunnerParked(vcpu);
                        updateState();
                    },
                    Qt::QueuedConnection);
            }));
    }
}

void MachineSession::reset(bool runAfter) {
    // The new machine first: if the image cannot be loaded any more, the old one stays as it
    // was and the caller reports the error.
    std::unique_ptr<Machine> fresh = bootMachine();
    rebootFailed_ = false;
    rebootCancelled_ = false;
    Q_EMIT machineAboutToBeReplaced();
    addedDevices_.clear(); // their fds close before the old VM's
    machineConnections_.clear();
    machine_.reset(); // stops and joins the old vcpu threads
    attach(std::move(fresh));
    ++resetCount_;
    everRun_ = false;
    uptimeBeforeMs_ = 0;
    runningClock_.invalidate();
    // The new machine's exit counters start at zero.
    lastTotalExits_ = 0;
    counts_ = {};
    rates_ = {};
    exitsPerSecond_ = 0;
    updateState(); // Created: the new machine has not run yet
    Q_EMIT machineReplaced();
    Q_EMIT devicesChanged();
    if (runAfter)
        run();
}

MachineSession::~MachineSession() {
    // The added devices' fds close first; the machine joins its vcpu threads before the sink they
    // write to goes away.
    addedDevices_.clear();
    machineConnections_.clear();
    machine_.reset();
}

std::vector<Device*> MachineSession::devices() const {
    std::vector<Device*> all = machine_->devices();
    for (const auto& device : addedDevices_)
        all.push_back(device.get());
    return all;
}

Device& MachineSession::addKernelDevice(uint32_t type) {
    auto device = std::make_unique<KernelDevice>(machine_->vm().createDevice(type));
    unsigned sameType = 0;
    for (Device* existing : devices())
        if (auto* kernel = dynamic_cast<KernelDevice*>(existing); kernel && kernel->type() == type)
            ++sameType;
    device->setInstance(sameType + 1);
    Device& added = *device;
    addedDevices_.push_back(std::move(device));
    Q_EMIT devicesChanged();
    return added;
}

QString MachineSession::name() const {
    return QString::fromStdString(config_.name);
}

QString MachineSession::imagePath() const {
    return QString::fromStdString(config_.boot.imagePath);
}

const MachineConfig& MachineSession::config() const {
    return config_;
}

size_t MachineSession::vcpuCount() const {
    return machine_->vcpuCount();
}

std::optional<MachineStop> MachineSession::stopReason() const {
    return machine_->stopState();
}

bool MachineSession::vcpuParked(size_t vcpu) const {
    if (vcpu >= machine_->vcpuCount())
        return false;
    return machine_->vcpu(vcpu).state() == cpu::RunState::Paused;
}

void MachineSession::run() {
    if (!canRun())
        return;
    // From a pause the debugger continues (docs/debugger.md): a vcpu sitting on an execution
    // breakpoint steps off it first, which a plain resume would re-hit at once.
    const bool fromPause = state_ == State::Paused;
    everRun_ = true;
    if (fromPause) {
        try {
            machine_->debugger().continueAll();
        } catch (const std::exception& error) {
            log::get("ui")->warn("continue: {}", error.what());
            machine_->run();
        }
    } else {
        machine_->run();
    }
    updateState();
}

void MachineSession::pause() {
    if (!canPause())
        return;
    machine_->pause(); // the runners' queued stateChanged(Paused) completes the transition
}

void MachineSession::step(size_t vcpu) {
    if (!canStep() || vcpu >= machine_->vcpuCount())
        return;
    everRun_ = true;
    machine_->vcpu(vcpu).step();
    updateState();
}

void MachineSession::stop() {
    if (!canStop())
        return;
    rebootCancelled_ = true; // a guest reset waiting to boot again stays off
    machine_->requestStop({StopKind::UserStop, 0, 0, "powered off from the window"});
}

qint64 MachineSession::uptimeMs() const {
    return uptimeBeforeMs_ + (runningClock_.isValid() ? runningClock_.elapsed() : 0);
}

quint64 MachineSession::totalExits() const {
    quint64 total = 0;
    for (size_t index = 0; index < machine_->vcpuCount(); ++index)
        total += machine_->vcpu(index).trace().totalExits();
    return total;
}

void MachineSession::sendSerialInput(const QByteArray& bytes) {
    if (bytes.isEmpty() || state_ == State::Stopped)
        return;
    machine_->serial().receive(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(bytes.constData()), static_cast<size_t>(bytes.size())));
}

QString MachineSession::stateText(State state) {
    switch (state) {
    case State::Created:
        return tr("Created");
    case State::Running:
        return tr("Running");
    case State::Paused:
        return tr("Paused");
    case State::Stopped:
        return tr("Stopped");
    }
    return {};
}

QString MachineSession::statusText() const {
    if (state_ != State::Stopped)
        return stateText(state_);
    const auto stop = machine_->stopState();
    return stop ? tr("Stopped: %1").arg(QString::fromStdString(stop->reason)) : tr("Stopped");
}

void MachineSession::onRunnerParked(uint32_t vcpu) {
    Q_EMIT vcpuParkedChanged(vcpu);
}

void MachineSession::onMachineStopped(const MachineStop& stop) {
    if (stop.kind == StopKind::Reset && rebootOnGuestReset_) {
        // The guest reset itself: boot it again, as a PC does (the headless runner does the
        // same). Deferred, so the old machine is not destroyed from inside its own signal; until
        // then the session stays Running rather than flickering through Stopped.
        QMetaObject::invokeMethod(
            this,
            [this] {
                if (rebootCancelled_) { // powered off from the window meanwhile
                    updateState();
                    return;
                }
                try {
                    reset(true);
                } catch (const std::exception& error) {
                    rebootFailed_ = true;
                    // The old machine stays, Stopped with the guest's reset as its reason.
                    Q_EMIT rebootFailed(QString::fromUtf8(error.what()));
                    updateState();
                }
            },
            Qt::QueuedConnection);
        return;
    }
    updateState();
    // The runners park after the stop; their own queued stateChanged signals announce it.
}

void MachineSession::onSerialOutput(const QByteArray& bytes) {
    transcript_.append(bytes);
    if (transcript_.size() > kTranscriptCapacity)
        transcript_.remove(0, transcript_.size() - kTranscriptCapacity);
    Q_EMIT serialOutput(bytes);
}

void MachineSession::updateState() {
    // A guest reset is not a stop the user sees: onMachineStopped() boots the machine again
    // (the vcpus' queued signals may arrive before the machine's own).
    if (const auto stop = machine_->stopState(); stop && stop->kind == StopKind::Reset &&
                                                 rebootOnGuestReset_ && !rebootFailed_ &&
                                                 !rebootCancelled_)
        return;
    State next = State::Paused;
    if (machine_->stopState()) {
        next = State::Stopped;
    } else {
        bool anyRunning = false;
        for (size_t index = 0; index < machine_->vcpuCount(); ++index)
            anyRunning |= machine_->vcpu(index).state() == cpu::RunState::Running;
        if (anyRunning)
            next = State::Running;
        else if (!everRun_)
            next = State::Created;
    }
    if (next == state_)
        return;
    if (next == State::Running && !runningClock_.isValid()) {
        runningClock_.start();
    } else if (next != State::Running && runningClock_.isValid()) {
        uptimeBeforeMs_ += runningClock_.elapsed();
        runningClock_.invalidate();
    }
    state_ = next;
    Q_EMIT stateChanged(state_);
}

void MachineSession::sampleStatistics() {
    const double seconds = static_cast<double>(sampleClock_.restart()) / 1000.0;
    std::array<uint64_t, trace::ExitTrace::kReasonCount> counts{};
    for (size_t index = 0; index < machine_->vcpuCount(); ++index) {
        const auto vcpuCounts = machine_->vcpu(index).trace().counts();
        for (size_t reason = 0; reason < counts.size(); ++reason)
            counts[reason] += vcpuCounts[reason];
    }
    quint64 total = 0;
    for (size_t reason = 0; reason < counts.size(); ++reason) {
        total += counts[reason];
        rates_[reason] =
            seconds > 0 ? static_cast<double>(counts[reason] - counts_[reason]) / seconds : 0.0;
    }
    exitsPerSecond_ = seconds > 0 ? static_cast<double>(total - lastTotalExits_) / seconds : 0.0;
    lastTotalExits_ = total;
    counts_ = counts;
    Q_EMIT statisticsUpdated();
}

} // namespace kvmscope::ui
