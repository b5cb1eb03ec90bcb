// The debug-exit port (devices/DebugExitPort.h), port 0xf4. Every write must reach onExit, and
// the value it got must be the one the device shows as its last value.
#include "DeviceFuzzing.h"
#include "devices/DebugExitPort.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kvmscope;
    uint64_t exits = 0;
    uint32_t lastExit = 0;
    DebugExitPort port([&](uint32_t value) {
        ++exits;
        lastExit = value;
    });
    fuzz::DeviceDriver driver({port, port, 1, {}});
    driver.run(data, size);
    // The attributes (read-only) and the callbacks must agree.
    const uint64_t counted = port.getAttr(DebugExitPort::kStatisticsGroup, attrId("writes")).scalar;
    fuzz::check(counted == exits, "the debug-exit write counter differs from the onExit calls");
    const uint64_t shown =
        port.getAttr(DebugExitPort::kRegistersGroup, attrId("last value")).scalar;
    fuzz::check(shown == lastExit, "the debug-exit last value differs from the last onExit value");
    return 0;
}
