// The VGA text-mode CRTC and CGA registers (devices/VgaText.h), ports 0x3D4-0x3DA: index/data
// pairs, protected registers, status reads. The decoded state the display draws from must stay
// within what the 5-bit scan-line fields allow (a character cell of 1-32 lines).
#include "DeviceFuzzing.h"
#include "devices/VgaText.h"

namespace {

void checkState(const kvmscope::VgaText& vga) {
    const kvmscope::VgaTextState state = vga.state();
    kvmscope::fuzz::check(state.characterHeight >= 1 && state.characterHeight <= 32 &&
                              state.cursorStart < 32 && state.cursorEnd < 32,
                          "the VGA text state has a scan line outside its 5-bit field");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kvmscope;
    VgaText vga;
    fuzz::DeviceDriver driver(
        {vga, vga, VgaText::kPortCount, [&](uint8_t, uint32_t) { checkState(vga); }});
    driver.run(data, size);
    checkState(vga);
    return 0;
}
