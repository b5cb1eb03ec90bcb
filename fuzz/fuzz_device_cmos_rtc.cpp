// The MC146818A RTC and CMOS RAM (devices/CmosRtc.h) behind ports 0x70-0x71. The clock is a
// fuzz-controlled time, so that BCD/12-hour conversions, SET and the time offset meet every date,
// including ones before 1970 and far after 2100; host input advances it.
#include "DeviceFuzzing.h"
#include "devices/CmosRtc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kvmscope;
    if (size < 9)
        return 0;
    fuzz::InputReader header(data, size);
    // RAM size in MiB (the CMOS memory-size bytes saturate), then the start time.
    const uint64_t ramSize = (uint64_t{header.read<uint8_t>()} + 1) << 24;
    std::time_t now = header.read<int64_t>() % (int64_t{1} << 40);
    CmosRtc rtc(ramSize, [&now] { return now; });
    fuzz::DeviceDriver driver(
        {rtc, rtc, CmosRtc::kPortCount, [&](uint8_t selector, uint32_t value) {
             // Time passes: up to about 49 days per step, or backwards
             // when the host clock is set back.
             if (selector & 0x80)
                 now -= value % 86400;
             else
                 now += value;
         }});
    driver.run(data + 9, size - 9);
    return 0;
}
