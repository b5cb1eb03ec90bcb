#include "display/TextScreenRenderer.h"

#include <QFontMetrics>
#include <QPainter>

namespace kvmscope::ui {
namespace {

// Code page 437 (IBM PC), 0x00-0x1F and 0x7F-0xFF; 0x20-0x7E are ASCII. The graphic forms of
// the control codes are what the VGA's character generator shows for them.
constexpr char16_t kLowGlyphs[32] = {
    u' ',      u'\u263A', u'\u263B', u'\u2665', u'\u2666', u'\u2663', u'\u2660', u'\u2022',
    u'\u25D8', u'\u25CB', u'\u25D9', u'\u2642', u'\u2640', u'\u266A', u'\u266B', u'\u263C',
    u'\u25BA', u'\u25C4', u'\u2195', u'\u203C', u'\u00B6', u'\u00A7', u'\u25AC', u'\u21A8',
    u'\u2191', u'\u2193', u'\u2192', u'\u2190', u'\u221F', u'\u2194', u'\u25B2', u'\u25BC',
};
constexpr char16_t kHighGlyphs[129] = {
    u'\u2302', // 0x7F
    u'\u00C7', u'\u00FC', u'\u00E9', u'\u00E2', u'\u00E4', u'\u00E0', u'\u00E5', u'\u00E7',
    u'\u00EA', u'\u00EB', u'\u00E8', u'\u00EF', u'\u00EE', u'\u00EC', u'\u00C4', u'\u00C5',
    u'\u00C9', u'\u00E6', u'\u00C6', u'\u00F4', u'\u00F6', u'\u00F2', u'\u00FB', u'\u00F9',
    u'\u00FF', u'\u00D6', u'\u00DC', u'\u00A2', u'\u00A3', u'\u00A5', u'\u20A7', u'\u0192',
    u'\u00E1', u'\u00ED', u'\u00F3', u'\u00FA', u'\u00F1', u'\u00D1', u'\u00AA', u'\u00BA',
    u'\u00BF', u'\u2310', u'\u00AC', u'\u00BD', u'\u00BC', u'\u00A1', u'\u00AB', u'\u00BB',
    u'\u2591', u'\u2592', u'\u2593', u'\u2502', u'\u2524', u'\u2561', u'\u2562', u'\u2556',
    u'\u2555', u'\u2563', u'\u2551', u'\u2557', u'\u255D', u'\u255C', u'\u255B', u'\u2510',
    u'\u2514', u'\u2534', u'\u252C', u'\u251C', u'\u2500', u'\u253C', u'\u255E', u'\u255F',
    u'\u255A', u'\u2554', u'\u2569', u'\u2566', u'\u2560', u'\u2550', u'\u256C', u'\u2567',
    u'\u2568', u'\u2564', u'\u2565', u'\u2559', u'\u2558', u'\u2552', u'\u2553', u'\u256B',
    u'\u256A', u'\u2518', u'\u250C', u'\u2588', u'\u2584', u'\u258C', u'\u2590', u'\u2580',
    u'\u03B1', u'\u00DF', u'\u0393', u'\u03C0', u'\u03A3', u'\u03C3', u'\u00B5', u'\u03C4',
    u'\u03A6', u'\u0398', u'\u03A9', u'\u03B4', u'\u221E', u'\u03C6', u'\u03B5', u'\u2229',
    u'\u2261', u'\u00B1', u'\u2265', u'\u2264', u'\u2320', u'\u2321', u'\u00F7', u'\u2248',
    u'\u00B0', u'\u2219', u'\u00B7', u'\u221A', u'\u207F', u'\u00B2', u'\u25A0', u' ',
};

// The block elements, drawn as rectangles of the cell: full, lower half, left half, right half,
// upper half.
constexpr uint8_t kFullBlock = 0xDB;
constexpr uint8_t kUpperHalfBlock = 0xDF;

QColor colour(unsigned index) {
    return QColor::fromRgb(display::textColour(index));
}

} // namespace

TextScreenRenderer::TextScreenRenderer() : font_(QStringLiteral("DejaVu Sans Mono")) {
    font_.setStyleHint(QFont::Monospace);
    font_.setHintingPreference(QFont::PreferFullHinting);
    // As large as fits: the widest glyph no wider than a cell, ascent and descent in its height.
    for (int pixels = kCellHeight; pixels > 6; --pixels) {
        font_.setPixelSize(pixels);
        const QFontMetrics metrics(font_);
        if (metrics.horizontalAdvance(QLatin1Char('M')) <= kCellWidth &&
            metrics.height() <= kCellHeight + 1)
            break;
    }
    const QFontMetrics metrics(font_);
    baseline_ = std::min(kCellHeight - metrics.descent(), (kCellHeight + metrics.ascent()) / 2);
}

char16_t TextScreenRenderer::unicodeFor(uint8_t code) {
    if (code < 0x20)
        return kLowGlyphs[code];
    if (code < 0x7F)
        return char16_t(code);
    return kHighGlyphs[code - 0x7F];
}

QImage TextScreenRenderer::render(const display::TextScreen& screen) const {
    QImage image(kWidth, kHeight, QImage::Format_RGB32);
    QPainter painter(&image);
    painter.setFont(font_);
    for (unsigned row = 0; row < display::TextScreen::kRows; ++row) {
        for (unsigned column = 0; column < display::TextScreen::kColumns; ++column) {
            const display::TextCell& cell = screen.at(row, column);
            const QRect box(int(column) * kCellWidth, int(row) * kCellHeight, kCellWidth,
                            kCellHeight);
            painter.fillRect(box, colour(cell.background()));
            const QColor foreground = colour(cell.foreground());
            if (cell.character >= kFullBlock && cell.character <= kUpperHalfBlock) {
                const int halfWidth = kCellWidth / 2 + 1, halfHeight = kCellHeight / 2;
                QRect block = box;
                switch (cell.character) {
                case kFullBlock + 1: // lower half
                    block.setTop(box.top() + halfHeight);
                    break;
                case kFullBlock + 2: // left half
                    block.setWidth(halfWidth);
                    break;
                case kFullBlock + 3: // right half
                    block.setLeft(box.left() + halfWidth);
                    break;
                case kUpperHalfBlock:
                    block.setHeight(halfHeight);
                    break;
                default:
                    break;
                }
                painter.fillRect(block, foreground);
                continue;
            }
            const char16_t glyph = unicodeFor(cell.character);
            if (glyph == u' ')
                continue;
            painter.setPen(foreground);
            painter.drawText(QPoint(box.left(), box.top() + baseline_), QString(QChar(glyph)));
        }
    }
    if (screen.cursorVisible && screen.cursorStart <= screen.cursorEnd) {
        // The CRTC counts scan lines of its own character height; scale them to the cell.
        const int height = std::max<int>(1, screen.characterHeight);
        const int top = screen.cursorStart * kCellHeight / height;
        const int bottom =
            std::min<int>((screen.cursorEnd + 1) * kCellHeight / height, kCellHeight);
        const display::TextCell& cell = screen.at(screen.cursorRow, screen.cursorColumn);
        painter.fillRect(int(screen.cursorColumn) * kCellWidth,
                         int(screen.cursorRow) * kCellHeight + top, kCellWidth,
                         std::max(1, bottom - top), colour(cell.foreground()));
    }
    return image;
}

} // namespace kvmscope::ui
