#include "devices/PostCodePort.h"

#include "log/Log.h"

#include <algorithm>

namespace kvmscope {

void PostCodePort::read(uint64_t, std::span<uint8_t> data) {
    std::fill(data.begin(), data.end(), uint8_t(0));
    if (data.empty())
        return;
    std::lock_guard lock(mutex_);
    data[0] = lastCode_;
}

void PostCodePort::write(uint64_t, std::span<const uint8_t> data) {
    if (data.empty())
        return;
    const uint8_t code = data[0];
    uint64_t count = 0;
    {
        std::lock_guard lock(mutex_);
        lastCode_ = code;
        count = ++writes_;
    }
    log::get("devices")->debug("POST code {:#04x} (write {})", code, count);
}

std::vector<AttributeInfo> PostCodePort::attributes() const {
    return {
        {kRegistersGroup, kAttrLastCode, "registers", "last code", AttrType::U8, AttrAccess::Read,
         "the POST code the guest wrote last"},
        {kStatisticsGroup, kAttrWrites, "statistics", "writes", AttrType::U64, AttrAccess::Read,
         "POST codes written"},
    };
}

AttrValue PostCodePort::getAttr(uint32_t group, uint64_t attr) const {
    requireAttr(group, attr);
    std::lock_guard lock(mutex_);
    return AttrValue::of(group == kRegistersGroup ? lastCode_ : writes_);
}

void PostCodePort::setAttr(uint32_t group, uint64_t attr, const AttrValue& value) {
    requireWritable(requireAttr(group, attr), value); // every attribute is read-only: throws
}

} // namespace kvmscope
