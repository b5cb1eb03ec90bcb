// The reset control register (devices/ResetControlPort.h), port 0xcf9.
#include "DeviceFuzzing.h"
#include "devices/ResetControlPort.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kvmscope;
    uint64_t resets = 0;
    ResetControlPort port([&resets] { ++resets; });
    fuzz::DeviceDriver driver({port, port, 1, {}});
    driver.run(data, size);
    const uint64_t counted =
        port.getAttr(ResetControlPort::kStatisticsGroup, attrId("reset requests")).scalar;
    fuzz::check(counted == resets, "the reset counter differs from the onReset calls");
    return 0;
}
