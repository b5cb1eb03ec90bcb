#pragma once
// Debugger ▸ Add breakpoint…: an execution breakpoint (software — the engine picks int3, a debug
// register or stepping — or a hardware one) at an address expression ("add_step", "rip+5"), or
// an exit breakpoint: a port or MMIO range read/written (optionally only a given written value),
// or a KVM exit reason. A refusal (no free debug register, a bad expression) is shown in the
// dialog, which stays open.
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
    QComboBox* reasonBox() const { return reason_; }
    QString errorText() const;
    int addedId() const { return addedId_; } // the engine id of the last accepted breakpoint

    void accept() override;

private:
    void updateFields();

    BreakpointsModel& breakpoints_;
    RegisterLookup registers_;
    const debug::SymbolTable* symbols_;
    QComboBox* kind_ = nullptr;
    QLineEdit* address_ = nullptr;
    QSpinBox* length_ = nullptr;
    QLineEdit* value_ = nullptr;
    QComboBox* reason_ = nullptr;
    QLabel* error_ = nullptr;
    int addedId_ = 0;
};

} // namespace kvmscope::ui
