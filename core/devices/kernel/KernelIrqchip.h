#pragma once
// The in-kernel interrupt controllers (KVM_CREATE_IRQCHIP: two 8259 PICs and an IOAPIC) as one
// device whose attributes are their registers, read with KVM_GET_IRQCHIP (api.rst 4.27) and
// written with a read-modify-write through KVM_SET_IRQCHIP.
#include "devices/Device.h"
#include "kvm/Vm.h"

namespace kvmscope {

class KernelIrqchip : public Device {
public:
    enum Group : uint32_t { PicMaster = 0, PicSlave = 1, Ioapic = 2 };

    explicit KernelIrqchip(kvm::Vm& vm);

    std::string name() const override { return "irqchip (in-kernel PIC + IOAPIC)"; }
    DeviceKind kind() const override { return DeviceKind::InKernelChip; }
    std::vector<AttributeInfo> attributes() const override { return attributes_; }
    AttrValue getAttr(uint32_t group, uint64_t attr) const override;
    void setAttr(uint32_t group, uint64_t attr, const AttrValue& value) override;

private:
    kvm::Vm& vm_;
    std::vector<AttributeInfo> attributes_;
};

} // namespace kvmscope
