// DebuggerView: its actions (Continue, steps, Run to cursor, breakpoints) and the keys for them.
#include "debugger/AddBreakpointDialog.h"
#include "debugger/BreakpointsModel.h"
#include "debugger/DebugTarget.h"
#include "debugger/DebuggerView.h"
#include "debugger/DisassemblyModel.h"
#include "session/MachineSession.h"

#include <QAction>
#include <QInputDialog>
#include <QKeyEvent>
#include <QLineEdit>
#include <QStyle>
#include <QTableView>
#include <limits>

namespace kvmscope::ui {

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
