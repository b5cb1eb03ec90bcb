#pragma once

#include "Scrollback.h"
#include "TerminalCell.h"
#include "TerminalSelection.h"

#include <QByteArray>
#include <QObject>
#include <QPoint>
#include <QRect>
#include <QString>
#include <Qt>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

// libvterm's handles, declared here so that users of the screen do not need <vterm.h>.
struct VTerm;
struct VTermScreen;

namespace kvmscope::ui {

// The terminal without pixels: libvterm's screen layer, the scrollback it pushes lines into,
// the cursor, and the bytes the terminal sends back. TerminalWidget draws it and feeds it
// events; keeping it apart from the widget lets the emulation be tested without a display.
//
// Lines are numbered "combined": scrollback lines 0..S-1, then screen rows S..S+rows-1. A
// "stable" line number adds the scrollback lines ever dropped, so it stays put while the bounded
// scrollback rotates (what a selection is anchored to).
//
// Keyboard input is encoded here too, not in the widget: the bytes for a key or a paste depend
// on modes the guest set inside libvterm (application cursor keys, bracketed paste).
class TerminalScreen : public QObject {
    Q_OBJECT
public:
    static constexpr int kDefaultColumns = 80;
    static constexpr int kDefaultRows = 25;

    enum class CursorShape { Block, Underline, Bar };

    // What one feed() or clear() changed, for the view to repaint.
    struct Update {
        QRect damage; // screen cells, x = column, y = row; includes the cursor's old and new cell
        bool scrollbackChanged = false; // lines moved to or from the scrollback: all rows moved
    };

    explicit TerminalScreen(QObject* parent = nullptr);
    ~TerminalScreen() override;

    TerminalScreen(const TerminalScreen&) = delete;
    TerminalScreen& operator=(const TerminalScreen&) = delete;

    // Output of the guest. Damage is merged over the whole call (one repaint per chunk, not per
    // byte) and handed back with what accumulated since the previous Update.
    Update feed(const char* bytes, size_t length);
    // Empties the screen and the scrollback and homes the cursor (terminal modes are kept).
    Update clear();
    // libvterm moves lines between the screen and the scrollback to keep the cursor's line
    // visible. The view repaints everything afterwards, so the damage is dropped.
    void resize(int rows, int columns);

    int rows() const;
    int columns() const;
    QPoint cursorPosition() const { return cursor_; } // x = column, y = row, both 0-based
    bool cursorVisible() const { return cursorVisible_; }
    CursorShape cursorShape() const { return cursorShape_; }

    int scrollbackLimit() const { return scrollback_.capacity(); }
    void setScrollbackLimit(int lines) { scrollback_.setCapacity(lines); }
    int scrollbackLines() const { return scrollback_.size(); }
    int combinedLineCount() const { return scrollback_.size() + rows(); }
    int64_t stableLineNumber(int combinedLine) const {
        return static_cast<int64_t>(scrollback_.droppedLines()) + combinedLine;
    }

    // A screen cell; a blank cell outside the screen.
    TerminalCell screenCell(int row, int column) const;
    // A cell of the scrollback or the screen; scrollback lines are padded with blank cells.
    TerminalCell cellAt(int combinedLine, int column) const;

    // Text of the columns [fromColumn, toColumn) of a line, trailing spaces trimmed.
    QString lineText(int combinedLine, int fromColumn, int toColumn) const;
    // Visible screen / scrollback / both, rows joined with '\n', trailing spaces trimmed.
    QString screenText() const;
    QString scrollbackText() const;
    QString allText() const;
    // The text between two boundaries in reading order, lines joined with '\n'. Lines that have
    // left the bounded scrollback since are skipped.
    QString text(CellBoundary start, CellBoundary end) const;
    // The columns [first, second) of the word under a cell (identifiers, paths, addresses); a
    // single character (both halves of a double-width one) when it is not part of a word.
    std::pair<int, int> wordAt(int combinedLine, int column) const;

    // A key as the terminal sends it: `key` and `modifiers` as in QKeyEvent, `text` what the
    // platform made of it. Nothing is produced for a lone modifier or a key with no terminal
    // meaning.
    void sendKey(int key, Qt::KeyboardModifiers modifiers, const QString& text);
    // Text as typed input: line ends become CR as a terminal's Enter does, wrapped in
    // bracketed-paste markers when the guest asked for them.
    void paste(const QString& text);
    // Bytes for the guest produced since the last call: keys, pastes and the terminal's own
    // answers (cursor position reports, device attributes).
    bool hasPendingOutput() const { return !pendingOutput_.isEmpty(); }
    QByteArray takePendingOutput() { return std::exchange(pendingOutput_, QByteArray()); }

Q_SIGNALS:
    // The guest set the window title (OSC 0/2).
    void titleChanged(const QString& title);
    // BEL (0x07).
    void bell();

private:
    struct VTermCallbacks; // libvterm's C callbacks, defined in the .cpp
    struct VTermDeleter {
        void operator()(VTerm* vt) const;
    };

    QString linesText(int firstCombinedLine, int lineCount) const;
    void invalidateCursor();
    Update takeUpdate();

    std::unique_ptr<VTerm, VTermDeleter> vterm_;
    VTermScreen* screen_ = nullptr;
    Scrollback scrollback_;

    QByteArray pendingOutput_; // what libvterm wrote during one feed/key/paste
    QRect pendingDamage_;      // screen cells (x = column, y = row) damaged since the last Update
    bool scrollbackChanged_ = false;

    QPoint cursor_; // x = column, y = row
    bool cursorVisible_ = true;
    CursorShape cursorShape_ = CursorShape::Block;
};

} // namespace kvmscope::ui
