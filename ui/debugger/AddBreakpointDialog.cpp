#include "debugger/AddBreakpointDialog.h"

#include "common/Error.h"
#include "debug/Debugger.h" // kvm/compat.h before ExitBreakpoints.h's <linux/kvm.h>
#include "debugger/BreakpointsModel.h"
#include "trace/ExitRecord.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QVBoxLayout>

namespace kvmscope::ui {
namespace {

// The exit reasons that reach user space and so can stop the machine (api.rst 5, kvm_run).
// KVM_EXIT_HLT is listed for completeness: with the in-kernel irqchip kvmscope always creates,
// the kernel handles HLT itself (docs/debugger.md, "Exit breakpoints").
constexpr uint32_t kReasons[] = {
    KVM_EXIT_SHUTDOWN,   KVM_EXIT_IO,           KVM_EXIT_MMIO, KVM_EXIT_INTERNAL_ERROR,
    KVM_EXIT_FAIL_ENTRY, KVM_EXIT_SYSTEM_EVENT, KVM_EXIT_HLT};

bool isWatch(AddBreakpointDialog::Kind kind) {
    return kind == AddBreakpointDialog::Kind::WriteWatchpoint ||
           kind == AddBreakpointDialog::Kind::ReadWriteWatchpoint;
}

bool isExit(AddBreakpointDialog::Kind kind) {
    return kind != AddBreakpointDialog::Kind::Breakpoint &&
           kind != AddBreakpointDialog::Kind::HardwareBreakpoint && !isWatch(kind);
}

bool isWrite(AddBreakpointDialog::Kind kind) {
    return kind == AddBreakpointDialog::Kind::PortWrite ||
           kind == AddBreakpointDialog::Kind::MmioWrite;
}

} // namespace

AddBreakpointDialog::AddBreakpointDialog(BreakpointsModel& breakpoints, RegisterLookup registers,
                                         const debug::SymbolTable* symbols, QWidget* parent)
    : QDialog(parent), breakpoints_(breakpoints), registers_(std::move(registers)),
      symbols_(symbols) {
    setWindowTitle(tr("Add breakpoint"));
    setObjectName(QStringLiteral("addBreakpointDialog"));
    kind_ = new QComboBox(this);
    kind_->addItem(tr("Breakpoint (int3, debug register or stepping: the host decides)"));
    kind_->addItem(tr("Hardware breakpoint (a debug register)"));
    kind_->addItem(tr("Write watchpoint (a debug register)"));
    kind_->addItem(tr("Read/write watchpoint (a debug register)"));
    kind_->addItem(tr("Port write (OUT)"));
    kind_->addItem(tr("Port read (IN)"));
    kind_->addItem(tr("Port read or write"));
    kind_->addItem(tr("MMIO write"));
    kind_->addItem(tr("MMIO read"));
    kind_->addItem(tr("MMIO read or write"));
    kind_->addItem(tr("Exit reason"));
    address_ = new QLineEdit(this);
    address_->setObjectName(QStringLiteral("breakpointAddress"));
    length_ = new QSpinBox(this);
    length_->setRange(1, 0x10000);
    // SDM vol. 3B 18.2.4: DR7's LENn encodes 1, 2, 4 or 8 bytes, nothing else.
    watchLength_ = new QComboBox(this);
    watchLength_->setObjectName(QStringLiteral("watchLength"));
    for (const unsigned bytes : {1u, 2u, 4u, 8u})
        watchLength_->addItem(bytes == 1 ? tr("1 byte") : tr("%1 bytes").arg(bytes), bytes);
    watchLength_->setCurrentIndex(watchLength_->findData(8u));
    value_ = new QLineEdit(this);
    value_->setObjectName(QStringLiteral("breakpointValue"));
    value_->setPlaceholderText(tr("any value"));
    reason_ = new QComboBox(this);
    for (const uint32_t reason : kReasons)
        reason_->addItem(
            QStringLiteral("KVM_EXIT_%1").arg(QString::fromLatin1(trace::exitReasonName(reason))),
            reason);
    reason_->setToolTip(tr("HLT reaches kvmscope only without the in-kernel irqchip, which "
                           "kvmscope always creates"));
    mechanism_ = new QLabel(this);
    mechanism_->setObjectName(QStringLiteral("mechanism"));
    mechanism_->setWordWrap(true);
    error_ = new QLabel(this);
    error_->setObjectName(QStringLiteral("error"));
    error_->setWordWrap(true);
    error_->setStyleSheet(QStringLiteral("color: #b00020"));

    auto* form = new QFormLayout;
    form->addRow(tr("&Kind:"), kind_);
    form->addRow(tr("&Address / port:"), address_);
    form->addRow(tr("&Length (bytes / ports):"), length_);
    form->addRow(tr("&Watched bytes:"), watchLength_);
    form->addRow(tr("Written &value:"), value_);
    form->addRow(tr("Exit &reason:"), reason_);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &AddBreakpointDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(mechanism_);
    layout->addWidget(error_);
    layout->addWidget(buttons);
    connect(kind_, &QComboBox::currentIndexChanged, this, &AddBreakpointDialog::updateFields);
    updateFields();
}

void AddBreakpointDialog::setKind(Kind kind) {
    kind_->setCurrentIndex(static_cast<int>(kind));
}

AddBreakpointDialog::Kind AddBreakpointDialog::kind() const {
    return static_cast<Kind>(kind_->currentIndex());
}

QString AddBreakpointDialog::errorText() const {
    return error_->text();
}

QString AddBreakpointDialog::mechanismText() const {
    return mechanism_->text();
}

QString AddBreakpointDialog::mechanismFor(Kind kind) const {
    // The same choice the engine makes (docs/debugger.md, "Software breakpoints"), told before
    // the breakpoint exists; the list then shows the one it got.
    if (isExit(kind))
        return tr("Mechanism: kvmscope checks every exit to user space before a device sees the "
                  "access (no debug register needed).");
    const debug::HostDebugSupport* support = breakpoints_.hostSupport();
    const unsigned free = breakpoints_.freeDebugRegisters();
    if (!support)
        return tr("Mechanism: int3, else a debug register, else single-stepping.");
    const debug::BreakpointKind engineKind =
        kind == Kind::Breakpoint           ? debug::BreakpointKind::Software
        : kind == Kind::HardwareBreakpoint ? debug::BreakpointKind::Hardware
        : kind == Kind::WriteWatchpoint    ? debug::BreakpointKind::WriteWatch
                                           : debug::BreakpointKind::ReadWriteWatch;
    const debug::MechanismChoice choice = debug::chooseMechanism(engineKind, false, *support, free);
    const QString note = QString::fromStdString(choice.note);
    if (!choice.mechanism)
        return tr("Mechanism: none, it will be refused: %1.").arg(note);
    QString text;
    switch (*choice.mechanism) {
    case debug::BreakMechanism::Int3:
        text = tr("Mechanism: int3 (0xCC in guest memory; the listing shows the guest's own "
                  "byte).");
        break;
    case debug::BreakMechanism::DebugRegister:
        text = tr("Mechanism: a debug register (%1 of DR0-DR3 free).").arg(free);
        break;
    case debug::BreakMechanism::SteppingCheck:
        text = tr("Mechanism: single-stepping with an address check (slow; every vcpu runs by "
                  "single steps).");
        break;
    }
    if (choice.fallback)
        text += QLatin1Char(' ') + tr("Fallback: %1.").arg(note);
    if (isWatch(kind))
        text += QLatin1Char(' ') + tr("The address must be aligned to the length.");
    return text;
}

void AddBreakpointDialog::updateFields() {
    const Kind current = kind();
    address_->setEnabled(current != Kind::ExitReason);
    length_->setEnabled(isExit(current) && current != Kind::ExitReason);
    watchLength_->setEnabled(isWatch(current));
    value_->setEnabled(isWrite(current));
    reason_->setEnabled(current == Kind::ExitReason);
    const bool port =
        current == Kind::PortWrite || current == Kind::PortRead || current == Kind::PortAccess;
    address_->setPlaceholderText(!isExit(current) ? tr("add_step, rip+5, 0x100000")
                                 : port           ? tr("0x3f8")
                                                  : tr("guest-physical, e.g. 0xfee00000"));
    mechanism_->setText(mechanismFor(current));
}

void AddBreakpointDialog::accept() {
    error_->clear();
    try {
        const Kind current = kind();
        if (isWatch(current)) {
            // Linear, like an execution breakpoint: the engine checks length and alignment.
            const uint64_t address = evaluateGoTo(address_->text(), registers_, symbols_);
            addedId_ = breakpoints_.addWatchpoint(address, watchLength_->currentData().toUInt(),
                                                  current == Kind::ReadWriteWatchpoint);
            QDialog::accept();
            return;
        }
        if (!isExit(current)) {
            const uint64_t address = evaluateGoTo(address_->text(), registers_, symbols_);
            addedId_ = breakpoints_.addBreakpoint(address, current == Kind::HardwareBreakpoint);
            QDialog::accept();
            return;
        }
        debug::ExitBreakpoint breakpoint;
        switch (current) {
        case Kind::PortWrite:
            breakpoint.kind = debug::ExitBreakKind::PortWrite;
            break;
        case Kind::PortRead:
            breakpoint.kind = debug::ExitBreakKind::PortRead;
            break;
        case Kind::PortAccess:
            breakpoint.kind = debug::ExitBreakKind::PortAccess;
            break;
        case Kind::MmioWrite:
            breakpoint.kind = debug::ExitBreakKind::MmioWrite;
            break;
        case Kind::MmioRead:
            breakpoint.kind = debug::ExitBreakKind::MmioRead;
            break;
        case Kind::MmioAccess:
            breakpoint.kind = debug::ExitBreakKind::MmioAccess;
            break;
        default:
            breakpoint.kind = debug::ExitBreakKind::ExitReason;
            breakpoint.exitReason = reason_->currentData().toUInt();
            break;
        }
        if (breakpoint.kind != debug::ExitBreakKind::ExitReason) {
            // Ports and MMIO addresses are numbers: no registers or symbols there.
            breakpoint.address = evaluateGoTo(address_->text(), {}, nullptr);
            breakpoint.length = static_cast<uint64_t>(length_->value());
            if (breakpoint.kind == debug::ExitBreakKind::PortWrite ||
                breakpoint.kind == debug::ExitBreakKind::PortRead ||
                breakpoint.kind == debug::ExitBreakKind::PortAccess) {
                if (breakpoint.address + breakpoint.length > 0x10000)
                    throw InputError(QStringLiteral("ports end at 0xffff, not 0x%1")
                                         .arg(breakpoint.address + breakpoint.length - 1, 0, 16)
                                         .toStdString());
            }
            if (isWrite(current) && !value_->text().trimmed().isEmpty())
                breakpoint.value = evaluateGoTo(value_->text(), {}, nullptr);
        }
        addedId_ = breakpoints_.addExitBreakpoint(breakpoint);
        QDialog::accept();
    } catch (const std::exception& error) {
        error_->setText(QString::fromUtf8(error.what()));
    }
}

} // namespace kvmscope::ui
