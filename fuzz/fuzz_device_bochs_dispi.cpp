// The Bochs VBE dispi (devices/BochsDispi.h), ports 0x1CE-0x1CF, over a 4 MiB linear framebuffer
// (devices/Framebuffer.h) — small enough that modes which do not fit come up often. Host input
// sets a mode as firmware does (setMode) or writes the framebuffer's own attributes. Whatever the
// sequence, the scanout the display would draw must fit the video memory.
#include "DeviceFuzzing.h"
#include "devices/BochsDispi.h"
#include "devices/Framebuffer.h"

namespace {

using namespace kvmscope;

void checkScanout(const Framebuffer& framebuffer) {
    const ScanoutMode mode = framebuffer.scanout();
    fuzz::check(!mode.enabled || framebuffer.fits(mode),
                "the framebuffer scans out a mode that does not fit its video memory");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Framebuffer framebuffer(4ull << 20);
    BochsDispi dispi(framebuffer, 640, 480, 32);
    fuzz::DeviceDriver driver(
        {dispi, dispi, BochsDispi::kPortCount, [&](uint8_t selector, uint32_t value) {
             try {
                 if (selector & 0x80) {
                     static constexpr uint16_t kDepths[8] = {8, 15, 16, 24, 32, 4, 0, 33};
                     dispi.setMode(static_cast<uint16_t>(value & 0xfff),
                                   static_cast<uint16_t>((value >> 12) & 0xfff),
                                   kDepths[selector & 7]);
                 } else {
                     framebuffer.setAttr(selector % 3, (selector >> 2) & 7, AttrValue::of(value));
                 }
             } catch (const InputError&) {
                 // setMode refuses a mode that does not fit, as documented.
             } catch (const AttributeError&) {
             } catch (const std::exception& error) {
                 fuzz::failOnException("setMode or a framebuffer attribute", error);
             }
             checkScanout(framebuffer);
         }});
    driver.run(data, size);
    checkScanout(framebuffer);
    return 0;
}
