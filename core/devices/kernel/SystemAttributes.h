#pragma once
// /dev/kvm's own attributes (KVM_CAP_SYS_ATTRIBUTES; api.rst 4.80 "system ioctl"), shown as a
// device like every other: on x86, (KVM_X86_GRP_SYSTEM, KVM_X86_XCOMP_GUEST_SUPP), the XSAVE
// state components a guest may be given.
#include "devices/Device.h"
#include "kvm/System.h"

namespace kvmscope {

class SystemAttributes : public Device {
public:
    explicit SystemAttributes(kvm::System& system);

    std::string name() const override { return "KVM system (/dev/kvm)"; }
    DeviceKind kind() const override { return DeviceKind::System; }
    std::vector<AttributeInfo> attributes() const override { return attributes_; }
    AttrValue getAttr(uint32_t group, uint64_t attr) const override;
    void setAttr(uint32_t group, uint64_t attr, const AttrValue& value) override;

private:
    kvm::System& system_;
    std::vector<AttributeInfo> attributes_;
};

} // namespace kvmscope
