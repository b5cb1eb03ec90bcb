#pragma once
// A device fd from KVM_CREATE_DEVICE: its attributes through KVM_HAS/GET/SET_DEVICE_ATTR.
#include "kvm/FileDescriptor.h"

#include <cstdint>
#include <string>

namespace kvmscope::kvm {

class DeviceFd {
public:
    DeviceFd(FileDescriptor fd, uint32_t type) : fd_(std::move(fd)), type_(type) {}

    int fd() const { return fd_.get(); }
    uint32_t type() const { return type_; }

    bool hasAttr(uint32_t group, uint64_t attr) const;
    // The attribute's size depends on the device; callers pass a buffer of the right size.
    void getAttr(uint32_t group, uint64_t attr, void* value) const;
    void setAttr(uint32_t group, uint64_t attr, const void* value);

    // "KVM_DEV_TYPE_VFIO" and friends, or "type N" for types newer than the headers.
    static std::string typeName(uint32_t type);

private:
    FileDescriptor fd_;
    uint32_t type_;
};

} // namespace kvmscope::kvm
