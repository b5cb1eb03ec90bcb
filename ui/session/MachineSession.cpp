#include "session/MachineSession.h"

#include "common/Error.h"
#include "devices/Uart16550.h"
#include "log/Log.h"
#include "machine/Machine.h"
#include "machine/MachineHost.h"
#include "session/SessionSerialSink.h"

#include <span>

namespace kvmscope::ui {

MachineSession::MachineSession(const MachineConfig& config, kvm::System& system, QObject* parent,
                               std::shared_ptr<const snapshot::MachineImage> restore)
    : QObject(parent), sink_(std::make_unique<SessionSerialSink>()) {
    connect(sink_.get(), &SessionSerialSink::output, this, &MachineSession::onSerialOutput);

    MachineHost::Options options;
    options.restore = std::move(restore);
    host_ = std::make_unique<MachineHost>(config, system, *sink_, options);
    // The host replaces the machine on this thread, inside reset(): the views hear of it at once.
    hostConnections_.push_back(host_->machineAboutToBeReplaced.connect([this] {
        Q_EMIT machineAboutToBeReplaced();
        machineConnections_.clear();
    }));
    attach();

    statisticsTimer_.setInterval(kStatisticsIntervalMs);
    connect(&statisticsTimer_, &QTimer::timeout, this, &MachineSession::sampleStatistics);
    statisticsTimer_.start();
    sampleClock_.start();
}

namespace {

// A crashed vcpu parks at once; its report may take two calls.
constexpr int kCrashReadTimeoutMs = 2000;

// The addresses a snapshot translates besides RIP: the page-walk pane's, once it has one.
std::span<const uint64_t> addressesOf(const std::optional<uint64_t>& watched) {
    return watched ? std::span<const uint64_t>(&*watched, 1) : std::span<const uint64_t>();
}

} // namespace

void MachineSession::attach() {
    machineConnections_.clear();
    Machine& machine = host_->machine();
    const unsigned boot = host_->boots();

    // The notifications come from vcpu threads (or from this thread for a GUI stop): they are
    // always queued to this object's thread, so the session's state only changes on the GUI
    // thread. One of a machine that a reset has since replaced is stale and dropped.
    machineConnections_.push_back(machine.stopped.connect([this, boot](const MachineStop& stop) {
        QMetaObject::invokeMethod(
            this,
            [this, boot, stop] {
                if (boot == host_->boots())
                    onMachineStopped(stop);
            },
            Qt::QueuedConnection);
    }));
    machineConnections_.push_back(
        machine.debugger().stopped.connect([this, boot](const debug::DebugStop& stop) {
            QMetaObject::invokeMethod(
                this,
                [this, boot, stop] {
                    if (boot == host_->boots())
                        Q_EMIT debugStopped(stop);
                },
                Qt::QueuedConnection);
        }));
    for (size_t index = 0; index < machine.vcpuCount(); ++index) {
        machineConnections_.push_back(machine.vcpu(index).stateChanged.connect(
            [this, boot](uint32_t vcpu, cpu::RunState state) {
                QMetaObject::invokeMethod(
                    this,
                    [this, boot, vcpu, state] {
                        if (boot != host_->boots())
                            return;
                        // A vcpu that ran (a step from the debugger or gdb counts) makes the
                        // machine one that has run: never "Created" again.
                        if (state == cpu::RunState::Running)
                            everRun_ = true;
                        if (state == cpu::RunState::Paused)
                            onRunnerParked(vcpu);
                        else
                            updateState();
                    },
                    Qt::QueuedConnection);
            }));
    }
    // The boot state is the first stop of every vcpu. The vcpus park as soon as their threads
    // start, nearly always before the connections above are made, so that their parks are never
    // heard: the snapshots are taken here (one heard all the same takes it once more).
    vcpuStops_.assign(machine.vcpuCount(), {});
    for (uint32_t vcpu = 0; vcpu < machine.vcpuCount(); ++vcpu)
        takeSnapshot(vcpu);
}

void MachineSession::reset(bool runAfter) {
    // The new machine first (inside reboot): if the image cannot be loaded any more, the old one
    // stays as it was and the caller reports the error.
    host_->reboot();
    // The console keeps the old boot's output; a line in it says where the new boot begins.
    onSerialOutput(QStringLiteral("\r\n-- kvmscope: boot %1 --\r\n").arg(host_->boots()).toUtf8());
    rebootFailed_ = false;
    rebootCancelled_ = false;
    everRun_ = false; // the new machine's boot state, which attach() takes, has not run
    attach();
    uptimeBeforeMs_ = 0;
    runningClock_.invalidate();
    // The new machine's exit counters start at zero (the host keeps the earlier boots'); the
    // rates go on over all boots, so a guest that resets often still shows its exits.
    counts_ = {};
    // Running at once when asked (a guest's own reset): the state goes from Running to Running,
    // never through "Created", which would say the guest had not run.
    everRun_ = runAfter;
    if (runAfter)
        host_->machine().run();
    updateState();
    Q_EMIT machineReplaced();
    Q_EMIT devicesChanged();
}

MachineSession::~MachineSession() {
    // No slot may run into a half-destroyed session; the host then stops the gdb server, closes
    // the added devices' fds and joins the vcpu threads before the sink they write to goes.
    machineConnections_.clear();
    hostConnections_.clear();
    host_.reset();
}

Machine& MachineSession::machine() {
    return host_->machine();
}

unsigned MachineSession::resetCount() const {
    return host_->boots() - 1;
}

void MachineSession::setRebootOnGuestReset(bool reboot) {
    host_->setRebootOnGuestReset(reboot);
}

std::vector<Device*> MachineSession::devices() const {
    return host_->devices();
}

std::vector<MachineHost::KernelDeviceOffer> MachineSession::kernelDeviceOffers() const {
    return host_->kernelDeviceOffers();
}

Device& MachineSession::addKernelDevice(uint32_t type) {
    Device& added = host_->addKernelDevice(type);
    Q_EMIT devicesChanged();
    return added;
}

bool MachineSession::serveGdb(const debug::gdb::GdbEndpoint& endpoint, uint16_t ports,
                              QString* error) {
    if (host_->gdbServing())
        return true;
    try {
        host_->serveGdb(endpoint, ports);
        return true;
    } catch (const Error& failure) {
        if (error)
            *error = QString::fromUtf8(failure.what());
        return false;
    }
}

void MachineSession::stopGdb() {
    host_->stopGdb();
}

bool MachineSession::gdbServing() const {
    return host_->gdbServing();
}

QString MachineSession::gdbAddress() const {
    return QString::fromStdString(host_->gdbAddress());
}

uint16_t MachineSession::gdbPort() const {
    return host_->gdbPort();
}

QString MachineSession::name() const {
    return QString::fromStdString(host_->config().name);
}

QString MachineSession::imagePath() const {
    return QString::fromStdString(host_->config().boot.imagePath);
}

const MachineConfig& MachineSession::config() const {
    return host_->config();
}

size_t MachineSession::vcpuCount() const {
    return host_->machine().vcpuCount();
}

std::optional<MachineStop> MachineSession::stopReason() const {
    return host_->machine().stopState();
}

bool MachineSession::vcpuParked(size_t vcpu) const {
    if (vcpu >= host_->machine().vcpuCount())
        return false;
    return host_->machine().vcpu(vcpu).state() == cpu::RunState::Paused;
}

bool MachineSession::vcpuInspectable(size_t vcpu) const {
    return state_ != State::Running && vcpuParked(vcpu);
}

std::optional<inspect::VcpuSnapshot> MachineSession::snapshot(size_t vcpu) const {
    if (vcpu >= vcpuStops_.size())
        return std::nullopt;
    return vcpuStops_[vcpu].snapshot;
}

inspect::GuestView MachineSession::guestView() {
    return inspect::guestViewOf(host_->machine());
}

inspect::ParkedState MachineSession::parkedState() const {
    if (host_->machine().stopState())
        return inspect::ParkedState::Stopped;
    return everRun_ ? inspect::ParkedState::Paused : inspect::ParkedState::Created;
}

bool MachineSession::takeSnapshot(uint32_t vcpu) {
    VcpuStops& stops = vcpuStops_.at(vcpu);
    try {
        inspect::VcpuSnapshot taken = inspect::captureVcpuSnapshot(
            host_->machine().vcpu(vcpu), addressesOf(watchedAddress_), kCallTimeoutMs);
        taken.stop = ++stops.stops;
        taken.runState = parkedState();
        stops.snapshot = std::move(taken);
        return true;
    } catch (const std::exception& error) {
        // It was resumed meanwhile (the gdb stub may run it): its next park takes one.
        log::get("ui")->debug("vcpu {}: no snapshot: {}", vcpu, error.what());
        return false;
    }
}

bool MachineSession::writeRegister(size_t vcpu, const inspect::RegisterWrite& write,
                                   QString* error) {
    auto fail = [error](const QString& reason) {
        if (error)
            *error = reason;
        return false;
    };
    if (vcpu >= vcpuStops_.size())
        return fail(tr("there is no vcpu %1").arg(vcpu));
    if (!vcpuParked(vcpu))
        return fail(tr("vcpu %1 is running").arg(vcpu));
    VcpuStops& stops = vcpuStops_[vcpu];
    try {
        inspect::VcpuSnapshot taken = inspect::writeAndCapture(
            host_->machine().vcpu(vcpu), write, addressesOf(watchedAddress_), kCallTimeoutMs);
        // An edit is no new stop: the views keep comparing with the state before the stop.
        taken.stop = stops.stops;
        taken.runState = parkedState();
        stops.snapshot = std::move(taken);
    } catch (const std::exception& failure) {
        return fail(QString::fromUtf8(failure.what()));
    }
    Q_EMIT snapshotTaken(*stops.snapshot);
    return true;
}

std::optional<inspect::KvmTranslation> MachineSession::kvmTranslation(size_t vcpu,
                                                                      uint64_t linear) {
    watchedAddress_ = linear;
    if (vcpu >= vcpuStops_.size() || !vcpuStops_[vcpu].snapshot)
        return std::nullopt;
    VcpuStops& stops = vcpuStops_[vcpu];
    if (const inspect::KvmTranslation* known = stops.snapshot->translation(linear))
        return *known;
    if (!vcpuParked(vcpu))
        return std::nullopt; // what KVM says of a running vcpu's address is already stale
    try {
        const inspect::KvmTranslation answer =
            inspect::translateOnVcpu(host_->machine().vcpu(vcpu), linear, kCallTimeoutMs);
        stops.snapshot->translations.push_back(answer);
        return answer;
    } catch (const std::exception& error) {
        log::get("ui")->debug("vcpu {}: KVM_TRANSLATE of {:#x}: {}", vcpu, linear, error.what());
        return std::nullopt;
    }
}

std::optional<inspect::CrashReport> MachineSession::crashReport() {
    const std::optional<MachineStop> stop = host_->machine().stopState();
    if (!stop || stop->kind != StopKind::Crash || stop->vcpu >= host_->machine().vcpuCount())
        return std::nullopt;
    return inspect::readCrashReport(host_->machine(), stop->vcpu, kCrashReadTimeoutMs);
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
            host_->machine().debugger().continueAll();
        } catch (const std::exception& error) {
            log::get("ui")->warn("continue: {}", error.what());
            host_->machine().run();
        }
    } else {
        host_->machine().run();
    }
    updateState();
}

void MachineSession::pause() {
    if (!canPause())
        return;
    host_->machine().pause(); // the runners' queued stateChanged(Paused) completes the transition
}

void MachineSession::step(size_t vcpu) {
    if (!canStep() || vcpu >= host_->machine().vcpuCount())
        return;
    everRun_ = true;
    host_->machine().vcpu(vcpu).step();
    updateState();
}

void MachineSession::stop() {
    if (!canStop())
        return;
    rebootCancelled_ = true; // a guest reset waiting to boot again stays off
    host_->machine().requestStop({StopKind::UserStop, 0, 0, "powered off from the window"});
}

qint64 MachineSession::uptimeMs() const {
    return uptimeBeforeMs_ + (runningClock_.isValid() ? runningClock_.elapsed() : 0);
}

quint64 MachineSession::totalExits() const {
    quint64 total = 0;
    for (size_t index = 0; index < host_->machine().vcpuCount(); ++index)
        total += host_->machine().vcpu(index).trace().totalExits();
    return total;
}

quint64 MachineSession::totalExitsOfAllBoots() const {
    quint64 total = totalExits();
    for (const uint64_t count : host_->exitCountsOfEarlierBoots())
        total += count;
    return total;
}

void MachineSession::sendSerialInput(const QByteArray& bytes) {
    if (bytes.isEmpty() || state_ == State::Stopped)
        return;
    host_->machine().serial().receive(std::span<const uint8_t>(
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
    const auto stop = host_->machine().stopState();
    return stop ? tr("Stopped: %1").arg(QString::fromStdString(stop->reason)) : tr("Stopped");
}

void MachineSession::onRunnerParked(uint32_t vcpu) {
    // The snapshot first, so that the views the state change wakes find it; only when the vcpu
    // is still parked (a resume may have come since the park was announced). Every announced
    // park takes one: the announcements of a quick step's run and park come from two threads
    // and may be heard in either order, so a park cannot be told from the one before it by the
    // runs heard in between.
    const bool take =
        vcpu < vcpuStops_.size() && host_->machine().vcpu(vcpu).state() == cpu::RunState::Paused;
    const bool taken = take && takeSnapshot(vcpu);
    updateState();
    if (taken)
        Q_EMIT snapshotTaken(*vcpuStops_[vcpu].snapshot);
    Q_EMIT vcpuParkedChanged(vcpu);
}

void MachineSession::onMachineStopped(const MachineStop& stop) {
    if (host_->rebootsAfter(stop)) {
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
    // (the vcpus' queued signals may arrive before the machine's own), and until then the
    // guest counts as running, as a PC during its reset. A guest that resets at once may have
    // done so before the first look at its state: it is Running then, never left "Created".
    State next = State::Paused;
    if (const auto stop = host_->machine().stopState();
        stop && host_->rebootsAfter(*stop) && !rebootFailed_ && !rebootCancelled_) {
        next = State::Running;
    } else if (stop) {
        next = State::Stopped;
    } else {
        bool anyRunning = false;
        for (size_t index = 0; index < host_->machine().vcpuCount(); ++index)
            anyRunning |= host_->machine().vcpu(index).state() == cpu::RunState::Running;
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
    // A machine that stops while its vcpus are parked (powered off while paused) changes no
    // register: their snapshots now say Stopped, without a call, and are announced again. A vcpu
    // whose park has not been heard yet takes a new one then.
    std::vector<uint32_t> restated;
    if (state_ == State::Stopped)
        for (uint32_t vcpu = 0; vcpu < vcpuStops_.size(); ++vcpu)
            if (auto& snapshot = vcpuStops_[vcpu].snapshot;
                snapshot && snapshot->runState != inspect::ParkedState::Stopped &&
                vcpuParked(vcpu)) {
                snapshot->runState = inspect::ParkedState::Stopped;
                restated.push_back(vcpu);
            }
    Q_EMIT stateChanged(state_);
    for (const uint32_t vcpu : restated)
        Q_EMIT snapshotTaken(*vcpuStops_[vcpu].snapshot);
}

void MachineSession::sampleStatistics() {
    const double seconds = static_cast<double>(sampleClock_.restart()) / 1000.0;
    counts_ = host_->exitCountsOfThisBoot();
    // Rates from the totals of all boots: they only grow, also across a reboot in between.
    auto all = host_->exitCountsOfEarlierBoots();
    for (size_t reason = 0; reason < all.size(); ++reason)
        all[reason] += counts_[reason];
    quint64 total = 0;
    for (size_t reason = 0; reason < all.size(); ++reason) {
        total += all[reason];
        rates_[reason] =
            seconds > 0 ? static_cast<double>(all[reason] - allCounts_[reason]) / seconds : 0.0;
    }
    exitsPerSecond_ = seconds > 0 ? static_cast<double>(total - lastTotalExits_) / seconds : 0.0;
    lastTotalExits_ = total;
    allCounts_ = all;
    Q_EMIT statisticsUpdated();
}

} // namespace kvmscope::ui
