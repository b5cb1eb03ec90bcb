// The ACPI PM1a event and control blocks (devices/AcpiPmControl.h), ports 0x600-0x607: byte,
// word and dword accesses at every offset, write-1-to-clear status, SLP_TYP/SLP_EN.
#include "DeviceFuzzing.h"
#include "devices/AcpiPmControl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kvmscope;
    uint64_t powerOffs = 0;
    AcpiPmControl pm([&powerOffs] { ++powerOffs; });
    fuzz::DeviceDriver driver({pm, pm, AcpiPmControl::kPortCount, {}});
    driver.run(data, size);
    const uint64_t counted =
        pm.getAttr(AcpiPmControl::kStatisticsGroup, attrId("power-off requests")).scalar;
    fuzz::check(counted == powerOffs, "the power-off counter differs from the onPowerOff calls");
    return 0;
}
