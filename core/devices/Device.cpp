#include "devices/Device.h"

#include <fmt/format.h>

namespace kvmscope {

const char* toString(DeviceKind kind) {
    switch (kind) {
    case DeviceKind::UserSpace:
        return "user-space device";
    case DeviceKind::InKernelChip:
        return "in-kernel chip";
    case DeviceKind::KernelDevice:
        return "kernel device";
    case DeviceKind::Vcpu:
        return "vcpu";
    case DeviceKind::System:
        return "system";
    }
    return "?";
}

const char* toString(AttrType type) {
    switch (type) {
    case AttrType::Bool:
        return "bool";
    case AttrType::U8:
        return "u8";
    case AttrType::U16:
        return "u16";
    case AttrType::U32:
        return "u32";
    case AttrType::U64:
        return "u64";
    case AttrType::Bytes:
        return "bytes";
    }
    return "?";
}

const char* toString(AttrAccess access) {
    switch (access) {
    case AttrAccess::None:
        return "present";
    case AttrAccess::Read:
        return "read-only";
    case AttrAccess::Write:
        return "write-only";
    case AttrAccess::ReadWrite:
        return "read-write";
    }
    return "?";
}

uint64_t maxScalarOf(AttrType type) {
    switch (type) {
    case AttrType::Bool:
        return 1;
    case AttrType::U8:
        return 0xff;
    case AttrType::U16:
        return 0xffff;
    case AttrType::U32:
        return 0xffff'ffff;
    case AttrType::U64:
    case AttrType::Bytes:
        break;
    }
    return ~uint64_t(0);
}

bool Device::hasAttr(uint32_t group, uint64_t attr) const {
    for (const auto& info : attributes())
        if (info.group == group && info.attr == attr)
            return true;
    return false;
}

AttributeInfo Device::requireAttr(uint32_t group, uint64_t attr) const {
    for (auto& info : attributes())
        if (info.group == group && info.attr == attr)
            return info;
    throw AttributeError(fmt::format("{}: no attribute group {} attr {:#x}", name(), group, attr));
}

void Device::requireWritable(const AttributeInfo& info, const AttrValue& value) const {
    if (!canWrite(info.access))
        throw AttributeError(
            fmt::format("{}: attribute {} is {}", name(), info.name, toString(info.access)));
    if (value.scalar > maxScalarOf(info.type))
        throw AttributeError(fmt::format("{}: value {:#x} does not fit attribute {} ({})", name(),
                                         value.scalar, info.name, toString(info.type)));
}

} // namespace kvmscope
