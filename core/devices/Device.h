#pragma once
// The one attribute model for every device (design: "Devices and attributes"). It has exactly
// the shape of the KVM device-control API (Documentation/virt/kvm/devices/, KVM_HAS_DEVICE_ATTR,
// KVM_GET_DEVICE_ATTR, KVM_SET_DEVICE_ATTR): an attribute is addressed by (group, attr).
// User-space devices answer from their own registers; kernel devices forward to the ioctls.
#include "common/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kvmscope {

enum class DeviceKind {
    UserSpace,    // emulated by kvmscope (UART, RTC, debug-exit)
    InKernelChip, // irqchip and PIT created with KVM_CREATE_IRQCHIP / KVM_CREATE_PIT2
    KernelDevice, // created with KVM_CREATE_DEVICE
    Vcpu,         // a vcpu's own attributes (KVM_VCPU_TSC_CTRL)
    System,       // /dev/kvm's attributes (KVM_X86_XCOMP_GUEST_SUPP)
};

const char* toString(DeviceKind kind);

enum class AttrType { Bool, U8, U16, U32, U64, Bytes };

// Bit mask: an attribute may exist without being readable or writable (VFIO's group commands
// are write-only and take a file descriptor, so kvmscope only reports their presence).
enum class AttrAccess : unsigned { None = 0, Read = 1, Write = 2, ReadWrite = 3 };

inline bool canRead(AttrAccess access) {
    return (static_cast<unsigned>(access) & 1u) != 0;
}
inline bool canWrite(AttrAccess access) {
    return (static_cast<unsigned>(access) & 2u) != 0;
}
const char* toString(AttrType type);
// The largest scalar an attribute of `type` holds (Bytes: no limit on the scalar).
uint64_t maxScalarOf(AttrType type);
const char* toString(AttrAccess access);

struct AttributeInfo {
    uint32_t group = 0;
    uint64_t attr = 0;
    std::string groupName; // e.g. "registers", "KVM_DEV_VFIO_GROUP"
    std::string name;      // e.g. "LCR", "KVM_DEV_VFIO_GROUP_ADD"
    AttrType type = AttrType::U64;
    AttrAccess access = AttrAccess::Read;
    std::string description;
};

// An attribute value; scalars live in `scalar`, AttrType::Bytes in `bytes`.
struct AttrValue {
    uint64_t scalar = 0;
    std::vector<uint8_t> bytes;

    static AttrValue of(uint64_t v) { return AttrValue{v, {}}; }
};

// Thrown by getAttr/setAttr: unknown attribute, wrong access, value out of range, or the
// kernel's refusal (the message then names the ioctl and errno).
class AttributeError : public Error {
public:
    using Error::Error;
};

class Device {
public:
    virtual ~Device() = default;

    virtual std::string name() const = 0;
    virtual DeviceKind kind() const = 0;
    // Whether its attributes are read on a vcpu's own thread (VcpuRunner::call), which waits
    // for a running vcpu to leave KVM_RUN: a front end asks only while the vcpus are parked.
    virtual bool readsOnVcpuThread() const { return kind() == DeviceKind::Vcpu; }

    // Every attribute this device has, in display order.
    virtual std::vector<AttributeInfo> attributes() const = 0;
    virtual bool hasAttr(uint32_t group, uint64_t attr) const;
    virtual AttrValue getAttr(uint32_t group, uint64_t attr) const = 0;
    virtual void setAttr(uint32_t group, uint64_t attr, const AttrValue& value) = 0;

protected:
    // The AttributeInfo for (group, attr), or throws AttributeError naming the device.
    AttributeInfo requireAttr(uint32_t group, uint64_t attr) const;
    // Throws AttributeError unless `value` fits `info.type` (and is writable).
    void requireWritable(const AttributeInfo& info, const AttrValue& value) const;
};

} // namespace kvmscope
