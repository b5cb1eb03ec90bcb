// The POST diagnostic port (devices/PostCodePort.h), port 0x80.
#include "DeviceFuzzing.h"
#include "devices/PostCodePort.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kvmscope;
    PostCodePort port;
    fuzz::DeviceDriver driver({port, port, 1, {}});
    driver.run(data, size);
    return 0;
}
