// The i8042 keyboard controller with its PS/2 keyboard and mouse (devices/I8042Controller.h,
// Ps2Keyboard.h, Ps2Mouse.h) behind ports 0x60-0x64: controller and device commands, and host
// input — set 2 scan codes and mouse movements — interleaved with them.
#include "DeviceFuzzing.h"
#include "devices/I8042Controller.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kvmscope;
    fuzz::FuzzIrqLine keyboardIrq;
    fuzz::FuzzIrqLine mouseIrq;
    uint64_t resets = 0;
    I8042Controller controller(keyboardIrq, mouseIrq, [&resets] { ++resets; });
    fuzz::DeviceDriver driver(
        {controller, controller, I8042Controller::kPortCount,
         [&](uint8_t selector, uint32_t value) {
             if (selector & 0x80) {
                 // dx and dy cover the clamped range and beyond it (-512 .. 511).
                 const int dx = static_cast<int>(value & 0x3ff) - 512;
                 const int dy = static_cast<int>((value >> 10) & 0x3ff) - 512;
                 controller.mouseInput(dx, dy, static_cast<uint8_t>(value >> 20));
                 return;
             }
             uint8_t bytes[4];
             std::memcpy(bytes, &value, sizeof bytes);
             controller.keyboardInput(std::span<const uint8_t>(bytes, 1 + selector % 4));
         }});
    driver.run(data, size);
    return 0;
}
