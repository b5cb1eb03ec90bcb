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

void ResetControlPort::describeState(StateVisitor& state) {
    state.group(kRegistersGroup, "registers");
    state.field("RST_CNT", control_, AttrAccess::ReadWrite,
                "reset control: 1 SYS_RST (hard reset), 3 FULL_RST (power cycle); only these bits "
                "can be set here, RST_CPU (bit 2) is the guest's to write",
                FieldHooks::checkedBy([](uint64_t value) {
                    if ((value & ~uint64_t(kStoredBits)) == 0)
                        return std::string();
                    return fmt::format("RST_CNT {:#x} has bits other than SYS_RST and FULL_RST "
                                       "(mask {:#x})",
                                       value, kStoredBits);
                }));
    state.group(kStatisticsGroup, "statistics");
    state.statistic("reset requests", resetRequests_, "writes with RST_CPU set");
}

} // namespace kvmscope
