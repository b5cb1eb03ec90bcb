#pragma once

#include "TerminalCell.h"

#include <QColor>
#include <QFont>
#include <QRect>
#include <QSize>
#include <span>

class QPainter;

namespace kvmscope::ui {

// Draws terminal cells on a fixed character grid. Owns the font variants and the cell metrics
// derived from the (monospace) font, so the widget only decides *what* goes in each cell.
class CellGridPainter {
public:
    struct PlacedCell {
        TerminalCell cell; // colours as they are to be drawn (selection/cursor already applied)
        int column;
    };

    enum class CursorOverlay { HollowBlock, Underline, Bar };

    explicit CellGridPainter(const QFont& font = QFont());

    void setFont(const QFont& font);
    int cellWidth() const { return cellWidth_; }
    int cellHeight() const { return cellHeight_; }
    QSize cellSize() const { return {cellWidth_, cellHeight_}; }
    QRect cellRect(int viewportRow, int column, int width = 1) const {
        return {column * cellWidth_, viewportRow * cellHeight_, width * cellWidth_, cellHeight_};
    }

    // One row of cells, in increasing column order, wide continuations left out. Backgrounds
    // equal to `defaultBackground` are assumed painted already.
    void paintRow(QPainter& painter, int viewportRow, std::span<const PlacedCell> cells,
                  QRgb defaultBackground) const;
    // A cursor drawn over a cell (the focused block cursor is an inverted cell instead).
    void paintCursor(QPainter& painter, QRect cell, CursorOverlay overlay, QColor colour) const;

private:
    QFont fontFor(const TerminalCell& cell) const;

    QFont regularFont_;
    QFont boldFont_;
    QFont italicFont_;
    QFont boldItalicFont_;
    int cellWidth_ = 1;
    int cellHeight_ = 1;
    int ascent_ = 0;
    bool drawRuns_ = true; // the font's advance is a whole pixel: a run of ASCII stays on grid
};

} // namespace kvmscope::ui
