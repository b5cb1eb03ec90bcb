#pragma once

#include "TerminalCell.h"

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace kvmscope::ui {

using TerminalLine = std::vector<TerminalCell>;

// Lines that scrolled off the top of the terminal, oldest first, bounded to a line count so a
// guest that prints forever cannot exhaust host memory. When full, the oldest line is dropped.
class Scrollback {
public:
    static constexpr int kDefaultCapacity = 10000;

    explicit Scrollback(int capacity = kDefaultCapacity);

    int capacity() const { return capacity_; }
    // Shrinking drops the oldest lines beyond the new capacity. Negative counts as 0.
    void setCapacity(int lines);

    // Trailing blank cells are trimmed before storing; readers pad with blanks.
    void push(TerminalLine line);
    // Takes the newest line back (libvterm's sb_popline when the terminal grows taller).
    std::optional<TerminalLine> popNewest();

    int size() const { return static_cast<int>(lines_.size()); }
    bool isEmpty() const { return lines_.empty(); }
    // index 0 is the oldest line; the caller keeps index inside [0, size()).
    const TerminalLine& line(int index) const { return lines_[static_cast<size_t>(index)]; }
    void clear();

    // Lines ever discarded from the front (capacity or clear()). Added to an index it gives a
    // line number that stays put while the buffer rotates, which keeps a selection anchored.
    uint64_t droppedLines() const { return dropped_; }

private:
    void dropBeyondCapacity();

    std::deque<TerminalLine> lines_;
    int capacity_;
    uint64_t dropped_ = 0;
};

} // namespace kvmscope::ui
