#include "CellGridPainter.h"

#include <QFontMetricsF>
#include <QPainter>
#include <QString>
#include <algorithm>
#include <cmath>

namespace kvmscope::ui {

CellGridPainter::CellGridPainter(const QFont& font) {
    setFont(font);
}

void CellGridPainter::setFont(const QFont& font) {
    regularFont_ = font;
    regularFont_.setKerning(false);
    boldFont_ = regularFont_;
    boldFont_.setBold(true);
    italicFont_ = regularFont_;
    italicFont_.setItalic(true);
    boldItalicFont_ = boldFont_;
    boldItalicFont_.setItalic(true);

    const QFontMetricsF metrics(regularFont_);
    const qreal advance = metrics.horizontalAdvance(QLatin1Char('M'));
    cellWidth_ = std::max(1, static_cast<int>(std::ceil(advance)));
    cellHeight_ = std::max(1, static_cast<int>(std::ceil(metrics.height())));
    ascent_ = static_cast<int>(std::round(metrics.ascent()));
    // With a fractional advance a drawn string would drift off the grid: draw cell by cell.
    drawRuns_ = std::abs(advance - std::round(advance)) < 0.01;
}

QFont CellGridPainter::fontFor(const TerminalCell& cell) const {
    QFont result = cell.bold ? (cell.italic ? boldItalicFont_ : boldFont_)
                             : (cell.italic ? italicFont_ : regularFont_);
    if (cell.underline) {
        result.setUnderline(true);
    }
    if (cell.strike) {
        result.setStrikeOut(true);
    }
    return result;
}

void CellGridPainter::paintRow(QPainter& painter, int viewportRow,
                               std::span<const PlacedCell> cells, QRgb defaultBackground) const {
    // Backgrounds first, all of them, so a glyph overhanging its cell is not cut off by the
    // next cell's background. Adjacent cells of one colour are one rectangle.
    for (size_t i = 0; i < cells.size();) {
        const QRgb background = cells[i].cell.drawnBackground();
        int end = cells[i].column + cells[i].cell.width;
        size_t next = i + 1;
        while (next < cells.size() && cells[next].column == end &&
               cells[next].cell.drawnBackground() == background) {
            end = cells[next].column + cells[next].cell.width;
            ++next;
        }
        if (background != defaultBackground) {
            painter.fillRect(cellRect(viewportRow, cells[i].column, end - cells[i].column),
                             QColor(background));
        }
        i = next;
    }

    // Then the text: runs of same-pen ASCII cells in one drawText where the font keeps them on
    // the grid (bold and italic faces may have other advances), anything else cell by cell.
    const int baseline = viewportRow * cellHeight_ + ascent_;
    QString run;
    const TerminalCell* runPen = nullptr;
    int runColumn = 0;
    int runEnd = 0;
    const auto drawRun = [&] {
        if (run.isEmpty()) {
            return;
        }
        painter.setFont(fontFor(*runPen));
        painter.setPen(QColor(runPen->drawnForeground()));
        painter.drawText(QPoint(runColumn * cellWidth_, baseline), run);
        run.clear();
    };
    for (const PlacedCell& placed : cells) {
        const TerminalCell& cell = placed.cell;
        const char32_t codepoint = cell.codepoint == 0 ? U' ' : cell.codepoint;
        if (codepoint == U' ' && !cell.underline && !cell.strike) {
            drawRun();
            continue;
        }
        const bool batchable =
            drawRuns_ && codepoint < 0x80 && cell.width == 1 && !cell.bold && !cell.italic;
        if (!batchable || !runPen || !cell.samePen(*runPen) || placed.column != runEnd) {
            drawRun();
        }
        if (run.isEmpty()) {
            runPen = &cell;
            runColumn = placed.column;
        }
        run += QString::fromUcs4(&codepoint, 1);
        runEnd = placed.column + cell.width;
        if (!batchable) {
            drawRun();
        }
    }
    drawRun();
}

void CellGridPainter::paintCursor(QPainter& painter, QRect cell, CursorOverlay overlay,
                                  QColor colour) const {
    const int thickness = std::max(1, cellHeight_ / 8);
    switch (overlay) {
    case CursorOverlay::Underline:
        painter.fillRect(QRect(cell.left(), cell.bottom() - thickness + 1, cell.width(), thickness),
                         colour);
        break;
    case CursorOverlay::Bar:
        painter.fillRect(QRect(cell.left(), cell.top(), thickness, cell.height()), colour);
        break;
    case CursorOverlay::HollowBlock:
        painter.setPen(colour);
        painter.setBrush(Qt::NoBrush);
        painter.drawRect(cell.adjusted(0, 0, -1, -1));
        break;
    }
}

} // namespace kvmscope::ui
