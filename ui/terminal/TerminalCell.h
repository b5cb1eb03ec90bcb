#pragma once

#include <QRgb>
#include <cstdint>

namespace kvmscope::ui {

// One character cell with its colours already resolved to RGB. The widget renders screen cells
// (read from libvterm) and scrollback cells (kept by us) through this one type, so the painter
// and the text extraction do not care where a line lives.
struct TerminalCell {
    // Marks the right half of a double-width character: nothing is drawn there.
    static constexpr char32_t kWideContinuation = 0xFFFFFFFF;

    char32_t codepoint = 0; // 0 = never written (renders as a space)
    uint8_t width = 1;      // 1 or 2 columns
    bool bold = false;
    bool italic = false;
    bool underline = false;
    bool reverse = false;
    bool strike = false;
    // The guest did not choose a colour: remembered so a scrolled-back line can be handed back
    // to libvterm (sb_popline) as "default" instead of a fixed RGB value.
    bool defaultForeground = true;
    bool defaultBackground = true;
    QRgb foreground = 0;
    QRgb background = 0;

    bool isWideContinuation() const { return codepoint == kWideContinuation; }

    // A blank cell that differs in nothing visible from an unwritten one (trimmed from
    // scrollback lines to save memory).
    bool isBlank() const {
        return (codepoint == 0 || codepoint == U' ') && defaultBackground && !reverse &&
               !underline && !strike;
    }

    // Colours as drawn: reverse video swaps them.
    QRgb drawnForeground() const { return reverse ? background : foreground; }
    QRgb drawnBackground() const { return reverse ? foreground : background; }

    // Same pen (everything but the character): consecutive cells with the same pen are drawn
    // as one run.
    bool samePen(const TerminalCell& other) const {
        return bold == other.bold && italic == other.italic && underline == other.underline &&
               reverse == other.reverse && strike == other.strike &&
               foreground == other.foreground && background == other.background;
    }
};

} // namespace kvmscope::ui
