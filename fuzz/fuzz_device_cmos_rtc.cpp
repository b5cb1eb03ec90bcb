// The MC146818A RTC and CMOS RAM (devices/CmosRtc.h) behind ports 0x70-0x71. The clock is a
// fuzz-controlled time, so that BCD/12-hour conversions, SET, the time offset, the periodic ticks
// and the alarm meet every date, including ones before 1970 and far after 2100; host input
// advances it, and fires the device's timer (a fake: the fuzzer decides when it expires), with
// IRQ 8 on a line that checks the device only reports level changes.
#include "DeviceFuzzing.h"
#include "devices/CmosRtc.h"

#include <algorithm>
#include <chrono>

namespace {

// Remembers the handler and what the device armed; fired from the input.
class FuzzTimer : public kvmscope::DeviceTimer {
public:
    explicit FuzzTimer(std::function<void()> onExpiry, std::function<void()>*& slot)
        : onExpiry_(std::move(onExpiry)), slot_(slot) {
        slot_ = &onExpiry_;
    }
    ~FuzzTimer() override { slot_ = nullptr; }
    void arm(std::chrono::nanoseconds, std::chrono::nanoseconds period) override {
        kvmscope::fuzz::check(period.count() >= 0, "a timer armed with a negative period");
    }
    void disarm() override {}

private:
    std::function<void()> onExpiry_;
    std::function<void()>*& slot_;
};

// Host times stay within about 73 years of the epoch either way (2^61 ns), so nanosecond
// arithmetic cannot overflow; the guest's offset may still take the date anywhere.
constexpr int64_t kClockLimit = int64_t{1} << 61;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kvmscope;
    if (size < 9)
        return 0;
    fuzz::InputReader header(data, size);
    // RAM size in MiB (the CMOS memory-size bytes saturate), then the start time.
    const uint64_t ramSize = (uint64_t{header.read<uint8_t>()} + 1) << 24;
    int64_t now = header.read<int64_t>() % kClockLimit;
    fuzz::FuzzIrqLine irq;
    std::function<void()>* fire = nullptr;
    CmosRtc rtc(
        ramSize, [&now] { return std::chrono::nanoseconds(now); }, &irq,
        [&fire](std::function<void()> onExpiry) -> std::unique_ptr<DeviceTimer> {
            return std::make_unique<FuzzTimer>(std::move(onExpiry), fire);
        });
    fuzz::DeviceDriver driver(
        {rtc, rtc, CmosRtc::kPortCount, [&](uint8_t selector, uint32_t value) {
             // Time passes: by up to about 4.3 s in ns (periodic ticks), or up to about 49 days
             // in ms, or backwards when the host clock is set back; then the timer may fire.
             const int64_t step = (selector & 0x40) ? int64_t{value} : int64_t{value} * 1'000'000;
             now = (selector & 0x80) ? now - step : now + step;
             now = std::clamp(now, -kClockLimit, kClockLimit);
             if ((selector & 0x20) && fire)
                 (*fire)();
         }});
    driver.run(data + 9, size - 9);
    return 0;
}
