// DebuggerView: the dock's models, toolbar and panes put together, and the stops it follows.
#include "debugger/DebuggerView.h"

#include "debugger/BreakpointsModel.h"
#include "debugger/CallStackModel.h"
#include "debugger/CpuTablesModel.h"
#include "debugger/DisassemblyModel.h"
#include "debugger/InterruptsModel.h"
#include "debugger/MemoryModel.h"
#include "debugger/PageWalkModel.h"
#include "session/MachineSession.h"

#include <QComboBox>
#include <QLabel>
#include <QSplitter>
#include <QTabWidget>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

namespace kvmscope::ui {

DebuggerView::DebuggerView(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("debuggerView"));
    breakpoints_ = new BreakpointsModel(this);
    disassembly_ = new DisassemblyModel(breakpoints_, this);
    memory_ = new MemoryModel(this);
    pageWalk_ = new PageWalkModel(this);
    cpuTables_ = new CpuTablesModel(this);
    interrupts_ = new InterruptsModel(this);
    callStack_ = new CallStackModel(this);
    connect(breakpoints_, &BreakpointsModel::errorOccurred, this, &DebuggerView::errorOccurred);
    connect(memory_, &MemoryModel::errorOccurred, this, &DebuggerView::errorOccurred);

    createActions();

    toolbar_ = new QToolBar(this);
    toolbar_->setObjectName(QStringLiteral("debuggerToolBar"));
    toolbar_->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    toolbar_->addAction(continueAction_);
    toolbar_->addAction(stepIntoAction_);
    toolbar_->addAction(stepOverAction_);
    toolbar_->addAction(stepManyAction_);
    toolbar_->addAction(runToAction_);
    toolbar_->addSeparator();
    toolbar_->addAction(addBreakpointAction_);
    toolbar_->addAction(removeBreakpointAction_);
    toolbar_->addSeparator();
    toolbar_->addAction(followAction_);
    toolbar_->addAction(showPcAction_);
    vcpuSelector_ = new QComboBox(this);
    vcpuSelector_->setObjectName(QStringLiteral("debuggerVcpu"));
    vcpuSelector_->setToolTip(tr("The vcpu whose code, stack and virtual memory are shown"));
    toolbar_->addSeparator();
    toolbar_->addWidget(vcpuSelector_);

    status_ = makeLabel(this);
    status_->setObjectName(QStringLiteral("debuggerStatus"));

    QWidget* codePane = createCodePane();
    QWidget* sidePane = createSidePane();
    QWidget* memoryPane = createMemoryPane();
    QWidget* walkPane = createWalkPane();

    auto* top = new QSplitter(Qt::Horizontal, this);
    top->addWidget(codePane);
    top->addWidget(sidePane);
    top->setStretchFactor(0, 3);
    top->setStretchFactor(1, 2);
    auto* bottom = new QSplitter(Qt::Horizontal, this);
    bottom->addWidget(memoryPane);
    bottom->addWidget(walkPane);
    bottom->setStretchFactor(0, 3);
    bottom->setStretchFactor(1, 2);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->setObjectName(QStringLiteral("debuggerSplitter"));
    split->addWidget(top);
    split->addWidget(bottom);
    // The code gets most of the height: at the default layout on 1920x1080 a dozen rows or more.
    split->setStretchFactor(0, 7);
    split->setStretchFactor(1, 3);
    split->setSizes({7200, 2800}); // scaled to the height it gets

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addWidget(toolbar_);
    layout->addWidget(status_);
    layout->addWidget(split, 1);

    connect(vcpuSelector_, &QComboBox::currentIndexChanged, this, [this](int index) {
        if (index < 0)
            return;
        showStop(session_);
        updateStatus();
    });
    setSession(nullptr);
}

DebuggerView::~DebuggerView() = default;

void DebuggerView::setSession(MachineSession* session) {
    if (session_)
        disconnect(session_, nullptr, this, nullptr);
    session_ = session;
    lastStop_.reset();
    if (session_) {
        connect(session_, &MachineSession::debugStopped, this, &DebuggerView::onDebugStop);
        connect(session_, &MachineSession::stateChanged, this, [this] {
            updateActions();
            scheduleRefresh();
        });
        connect(session_, &MachineSession::snapshotTaken, this,
                [this](const inspect::VcpuSnapshot& snapshot) {
                    if (snapshot.vcpu == currentVcpu())
                        scheduleRefresh();
                });
        // A reset destroys the machine (and its debugger) the models point into.
        connect(session_, &MachineSession::machineAboutToBeReplaced, this,
                [this] { bindModels(nullptr); });
        connect(session_, &MachineSession::machineReplaced, this, [this] {
            lastStop_.reset();
            bindModels(session_);
        });
    }
    bindModels(session_);
    updateActions();
    updateStatus();
}

void DebuggerView::bindModels(MachineSession* session) {
    {
        const QSignalBlocker block(vcpuSelector_);
        vcpuSelector_->clear();
        if (session)
            for (size_t vcpu = 0; vcpu < session->vcpuCount(); ++vcpu)
                vcpuSelector_->addItem(tr("vcpu %1").arg(vcpu));
    }
    breakpoints_->setSession(session);
    memory_->setSession(session);
    pageWalk_->setSession(session);
    cpuTables_->setSession(session);
    interrupts_->setSession(session);
    // Nothing of the machine being replaced stays held: its memory is about to go.
    disassembly_->clear();
    memory_->clear();
    pageWalk_->clear();
    callStack_->clear();
    cpuTables_->clear();
    interrupts_->clear();
    showStop(session);
    updateActions();
    updateStatus();
}

void DebuggerView::showStop(MachineSession* session) {
    if (!session)
        return;
    const size_t vcpu = currentVcpu();
    const auto snapshot = session->vcpuInspectable(vcpu) ? session->snapshot(vcpu) : std::nullopt;
    if (!snapshot) {
        disassembly_->setStale(vcpu);
        memory_->setStale(vcpu);
        pageWalk_->setStale();
        callStack_->setStale();
        cpuTables_->setStale();
        interrupts_->setStale();
        return;
    }
    const inspect::GuestView guest = session->guestView();
    disassembly_->setSnapshot(*snapshot, guest);
    memory_->setSnapshot(*snapshot, guest);
    pageWalk_->setSnapshot(*snapshot, guest);
    callStack_->setSnapshot(*snapshot, guest);
    cpuTables_->setSnapshot(*snapshot, guest);
    interrupts_->refresh();
}

size_t DebuggerView::currentVcpu() const {
    return static_cast<size_t>(std::max(0, vcpuSelector_->currentIndex()));
}

QString DebuggerView::statusText() const {
    return status_->text();
}

void DebuggerView::scheduleRefresh() {
    // A stop arrives as several signals (the debugger's, each vcpu's snapshot, the session's
    // state): one refresh for all of them.
    if (refreshPending_)
        return;
    refreshPending_ = true;
    QTimer::singleShot(0, this, [this] {
        refreshPending_ = false;
        refreshAll();
    });
}

void DebuggerView::refreshAll() {
    breakpoints_->refresh();
    showStop(session_);
    updateActions();
    updateStatus();
}

void DebuggerView::onDebugStop(const debug::DebugStop& stop) {
    lastStop_ = stop;
    breakpoints_->noteStop(stop);
    // The stopping vcpu comes into view, and the listing goes back to its RIP.
    if (stop.vcpu < static_cast<uint32_t>(vcpuSelector_->count()) &&
        static_cast<int>(stop.vcpu) != vcpuSelector_->currentIndex())
        vcpuSelector_->setCurrentIndex(static_cast<int>(stop.vcpu));
    disassembly_->followPc();
    scheduleRefresh();
}

void DebuggerView::updateStatus() {
    if (!session_) {
        status_->setText(tr("No machine"));
        return;
    }
    // The last debug stop says where the vcpus are only while they are still paused there: once
    // the machine runs or has stopped for good, its state says more ("Stopped: the guest powered
    // off (ACPI S5)").
    QString text;
    const MachineSession::State state = session_->state();
    if (lastStop_ && state == MachineSession::State::Paused)
        text = QString::fromStdString(lastStop_->description);
    else
        text = session_->statusText();
    const QString listing = disassembly_->statusText();
    if (!listing.isEmpty())
        text += QStringLiteral(" — ") + listing;
    status_->setText(text);
}

} // namespace kvmscope::ui
