#pragma once
// VGA text as pixels: the 80 x 25 cells of a display::TextScreen drawn the way a VGA in mode 3
// shows them, 9 x 16 pixels a cell (720 x 400), each character of code page 437 in its
// attribute's foreground colour on its background colour, and the cursor as the CRTC's scan
// lines in the foreground colour. The core carries no font (core/display/DisplaySource.h): the
// glyphs come from the system's monospace font through the Unicode character for each code page
// 437 code; the block elements 0xDB-0xDF are filled rectangles, so that they tile as on a VGA.
#include "display/DisplaySource.h"

#include <QFont>
#include <QImage>

namespace kvmscope::ui {

class TextScreenRenderer {
public:
    static constexpr int kCellWidth = 9;
    static constexpr int kCellHeight = 16;
    static constexpr int kWidth = kCellWidth * int(display::TextScreen::kColumns);
    static constexpr int kHeight = kCellHeight * int(display::TextScreen::kRows);

    TextScreenRenderer();

    // The screen as a kWidth x kHeight RGB32 image.
    QImage render(const display::TextScreen& screen) const;

    // The Unicode character code page 437 shows for `code` (IBM PC character set; 0 and 0xFF
    // are blanks).
    static char16_t unicodeFor(uint8_t code);

private:
    QFont font_;
    int baseline_ = 12; // pixels from a cell's top to the font's baseline
};

} // namespace kvmscope::ui
