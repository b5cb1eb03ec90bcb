#include "ConsolePalette.h"

#include <array>

namespace kvmscope::ui {

QRgb ConsolePalette::ansi(int index) {
    // Black, red, green, brown, blue, magenta, cyan, grey, then their bright variants.
    static constexpr std::array<QRgb, kAnsiColours> kColours = {
        0xff000000, 0xffaa0000, 0xff00aa00, 0xffaa5500, 0xff0000aa, 0xffaa00aa,
        0xff00aaaa, 0xffaaaaaa, 0xff555555, 0xffff5555, 0xff55ff55, 0xffffff55,
        0xff5555ff, 0xffff55ff, 0xff55ffff, 0xffffffff,
    };
    if (index < 0 || index >= kAnsiColours) {
        return kColours[7];
    }
    return kColours[static_cast<size_t>(index)];
}

} // namespace kvmscope::ui
