#pragma once
// An IrqLine wired to an input of the in-kernel irqchip with KVM_IRQ_LINE (api.rst 4.25): on
// x86 the GSI reaches both the PIC (IRQ < 16) and the IOAPIC pin of the same number.
#include "devices/IrqLine.h"
#include "kvm/Vm.h"

#include <atomic>

namespace kvmscope {

class KvmIrqLine : public IrqLine {
public:
    KvmIrqLine(kvm::Vm& vm, uint32_t gsi) : vm_(vm), gsi_(gsi) {}
    void setLevel(bool high) override {
        // Only tell the kernel about changes: one ioctl fewer on most UART accesses.
        if (level_.exchange(high) != high)
            vm_.setIrqLine(gsi_, high);
    }

private:
    kvm::Vm& vm_;
    uint32_t gsi_;
    std::atomic<bool> level_{false};
};

} // namespace kvmscope
