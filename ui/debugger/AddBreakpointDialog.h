#pragma once
// Debugger ▸ Add breakpoint…: an execution breakpoint (software — the engine picks int3, a debug
// register or stepping — or a hardware one) at an address expression ("add_step", "rip+5"), a
// write or read/write watchpoint of 1, 2, 4 or 8 bytes there, or an exit breakpoint: a port or
// MMIO range read/written (optionally only a given written value), or a KVM exit reason. A line
// says which mechanism the chosen kind gets on this host (as the breakpoint list does), and
// whether data watchpoints fire here at all. A refusal (no free debug register, a misaligned
// watchpoint, a bad expression) is shown in the dialog with the engine's message; the dialog
// stays open.
#include "debugger/GoToExpression.h"

#include <QDialog>

class QComboBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace kvmscope::debug {
class SymbolTable;
}

namespace kvmscope::ui {

class BreakpointsModel;

class AddBreakpointDialog : public QDialog {
    Q_OBJECT
public:
    enum class Kind {
        Breakpoint,
        HardwareBreakpoint,
        WriteWatchpoint,
        ReadWriteWatchpoint,
        PortWrite,
        PortRead,
        PortAccess,
        MmioWrite,
        MmioRead,
        MmioAccess,
        ExitReason,
    };

    AddBreakpointDialog(BreakpointsModel& breakpoints, RegisterLookup registers,
                        const debug::SymbolTable* symbols, QWidget* parent = nullptr);

    void setKind(Kind kind);
    Kind kind() const;
    QLineEdit* addressEdit() const { return address_; }
    QLineEdit* valueEdit() const { return value_; }
    QSpinBox* lengthBox() const { return length_; }
    QComboBox* watchLengthBox() const { return watchLength_; } // 1, 2, 4, 8 (item data)
    QComboBox* reasonBox() const { return reason_; }
    QString errorText() const;
    QString mechanismText() const;
    int addedId() const { return addedId_; } // the engine id of the last accepted breakpoint

    void accept() override;

private:
    void updateFields();
    QString mechanismFor(Kind kind) const;

    BreakpointsModel& breakpoints_;
    RegisterLookup registers_;
    const debug::SymbolTable* symbols_;
    QComboBox* kind_ = nullptr;
    QLineEdit* address_ = nullptr;
    QSpinBox* length_ = nullptr;
    QComboBox* watchLength_ = nullptr;
    QLineEdit* value_ = nullptr;
    QComboBox* reason_ = nullptr;
    QLabel* mechanism_ = nullptr;
    QLabel* error_ = nullptr;
    int addedId_ = 0;
};

} // namespace kvmscope::ui
