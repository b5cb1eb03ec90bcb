#pragma once

#include "CellGridPainter.h"
#include "Scrollback.h"
#include "TerminalCell.h"
#include "TerminalSelection.h"

#include <QAbstractScrollArea>
#include <QByteArray>
#include <QColor>
#include <QPoint>
#include <QRect>
#include <QString>
#include <cstdint>
#include <memory>
#include <span>

class QPainter;

// libvterm's handles, declared here so that users of the widget do not need <vterm.h>.
struct VTerm;
struct VTermScreen;

namespace kvmscope::ui {

// The serial console: a VT100/xterm-style terminal on libvterm's screen layer.
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
    static constexpr int kDefaultColumns = 80;
    static constexpr int kDefaultRows = 25;

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

    int scrollbackLimit() const { return scrollback_.capacity(); }
    void setScrollbackLimit(int lines);
    int scrollbackLines() const { return scrollback_.size(); }

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
    struct VTermCallbacks; // libvterm's C callbacks, defined in the .cpp
    struct VTermDeleter {
        void operator()(VTerm* vt) const;
    };

    // Lines are numbered "combined": scrollback lines 0..S-1, then screen rows S..S+rows-1.
    int combinedLineCount() const { return scrollback_.size() + rows(); }
    int topVisibleLine() const;
    TerminalCell cellAt(int combinedLine, int column) const;
    TerminalCell screenCell(int row, int column) const;
    QString lineText(int combinedLine, int fromColumn, int toColumn) const;
    QString linesText(int firstCombinedLine, int lineCount) const;
    int64_t stableLineNumber(int combinedLine) const;

    void feedRaw(const char* bytes, size_t length);
    void flushOutput();
    void resizeTerminalToViewport();
    void updateScrollBar();
    void invalidateCursor();
    CellBoundary boundaryAt(QPoint viewportPosition) const;
    void selectWordAt(QPoint viewportPosition);
    void selectionChanged();
    bool handleShortcut(QKeyEvent* event);
    void sendKey(QKeyEvent* event);

    void paintLine(QPainter& painter, int viewportRow, int combinedLine, int firstColumn,
                   int endColumn);

    std::unique_ptr<VTerm, VTermDeleter> vterm_;
    VTermScreen* screen_ = nullptr;
    Scrollback scrollback_;
    TerminalSelection selection_;

    QByteArray pendingOutput_; // what libvterm wrote during one feed/key/paste
    QRect pendingDamage_;      // screen cells (x = column, y = row) damaged during a feed
    bool scrollbackChanged_ = false;

    QPoint cursor_; // x = column, y = row
    bool cursorVisible_ = true;
    int cursorShape_ = 1; // VTERM_PROP_CURSORSHAPE_*

    CellGridPainter grid_;

    bool selecting_ = false;
    // Until the viewport has been given a size the terminal keeps its default 80x25 (a hidden
    // widget's viewport geometry is a placeholder).
    bool viewportSized_ = false;
};

} // namespace kvmscope::ui
