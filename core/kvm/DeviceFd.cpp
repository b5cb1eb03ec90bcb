#include "kvm/DeviceFd.h"

#include "kvm/Ioctl.h"
#include "kvm/compat.h"

namespace kvmscope::kvm {

bool DeviceFd::hasAttr(uint32_t group, uint64_t attr) const {
    return hasDeviceAttr(fd_.get(), group, attr);
}

void DeviceFd::getAttr(uint32_t group, uint64_t attr, void* value) const {
    getDeviceAttr(fd_.get(), group, attr, value, "reading a device attribute");
}

void DeviceFd::setAttr(uint32_t group, uint64_t attr, const void* value) {
    setDeviceAttr(fd_.get(), group, attr, value, "writing a device attribute");
}

std::string DeviceFd::typeName(uint32_t type) {
    switch (type) {
    case KVM_DEV_TYPE_FSL_MPIC_20:
        return "KVM_DEV_TYPE_FSL_MPIC_20";
    case KVM_DEV_TYPE_FSL_MPIC_42:
        return "KVM_DEV_TYPE_FSL_MPIC_42";
    case KVM_DEV_TYPE_XICS:
        return "KVM_DEV_TYPE_XICS";
    case KVM_DEV_TYPE_VFIO:
        return "KVM_DEV_TYPE_VFIO";
    case KVM_DEV_TYPE_ARM_VGIC_V2:
        return "KVM_DEV_TYPE_ARM_VGIC_V2";
    case KVM_DEV_TYPE_FLIC:
        return "KVM_DEV_TYPE_FLIC";
    case KVM_DEV_TYPE_ARM_VGIC_V3:
        return "KVM_DEV_TYPE_ARM_VGIC_V3";
    case KVM_DEV_TYPE_ARM_VGIC_ITS:
        return "KVM_DEV_TYPE_ARM_VGIC_ITS";
    case KVM_DEV_TYPE_XIVE:
        return "KVM_DEV_TYPE_XIVE";
    case KVM_DEV_TYPE_ARM_PV_TIME:
        return "KVM_DEV_TYPE_ARM_PV_TIME";
    default:
        return "type " + std::to_string(type);
    }
}

} // namespace kvmscope::kvm
