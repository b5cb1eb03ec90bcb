#pragma once
// A vcpu's attributes (KVM_CAP_VCPU_ATTRIBUTES; Documentation/virt/kvm/devices/vcpu.rst), e.g.
// (KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET). Vcpu ioctls run on the vcpu's own thread, so these
// are read and written through the runner while the vcpu is paused.
#include "devices/Device.h"

namespace kvmscope {

namespace cpu {
class VcpuRunner;
}

class VcpuAttributes : public Device {
public:
    // Probes which attributes exist; the runner must be parked (it is, right after start()).
    explicit VcpuAttributes(cpu::VcpuRunner& runner);

    std::string name() const override;
    DeviceKind kind() const override { return DeviceKind::Vcpu; }
    std::vector<AttributeInfo> attributes() const override { return attributes_; }
    AttrValue getAttr(uint32_t group, uint64_t attr) const override;
    void setAttr(uint32_t group, uint64_t attr, const AttrValue& value) override;

private:
    cpu::VcpuRunner& runner_;
    std::vector<AttributeInfo> attributes_;
};

} // namespace kvmscope
