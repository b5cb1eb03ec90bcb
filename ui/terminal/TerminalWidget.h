#pragma once

#include "CellGridPainter.h"
#include "TerminalScreen.h"
#include "TerminalSelection.h"

#include <QAbstractScrollArea>
#include <QByteArray>
#include <QColor>
#include <QPoint>
#include <QString>
#include <cstdint>
#include <span>

class QPainter;

namespace kvmscope::ui {

// The serial console: a VT100/xterm-style terminal on libvterm's screen layer.
//
// The emulation itself (screen, scrollback, cursor, key encoding) is a TerminalScreen; the
// widget draws it and turns Qt's events into its input.
//
// A QAbstractScrollArea because the scrollbar, the viewport and the wheel handling it provides
// are exactly what a terminal with scrollback needs: the scrollbar's value is the index of the
// top visible line in "scrollback lines, then screen rows" order, so its maximum (the bottom)
// is the live screen. The terminal's rows/columns follow the viewport size.
//
// Bytes from the guest's UART go in through feed(); keys, pastes and the terminal's own answers
// (cursor position reports, device attributes) come out through inputBytes().
class TerminalWidget : public QAbstractScrollArea {
    Q_OBJECT
public:
    static constexpr int kDefaultColumns = TerminalScreen::kDefaultColumns;
    static constexpr int kDefaultRows = TerminalScreen::kDefaultRows;

    explicit TerminalWidget(QWidget* parent = nullptr);
    ~TerminalWidget() override;

    TerminalWidget(const TerminalWidget&) = delete;
    TerminalWidget& operator=(const TerminalWidget&) = delete;

    // Output of the guest. Repaints are coalesced: only the damaged cells are invalidated, once
    // per call. Any new output scrolls the view back to the live screen.
    void feed(const QByteArray& bytes);
    void feed(std::span<const uint8_t> bytes);

    // Empties the screen and the scrollback and homes the cursor (terminal modes are kept).
    void clear();

    int rows() const;
    int columns() const;
    // x = column, y = row, both 0-based.
    QPoint cursorPosition() const;
    // Size of one character cell in pixels (from the font metrics).
    QSize cellSize() const { return grid_.cellSize(); }

    // Colours of a screen cell as drawn (default colours resolved, reverse video applied).
    // Invalid QColor outside the screen.
    QColor cellForeground(int row, int column) const;
    QColor cellBackground(int row, int column) const;

    // Visible screen / scrollback / both, rows joined with '\n', trailing spaces trimmed.
    QString screenText() const;
    QString scrollbackText() const;
    QString allText() const;

    int scrollbackLimit() const { return screen_.scrollbackLimit(); }
    void setScrollbackLimit(int lines);
    int scrollbackLines() const { return screen_.scrollbackLines(); }

    QString selectedText() const;
    bool hasSelection() const { return !selection_.isEmpty(); }

    QSize sizeHint() const override;

public Q_SLOTS:
    void copySelection();
    void pasteClipboard();
    // Sends text as typed input: line ends become CR as a terminal's Enter does, wrapped in
    // bracketed-paste markers when the guest asked for them.
    void pasteText(const QString& text);
    void scrollToBottom();

Q_SIGNALS:
    // Bytes for the guest (to the UART's receive side).
    void inputBytes(const QByteArray& bytes);
    // The guest set the window title (OSC 0/2).
    void titleChanged(const QString& title);

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void focusInEvent(QFocusEvent* event) override;
    void focusOutEvent(QFocusEvent* event) override;
    void changeEvent(QEvent* event) override;
    void scrollContentsBy(int dx, int dy) override;
    bool event(QEvent* event) override;
    // Tab and Backtab are terminal keys, not focus navigation.
    bool focusNextPrevChild(bool next) override;

private:
    // The combined line (TerminalScreen's numbering) at the top of the viewport.
    int topVisibleLine() const;

    void feedRaw(const char* bytes, size_t length);
    void showUpdate(const TerminalScreen::Update& update);
    void flushOutput();
    void resizeTerminalToViewport();
    void updateScrollBar();
    CellBoundary boundaryAt(QPoint viewportPosition) const;
    void selectWordAt(QPoint viewportPosition);
    void selectionChanged();
    bool handleShortcut(QKeyEvent* event);

    void paintLine(QPainter& painter, int viewportRow, int combinedLine, int firstColumn,
                   int endColumn);

    TerminalScreen screen_;
    TerminalSelection selection_;
    CellGridPainter grid_;

    bool selecting_ = false;
    // Until the viewport has been given a size the terminal keeps its default 80x25 (a hidden
    // widget's viewport geometry is a placeholder).
    bool viewportSized_ = false;
};

} // namespace kvmscope::ui
