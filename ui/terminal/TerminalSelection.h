#pragma once

#include <cstdint>

namespace kvmscope::ui {

// A boundary between cells: `line` is a stable line number (scrollback lines dropped so far +
// index in scrollback-then-screen order), `column` is the edge left of that column (0..cols).
struct CellBoundary {
    int64_t line = 0;
    int column = 0;

    friend bool operator==(const CellBoundary&, const CellBoundary&) = default;
    friend bool operator<(const CellBoundary& a, const CellBoundary& b) {
        return a.line != b.line ? a.line < b.line : a.column < b.column;
    }
};

// The mouse selection: the text between two cell boundaries in reading order, as a terminal
// selects (a stream of characters across lines, not a rectangle).
class TerminalSelection {
public:
    void begin(CellBoundary anchor);
    void extendTo(CellBoundary extent);
    void select(CellBoundary from, CellBoundary to);
    void clear();

    bool isEmpty() const { return anchor_ == extent_; }
    // Ordered ends: the selection covers the half-open range [start, end).
    CellBoundary start() const { return extent_ < anchor_ ? extent_ : anchor_; }
    CellBoundary end() const { return extent_ < anchor_ ? anchor_ : extent_; }
    bool containsCell(int64_t line, int column) const;

private:
    CellBoundary anchor_;
    CellBoundary extent_;
};

} // namespace kvmscope::ui
