#include "devices/ResetControlPort.h"

#include <algorithm>
#include <fmt/format.h>

namespace kvmscope {

ResetControlPort::ResetControlPort(std::function<void()> onReset) : onReset_(std::move(onReset)) {}

void ResetControlPort::read(uint64_t, std::span<uint8_t> data) {
    std::fill(data.begin(), data.end(), uint8_t(0));
    if (data.empty())
        return;
    std::lock_guard lock(mutex_);
    data[0] = control_;
}

void ResetControlPort::write(uint64_t, std::span<const uint8_t> data) {
    if (data.empty())
        return;
    const uint8_t value = data[0];
    const bool reset = (value & kResetCpu) != 0;
    {
        std::lock_guard lock(mutex_);
        control_ = value & kStoredBits;
        if (reset)
            ++resetRequests_;
    }
    if (reset && onReset_)
        onReset_();
}

std::vector<AttributeInfo> ResetControlPort::attributes() const {
    return {
        {kRegistersGroup, kAttrResetControl, "registers", "RST_CNT", AttrType::U8,
         AttrAccess::ReadWrite,
         "reset control: 1 SYS_RST (hard reset), 3 FULL_RST (power cycle); only these bits "
         "can be set here, RST_CPU (bit 2) is the guest's to write"},
        {kStatisticsGroup, kAttrResetRequests, "statistics", "reset requests", AttrType::U64,
         AttrAccess::Read, "writes with RST_CPU set"},
    };
}

AttrValue ResetControlPort::getAttr(uint32_t group, uint64_t attr) const {
    requireAttr(group, attr);
    std::lock_guard lock(mutex_);
    return AttrValue::of(group == kRegistersGroup ? control_ : resetRequests_);
}

void ResetControlPort::setAttr(uint32_t group, uint64_t attr, const AttrValue& value) {
    requireWritable(requireAttr(group, attr), value);
    if (value.scalar & ~uint64_t(kStoredBits))
        throw AttributeError(fmt::format("{}: RST_CNT {:#x} has bits other than SYS_RST and "
                                         "FULL_RST (mask {:#x})",
                                         name(), value.scalar, kStoredBits));
    std::lock_guard lock(mutex_);
    control_ = static_cast<uint8_t>(value.scalar);
}

} // namespace kvmscope
