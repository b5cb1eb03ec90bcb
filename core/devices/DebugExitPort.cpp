#include "devices/DebugExitPort.h"

#include <algorithm>

namespace kvmscope {

DebugExitPort::DebugExitPort(std::function<void(uint32_t)> onExit) : onExit_(std::move(onExit)) {}

void DebugExitPort::read(uint64_t, std::span<uint8_t> data) {
    std::fill(data.begin(), data.end(), uint8_t(0xff));
}

void DebugExitPort::write(uint64_t, std::span<const uint8_t> data) {
    if (data.empty())
        return;
    uint32_t value = 0;
    const size_t width = std::min<size_t>(data.size(), sizeof value);
    for (size_t i = 0; i < width; ++i)
        value |= static_cast<uint32_t>(data[i]) << (8 * i);
    {
        std::lock_guard lock(mutex_);
        lastValue_ = value;
        ++writes_;
    }
    if (onExit_)
        onExit_(value);
}

std::vector<AttributeInfo> DebugExitPort::attributes() const {
    return {
        {kRegistersGroup, kAttrLastValue, "registers", "last value", AttrType::U32,
         AttrAccess::Read, "the value V the guest wrote last (exit status (V << 1) | 1)"},
        {kStatisticsGroup, kAttrWrites, "statistics", "writes", AttrType::U64, AttrAccess::Read,
         "writes to the port"},
    };
}

AttrValue DebugExitPort::getAttr(uint32_t group, uint64_t attr) const {
    requireAttr(group, attr);
    std::lock_guard lock(mutex_);
    return AttrValue::of(group == kRegistersGroup ? lastValue_ : writes_);
}

void DebugExitPort::setAttr(uint32_t group, uint64_t attr, const AttrValue& value) {
    requireWritable(requireAttr(group, attr), value); // every attribute is read-only: throws
}

} // namespace kvmscope
