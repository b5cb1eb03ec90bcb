#pragma once

#include <QRgb>

namespace kvmscope::ui {

// Colours of the Linux VGA text console (drivers/tty/vt: default_red/grn/blu), which is what a
// guest kernel and its getty expect when they colour their output. Indices 16..255 (the xterm
// colour cube and grey ramp) and truecolour are left to libvterm.
struct ConsolePalette {
    static constexpr int kAnsiColours = 16;

    static QRgb ansi(int index); // 0..15; out-of-range indices give the default foreground
    static QRgb defaultForeground() { return ansi(7); }
    static QRgb defaultBackground() { return ansi(0); }
};

} // namespace kvmscope::ui
