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

void DebugExitPort::describeState(StateVisitor& state) {
    state.group(kRegistersGroup, "registers");
    state.field("last value", lastValue_, AttrAccess::Read,
                "the value V the guest wrote last (exit status (V << 1) | 1)");
    state.group(kStatisticsGroup, "statistics");
    state.statistic("writes", writes_, "writes to the port");
}

} // namespace kvmscope
