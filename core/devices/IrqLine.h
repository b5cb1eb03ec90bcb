#pragma once
// How a device raises an interrupt without knowing KVM: the machine hands it a line wired to an
// irqchip input (KVM_IRQ_LINE on the in-kernel PIC/IOAPIC); tests hand it a recorder.
namespace kvmscope {

class IrqLine {
public:
    virtual ~IrqLine() = default;
    virtual void setLevel(bool high) = 0;
};

} // namespace kvmscope
