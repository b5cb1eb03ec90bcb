#include "debugger/DebuggerView.h"

#include "common/Error.h"
#include "debugger/AddBreakpointDialog.h"
#include "debugger/BreakpointsModel.h"
#include "debugger/CallStackModel.h"
#include "debugger/DebugTarget.h"
#include "debugger/DisassemblyModel.h"
#include "debugger/MemoryModel.h"
#include "debugger/PageWalkModel.h"
#include "session/MachineSession.h"

#include <QAction>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QSplitter>
#include <QStyle>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>
#include <limits>

namespace kvmscope::ui {
namespace {

QTableView* makeTable(QAbstractItemModel* model, QWidget* parent, const QString& name) {
    auto* view = new QTableView(parent);
    view->setObjectName(name);
    view->setModel(model);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::SingleSelection);
    view->verticalHeader()->hide();
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 4);
    view->setShowGrid(false);
    view->setWordWrap(false);
    view->horizontalHeader()->setStretchLastSection(true);
    view->horizontalHeader()->setHighlightSections(false);
    // As small as its header and one row: on a small screen the memory and page-walk panes
    // shrink before the code does (a table's own minimum is about four rows).
    view->setMinimumHeight(view->horizontalHeader()->sizeHint().height() +
                           view->verticalHeader()->defaultSectionSize() + 2 * view->frameWidth());
    return view;
}

QLabel* makeLabel(QWidget* parent) {
    auto* label = new QLabel(parent);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setWordWrap(true);
    return label;
}

} // namespace

DebuggerView::DebuggerView(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("debuggerView"));
    breakpoints_ = new BreakpointsModel(this);
    disassembly_ = new DisassemblyModel(breakpoints_, this);
    memory_ = new MemoryModel(this);
    pageWalk_ = new PageWalkModel(this);
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

    // Code: a go-to field over the listing.
    codeGoTo_ = new QLineEdit(this);
    codeGoTo_->setObjectName(QStringLiteral("codeGoTo"));
    codeGoTo_->setPlaceholderText(tr("Go to code: address, register or symbol (add_step+4, rip)"));
    codeGoTo_->setClearButtonEnabled(true);
    connect(codeGoTo_, &QLineEdit::returnPressed, this, [this] { goToCode(codeGoTo_->text()); });
    disassemblyView_ = makeTable(disassembly_, this, QStringLiteral("disassemblyView"));
    disassemblyView_->horizontalHeader()->setSectionResizeMode(DisassemblyModel::GutterColumn,
                                                               QHeaderView::Fixed);
    disassemblyView_->setColumnWidth(
        DisassemblyModel::GutterColumn,
        disassemblyView_->fontMetrics().horizontalAdvance(QStringLiteral("●▶")) + 12);
    disassemblyView_->setColumnWidth(
        DisassemblyModel::AddressColumn,
        disassemblyView_->fontMetrics().horizontalAdvance(QStringLiteral("0000000000000000")) + 16);
    disassemblyView_->setColumnWidth(DisassemblyModel::SymbolColumn, 140);
    disassemblyView_->setColumnWidth(DisassemblyModel::BytesColumn,
                                     disassemblyView_->fontMetrics().horizontalAdvance(
                                         QStringLiteral("00 00 00 00 00 00 00 …")) +
                                         16);
    connect(disassemblyView_, &QTableView::clicked, this, [this](const QModelIndex& index) {
        if (index.column() == DisassemblyModel::GutterColumn)
            toggleBreakpointAtRow(index.row());
    });
    connect(disassemblyView_, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        if (index.column() != DisassemblyModel::GutterColumn)
            disassembly_->follow(index.row());
    });
    connect(disassembly_, &DisassemblyModel::modelReset, this, [this] {
        if (codeTarget_) { // Go to code: its row selected and in view
            showCodeTarget();
            return;
        }
        if (const int row = disassembly_->currentRow(); row >= 0 && disassembly_->followingPc())
            disassemblyView_->scrollTo(disassembly_->index(row, 0),
                                       QAbstractItemView::PositionAtCenter);
    });
    connect(disassembly_, &DisassemblyModel::statusChanged, this, &DebuggerView::updateStatus);
    auto* codePane = new QWidget(this);
    auto* codeLayout = new QVBoxLayout(codePane);
    codeLayout->setContentsMargins(0, 0, 0, 0);
    codeLayout->addWidget(codeGoTo_);
    codeLayout->addWidget(disassemblyView_);

    // Beside the code: breakpoints and call stack.
    breakpointsView_ = makeTable(breakpoints_, this, QStringLiteral("breakpointsView"));
    breakpointsView_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    connect(breakpointsView_, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        const auto& entry = breakpoints_->entries().at(static_cast<size_t>(index.row()));
        if (!entry.exit)
            disassembly_->goTo(entry.breakpoint.address);
    });
    callStackView_ = makeTable(callStack_, this, QStringLiteral("callStackView"));
    callStackView_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    connect(callStackView_, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        disassembly_->goTo(callStack_->frames().at(static_cast<size_t>(index.row())).pc);
    });
    callStackReason_ = makeLabel(this);
    connect(callStack_, &CallStackModel::stopReasonChanged, callStackReason_, &QLabel::setText);
    auto* stackPane = new QWidget(this);
    auto* stackLayout = new QVBoxLayout(stackPane);
    stackLayout->setContentsMargins(0, 0, 0, 0);
    stackLayout->addWidget(callStackView_);
    stackLayout->addWidget(callStackReason_);
    sideTabs_ = new QTabWidget(this);
    sideTabs_->setObjectName(QStringLiteral("debuggerSideTabs"));
    sideTabs_->addTab(breakpointsView_, tr("Breakpoints"));
    sideTabs_->addTab(stackPane, tr("Call stack"));

    // Memory: space, go-to, hex view.
    memorySpace_ = new QComboBox(this);
    memorySpace_->setObjectName(QStringLiteral("memorySpace"));
    memorySpace_->addItem(tr("Physical"));
    memorySpace_->addItem(tr("Virtual"));
    memorySpace_->setToolTip(tr("Guest-physical memory, or guest-virtual through the selected "
                                "vcpu's page tables"));
    connect(memorySpace_, &QComboBox::currentIndexChanged, this, [this](int index) {
        memory_->setSpace(index == 0 ? MemoryModel::Space::Physical : MemoryModel::Space::Virtual);
    });
    memoryGoTo_ = new QLineEdit(this);
    memoryGoTo_->setObjectName(QStringLiteral("memoryGoTo"));
    memoryGoTo_->setPlaceholderText(tr("Go to: 0x1000, rsp+0x10, watched_counter"));
    memoryGoTo_->setClearButtonEnabled(true);
    connect(memoryGoTo_, &QLineEdit::returnPressed, this,
            [this] { goToMemory(memoryGoTo_->text()); });
    memoryView_ = makeTable(memory_, this, QStringLiteral("memoryView"));
    memoryView_->setSelectionBehavior(QAbstractItemView::SelectItems);
    memoryView_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    memoryView_->setEditTriggers(QAbstractItemView::DoubleClicked |
                                 QAbstractItemView::EditKeyPressed |
                                 QAbstractItemView::AnyKeyPressed);
    memoryStatus_ = makeLabel(this);
    connect(memory_, &MemoryModel::statusChanged, memoryStatus_, &QLabel::setText);
    auto* memoryPane = new QWidget(this);
    auto* memoryLayout = new QVBoxLayout(memoryPane);
    memoryLayout->setContentsMargins(0, 0, 0, 0);
    auto* memoryBar = new QHBoxLayout;
    memoryBar->addWidget(memorySpace_);
    memoryBar->addWidget(memoryGoTo_, 1);
    memoryLayout->addLayout(memoryBar);
    memoryLayout->addWidget(memoryView_);
    memoryLayout->addWidget(memoryStatus_);

    // The page walk of one address.
    walkAddress_ = new QLineEdit(this);
    walkAddress_->setObjectName(QStringLiteral("walkAddress"));
    walkAddress_->setPlaceholderText(tr("Page walk of: rip, add_step, 0x40000000"));
    walkAddress_->setClearButtonEnabled(true);
    connect(walkAddress_, &QLineEdit::returnPressed, this, [this] {
        if (const auto address = evaluate(walkAddress_->text()))
            pageWalk_->setAddress(*address);
    });
    walkView_ = makeTable(pageWalk_, this, QStringLiteral("pageWalkView"));
    walkView_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    walkView_->horizontalHeader()->setStretchLastSection(true);
    walkSummary_ = makeLabel(this);
    walkSummary_->setObjectName(QStringLiteral("walkSummary"));
    connect(pageWalk_, &PageWalkModel::summaryChanged, walkSummary_, &QLabel::setText);
    auto* walkPane = new QWidget(this);
    auto* walkLayout = new QVBoxLayout(walkPane);
    walkLayout->setContentsMargins(0, 0, 0, 0);
    walkLayout->addWidget(walkAddress_);
    walkLayout->addWidget(walkView_);
    walkLayout->addWidget(walkSummary_);

    auto* top = new QSplitter(Qt::Horizontal, this);
    top->addWidget(codePane);
    top->addWidget(sideTabs_);
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

void DebuggerView::createActions() {
    auto make = [this](const QString& text, QStyle::StandardPixmap icon, const QKeySequence& keys,
                       const QString& what, const QString& name) {
        auto* action = new QAction(style()->standardIcon(icon), text, this);
        action->setObjectName(name);
        action->setShortcut(keys);
        // Only while the focus is in this view: elsewhere F5 and F10 stay the window's.
        action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        const QString shortcut = keys.toString(QKeySequence::NativeText);
        action->setToolTip(shortcut.isEmpty() ? what
                                              : QStringLiteral("%1 (%2)").arg(what, shortcut));
        action->setStatusTip(what);
        addAction(action);
        return action;
    };
    continueAction_ =
        make(tr("Continue"), QStyle::SP_MediaPlay, QKeySequence(Qt::Key_F5),
             tr("Continue every vcpu (off a breakpoint first)"), QStringLiteral("debugContinue"));
    stepIntoAction_ =
        make(tr("Step into"), QStyle::SP_ArrowDown, QKeySequence(Qt::Key_F11),
             tr("Execute one instruction on the selected vcpu"), QStringLiteral("debugStepInto"));
    stepOverAction_ =
        make(tr("Step over"), QStyle::SP_ArrowForward, QKeySequence(Qt::Key_F10),
             tr("Execute one instruction, or a whole call"), QStringLiteral("debugStepOver"));
    stepManyAction_ =
        make(tr("Step N…"), QStyle::SP_MediaSkipForward, QKeySequence(Qt::SHIFT | Qt::Key_F11),
             tr("Execute a chosen number of instructions on the selected vcpu (a "
                "breakpoint on the way stops them)"),
             QStringLiteral("debugStepMany"));
    runToAction_ =
        make(tr("Run to cursor"), QStyle::SP_MediaSeekForward, QKeySequence(Qt::CTRL | Qt::Key_F10),
             tr("Continue until a vcpu reaches the selected instruction"),
             QStringLiteral("debugRunToCursor"));
    addBreakpointAction_ =
        make(tr("Add breakpoint…"), QStyle::SP_DialogYesButton, QKeySequence(Qt::CTRL | Qt::Key_B),
             tr("Add a breakpoint or an exit breakpoint (port, MMIO, exit "
                "reason)"),
             QStringLiteral("debugAddBreakpoint"));
    removeBreakpointAction_ = make(tr("Remove"), QStyle::SP_DialogNoButton, QKeySequence(),
                                   tr("Remove the breakpoint selected in the list"),
                                   QStringLiteral("debugRemoveBreakpoint"));
    followAction_ = make(tr("Follow"), QStyle::SP_ArrowRight, QKeySequence(),
                         tr("Show the code at the selected jump's or call's target"),
                         QStringLiteral("debugFollow"));
    showPcAction_ = make(tr("Show RIP"), QStyle::SP_ArrowBack, QKeySequence(Qt::ALT | Qt::Key_Home),
                         tr("Back to the listing around the selected vcpu's RIP"),
                         QStringLiteral("debugShowPc"));

    connect(continueAction_, &QAction::triggered, this, [this] {
        if (session_)
            session_->run(); // from a pause: Debugger::continueAll()
        updateActions();
    });
    connect(stepIntoAction_, &QAction::triggered, this, [this] {
        runGuarded(tr("Step into"), [this] {
            debuggerOf(*session_).stepInstruction(static_cast<uint32_t>(currentVcpu()));
        });
    });
    connect(stepOverAction_, &QAction::triggered, this, [this] {
        runGuarded(tr("Step over"), [this] {
            debuggerOf(*session_).stepOver(static_cast<uint32_t>(currentVcpu()));
        });
    });
    connect(stepManyAction_, &QAction::triggered, this, [this] {
        bool ok = false;
        const int count =
            QInputDialog::getInt(this, tr("Step N instructions"),
                                 tr("Instructions to step on vcpu %1:").arg(currentVcpu()),
                                 lastStepCount_, 1, std::numeric_limits<int>::max(), 1, &ok);
        if (!ok)
            return;
        lastStepCount_ = count;
        stepMany(static_cast<uint64_t>(count));
    });
    connect(runToAction_, &QAction::triggered, this, [this] {
        const QModelIndex selected = disassemblyView_->currentIndex();
        if (!selected.isValid()) {
            Q_EMIT errorOccurred(tr("Run to cursor: select an instruction first"));
            return;
        }
        const auto address =
            disassembly_->data(selected, DisassemblyModel::AddressRole).value<quint64>();
        runGuarded(tr("Run to cursor"), [this, address] { debuggerOf(*session_).runTo(address); });
    });
    connect(addBreakpointAction_, &QAction::triggered, this, &DebuggerView::addBreakpoint);
    connect(removeBreakpointAction_, &QAction::triggered, this, [this] {
        const QModelIndex selected = breakpointsView_->currentIndex();
        if (selected.isValid())
            breakpoints_->removeEntry(selected.row());
    });
    connect(followAction_, &QAction::triggered, this, [this] {
        const QModelIndex selected = disassemblyView_->currentIndex();
        if (!selected.isValid() || !disassembly_->follow(selected.row()))
            Q_EMIT errorOccurred(tr("Follow: the selected instruction is no direct jump or call"));
    });
    connect(showPcAction_, &QAction::triggered, this, [this] { disassembly_->followPc(); });
}

QAction* DebuggerView::action(Action which) const {
    switch (which) {
    case Action::Continue:
        return continueAction_;
    case Action::StepInto:
        return stepIntoAction_;
    case Action::StepOver:
        return stepOverAction_;
    case Action::StepMany:
        return stepManyAction_;
    case Action::RunToCursor:
        return runToAction_;
    case Action::AddBreakpoint:
        return addBreakpointAction_;
    case Action::RemoveBreakpoint:
        return removeBreakpointAction_;
    case Action::Follow:
        return followAction_;
    case Action::ShowPc:
        return showPcAction_;
    }
    return nullptr;
}

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
    // Nothing of the machine being replaced stays held: its memory is about to go.
    disassembly_->clear();
    memory_->clear();
    pageWalk_->clear();
    callStack_->clear();
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
        return;
    }
    const inspect::GuestView guest = session->guestView();
    disassembly_->setSnapshot(*snapshot, guest);
    memory_->setSnapshot(*snapshot, guest);
    pageWalk_->setSnapshot(*snapshot, guest);
    callStack_->setSnapshot(*snapshot, guest);
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

void DebuggerView::updateActions() {
    const bool canControl = session_ && session_->canRun();
    continueAction_->setEnabled(canControl);
    stepIntoAction_->setEnabled(canControl);
    stepOverAction_->setEnabled(canControl);
    stepManyAction_->setEnabled(canControl);
    runToAction_->setEnabled(canControl);
    const bool alive = session_ && session_->state() != MachineSession::State::Stopped;
    addBreakpointAction_->setEnabled(alive);
    removeBreakpointAction_->setEnabled(alive);
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

void DebuggerView::stepMany(uint64_t count) {
    runGuarded(tr("Step N"), [this, count] {
        debuggerOf(*session_).startSteps(static_cast<uint32_t>(currentVcpu()), count);
    });
}

void DebuggerView::runGuarded(const QString& what, const std::function<void()>& work) {
    if (!session_ || !session_->canRun())
        return;
    try {
        work();
    } catch (const std::exception& error) {
        Q_EMIT errorOccurred(QStringLiteral("%1: %2").arg(what, QString::fromUtf8(error.what())));
    }
    updateActions();
}

std::optional<uint64_t> DebuggerView::evaluate(const QString& expression) {
    if (!session_)
        return std::nullopt;
    try {
        return evaluateGoTo(expression,
                            registerLookup(inspectableSnapshot(session_, currentVcpu())),
                            &debuggerOf(*session_).guest().symbols());
    } catch (const std::exception& error) {
        Q_EMIT errorOccurred(QString::fromUtf8(error.what()));
        return std::nullopt;
    }
}

bool DebuggerView::goToCode(const QString& expression) {
    const auto address = evaluate(expression);
    if (!address)
        return false;
    // The listing may be read again later (the vcpu thread answers): the row is selected and
    // scrolled into view once it is there.
    codeTarget_ = *address;
    disassembly_->goTo(*address);
    showCodeTarget();
    return true;
}

void DebuggerView::showCodeTarget() {
    if (!codeTarget_)
        return;
    const int row = disassembly_->rowOf(*codeTarget_);
    if (row < 0)
        return; // not listed yet: the next reset of the model shows it
    codeTarget_.reset();
    const QModelIndex index = disassembly_->index(row, DisassemblyModel::AddressColumn);
    disassemblyView_->setCurrentIndex(index);
    disassemblyView_->scrollTo(index, QAbstractItemView::PositionAtCenter);
}

bool DebuggerView::goToMemory(const QString& expression) {
    const auto address = evaluate(expression);
    if (!address)
        return false;
    memory_->goTo(*address);
    pageWalk_->setAddress(*address);
    walkAddress_->setText(expression);
    return true;
}

void DebuggerView::toggleBreakpointAtRow(int row) {
    const QModelIndex index = disassembly_->index(row, DisassemblyModel::GutterColumn);
    if (!index.isValid() || !session_)
        return;
    const auto address = disassembly_->data(index, DisassemblyModel::AddressRole).value<quint64>();
    try {
        breakpoints_->toggleAt(address);
    } catch (const std::exception& error) {
        Q_EMIT errorOccurred(QString::fromUtf8(error.what()));
    }
}

void DebuggerView::addBreakpoint() {
    if (!session_)
        return;
    AddBreakpointDialog dialog(*breakpoints_,
                               registerLookup(inspectableSnapshot(session_, currentVcpu())),
                               &debuggerOf(*session_).guest().symbols(), this);
    if (const QModelIndex selected = disassemblyView_->currentIndex(); selected.isValid())
        dialog.addressEdit()->setText(QStringLiteral("0x%1").arg(
            disassembly_->data(selected, DisassemblyModel::AddressRole).value<quint64>(), 0, 16));
    // The address is what a person types first: a symbol typed at once replaces the selected
    // row's address instead of landing in the Kind list.
    dialog.addressEdit()->setFocus();
    dialog.addressEdit()->selectAll();
    dialog.exec();
}

bool DebuggerView::event(QEvent* event) {
    // F5 and F10 are the window's Run and Step too: two shortcuts on one key would be ambiguous
    // and neither would fire. With the focus in here, the key is claimed before the shortcut map
    // looks (the override propagates from the focus widget up to this view), and keyPressEvent
    // triggers this view's action.
    if (event->type() == QEvent::ShortcutOverride) {
        auto* key = static_cast<QKeyEvent*>(event);
        const QKeySequence pressed(key->keyCombination());
        for (QAction* action : actions())
            if (action->isEnabled() && !action->shortcut().isEmpty() &&
                action->shortcut() == pressed) {
                event->accept();
                return true;
            }
    }
    return QWidget::event(event);
}

void DebuggerView::keyPressEvent(QKeyEvent* event) {
    const QKeySequence pressed(event->keyCombination());
    for (QAction* action : actions())
        if (action->isEnabled() && !action->shortcut().isEmpty() && action->shortcut() == pressed) {
            action->trigger();
            event->accept();
            return;
        }
    QWidget::keyPressEvent(event);
}

} // namespace kvmscope::ui
