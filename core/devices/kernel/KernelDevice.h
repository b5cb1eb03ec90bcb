#pragma once
// A device created with KVM_CREATE_DEVICE (api.rst 4.79; Documentation/virt/kvm/devices/).
// Its attributes are found with KVM_HAS_DEVICE_ATTR: the groups and attributes the device
// documentation defines for known types, a probe of small (group, attr) numbers for the others.
#include "devices/Device.h"
#include "kvm/DeviceFd.h"

namespace kvmscope {

class KernelDevice : public Device {
public:
    explicit KernelDevice(kvm::DeviceFd fd);

    std::string name() const override;
    DeviceKind kind() const override { return DeviceKind::KernelDevice; }
    std::vector<AttributeInfo> attributes() const override { return attributes_; }
    bool hasAttr(uint32_t group, uint64_t attr) const override;
    AttrValue getAttr(uint32_t group, uint64_t attr) const override;
    void setAttr(uint32_t group, uint64_t attr, const AttrValue& value) override;

    uint32_t type() const { return fd_.type(); }
    // The n-th device of its type on the VM (1 = the first): from the second on, the name says
    // which, so that two devices of one type can be told apart ("VFIO device #2").
    void setInstance(unsigned instance) { instance_ = instance; }

private:
    kvm::DeviceFd fd_;
    unsigned instance_ = 1;
    std::vector<AttributeInfo> attributes_;
};

} // namespace kvmscope
