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

void PostCodePort::describeState(StateVisitor& state) {
    state.group(kRegistersGroup, "registers");
    state.field("last code", lastCode_, AttrAccess::Read, "the POST code the guest wrote last");
    state.group(kStatisticsGroup, "statistics");
    state.statistic("writes", writes_, "POST codes written");
}

} // namespace kvmscope
