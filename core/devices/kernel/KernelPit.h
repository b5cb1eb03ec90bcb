#pragma once
// The in-kernel 8254 PIT (KVM_CREATE_PIT2) as a device: each channel's state from KVM_GET_PIT2
// (api.rst 4.59). Read-only: the guest programs the PIT through ports 0x40-0x43 itself.
#include "devices/Device.h"
#include "kvm/Vm.h"

namespace kvmscope {

class KernelPit : public Device {
public:
    static constexpr uint32_t kGlobalGroup = 3; // groups 0-2 are the channels

    explicit KernelPit(kvm::Vm& vm);

    std::string name() const override { return "PIT (in-kernel 8254)"; }
    DeviceKind kind() const override { return DeviceKind::InKernelChip; }
    std::vector<AttributeInfo> attributes() const override { return attributes_; }
    AttrValue getAttr(uint32_t group, uint64_t attr) const override;
    void setAttr(uint32_t group, uint64_t attr, const AttrValue& value) override;

private:
    kvm::Vm& vm_;
    std::vector<AttributeInfo> attributes_;
};

} // namespace kvmscope
