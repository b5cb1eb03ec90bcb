// DebuggerView: the go-to fields, evaluated against the selected vcpu's stop.
#include "debugger/DebugTarget.h"
#include "debugger/DebuggerView.h"
#include "debugger/DisassemblyModel.h"
#include "debugger/MemoryModel.h"
#include "debugger/PageWalkModel.h"
#include "session/MachineSession.h"

#include <QLineEdit>
#include <QTableView>

namespace kvmscope::ui {

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

} // namespace kvmscope::ui
