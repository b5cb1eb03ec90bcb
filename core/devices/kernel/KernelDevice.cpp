#include "devices/kernel/KernelDevice.h"

#include "kvm/KvmError.h"
#include "kvm/compat.h"

#include <cstring>
#include <fmt/format.h>

namespace kvmscope {
namespace {

// Documentation/virt/kvm/devices/vfio.rst. ADD and DEL take a pointer to a VFIO file
// descriptor, so kvmscope shows them as present but neither reads nor writes them.
const AttributeInfo kVfioAttributes[] = {
    {KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD, "KVM_DEV_VFIO_FILE", "KVM_DEV_VFIO_FILE_ADD",
     AttrType::U32, AttrAccess::None,
     "add a VFIO group or device file to the VFIO-KVM device (takes a file descriptor)"},
    {KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_DEL, "KVM_DEV_VFIO_FILE", "KVM_DEV_VFIO_FILE_DEL",
     AttrType::U32, AttrAccess::None,
     "remove a VFIO file from the device (takes a file descriptor)"},
    {KVM_DEV_VFIO_FILE, 3, "KVM_DEV_VFIO_FILE", "KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE", AttrType::U64,
     AttrAccess::None, "attach a PowerPC sPAPR TCE table to a VFIO group"},
};

// Types without a table: probe this many groups and attributes per group.
constexpr uint32_t kProbeGroups = 8;
constexpr uint64_t kProbeAttrs = 64;

} // namespace

KernelDevice::KernelDevice(kvm::DeviceFd fd) : fd_(std::move(fd)) {
    if (fd_.type() == KVM_DEV_TYPE_VFIO) {
        for (const auto& info : kVfioAttributes)
            if (fd_.hasAttr(info.group, info.attr))
                attributes_.push_back(info);
        return;
    }
    for (uint32_t group = 0; group < kProbeGroups; ++group)
        for (uint64_t attr = 0; attr < kProbeAttrs; ++attr)
            if (fd_.hasAttr(group, attr))
                attributes_.push_back(
                    {group, attr, fmt::format("group {}", group), fmt::format("attr {:#x}", attr),
                     AttrType::U64, AttrAccess::ReadWrite,
                     "present (KVM_HAS_DEVICE_ATTR); meaning not known to kvmscope"});
}

std::string KernelDevice::name() const {
    const std::string type = kvm::DeviceFd::typeName(fd_.type());
    return instance_ > 1 ? fmt::format("{} #{}", type, instance_) : type;
}

bool KernelDevice::hasAttr(uint32_t group, uint64_t attr) const {
    return fd_.hasAttr(group, attr);
}

AttrValue KernelDevice::getAttr(uint32_t group, uint64_t attr) const {
    const AttributeInfo info = requireAttr(group, attr);
    if (!canRead(info.access))
        throw AttributeError(fmt::format("{}: {} cannot be read (it is a command that takes a file "
                                         "descriptor)",
                                         name(), info.name));
    // Unknown attributes: the kernel writes the attribute's own size, which kvmscope does not
    // know; a page-sized buffer holds any device attribute defined today.
    std::vector<uint8_t> buffer(4096);
    try {
        fd_.getAttr(group, attr, buffer.data());
    } catch (const kvm::KvmError& error) {
        throw AttributeError(fmt::format("{}: {}: {}", name(), info.name, error.what()));
    }
    uint64_t scalar = 0;
    std::memcpy(&scalar, buffer.data(), sizeof scalar);
    return AttrValue::of(scalar);
}

void KernelDevice::setAttr(uint32_t group, uint64_t attr, const AttrValue& value) {
    const AttributeInfo info = requireAttr(group, attr);
    requireWritable(info, value);
    try {
        fd_.setAttr(group, attr, &value.scalar);
    } catch (const kvm::KvmError& error) {
        throw AttributeError(fmt::format("{}: {}: {}", name(), info.name, error.what()));
    }
}

} // namespace kvmscope
