#include "TerminalWidget.h"

#include "CellGridPainter.h"
#include "ConsolePalette.h"

#include <QApplication>
#include <QClipboard>
#include <QFontDatabase>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPaintEvent>
#include <QPainter>
#include <QScrollBar>
#include <algorithm>

namespace kvmscope::ui {

TerminalWidget::TerminalWidget(QWidget* parent) : QAbstractScrollArea(parent) {
    connect(&screen_, &TerminalScreen::titleChanged, this, &TerminalWidget::titleChanged);
    connect(&screen_, &TerminalScreen::bell, this, [] { QApplication::beep(); });

    setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOn); // keeps the column count stable
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setFocusPolicy(Qt::StrongFocus);
    viewport()->setCursor(Qt::IBeamCursor);
    viewport()->setAttribute(Qt::WA_OpaquePaintEvent);
    viewport()->setAutoFillBackground(false);

    setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    grid_.setFont(font());
    updateScrollBar();
}

TerminalWidget::~TerminalWidget() = default;

void TerminalWidget::feed(const QByteArray& bytes) {
    feedRaw(bytes.constData(), static_cast<size_t>(bytes.size()));
}

void TerminalWidget::feed(std::span<const uint8_t> bytes) {
    feedRaw(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void TerminalWidget::feedRaw(const char* bytes, size_t length) {
    if (length == 0) {
        return;
    }
    showUpdate(screen_.feed(bytes, length));
}

void TerminalWidget::showUpdate(const TerminalScreen::Update& update) {
    QScrollBar* scrollBar = verticalScrollBar();
    const bool wasAtBottom = scrollBar->value() == scrollBar->maximum();
    if (update.scrollbackChanged || !wasAtBottom) {
        // Everything visible moved (or the view jumps back to the live screen).
        updateScrollBar();
        scrollToBottom();
        viewport()->update();
    } else if (!update.damage.isEmpty()) {
        viewport()->update(
            update.damage.x() * grid_.cellWidth(), update.damage.y() * grid_.cellHeight(),
            update.damage.width() * grid_.cellWidth(), update.damage.height() * grid_.cellHeight());
    }
    flushOutput(); // answers to queries such as "ESC [ 6 n" (cursor position report)
}

void TerminalWidget::flushOutput() {
    if (!screen_.hasPendingOutput()) {
        return;
    }
    Q_EMIT inputBytes(screen_.takePendingOutput());
}

void TerminalWidget::clear() {
    selection_.clear();
    showUpdate(screen_.clear());
}

int TerminalWidget::rows() const {
    return screen_.rows();
}

int TerminalWidget::columns() const {
    return screen_.columns();
}

QPoint TerminalWidget::cursorPosition() const {
    return screen_.cursorPosition();
}

QColor TerminalWidget::cellForeground(int row, int column) const {
    if (row < 0 || row >= rows() || column < 0 || column >= columns()) {
        return {};
    }
    return QColor(screen_.screenCell(row, column).drawnForeground());
}

QColor TerminalWidget::cellBackground(int row, int column) const {
    if (row < 0 || row >= rows() || column < 0 || column >= columns()) {
        return {};
    }
    return QColor(screen_.screenCell(row, column).drawnBackground());
}

QString TerminalWidget::screenText() const {
    return screen_.screenText();
}

QString TerminalWidget::scrollbackText() const {
    return screen_.scrollbackText();
}

QString TerminalWidget::allText() const {
    return screen_.allText();
}

void TerminalWidget::setScrollbackLimit(int lines) {
    screen_.setScrollbackLimit(lines);
    updateScrollBar();
    viewport()->update();
}

// --- Scrolling -----------------------------------------------------------------------------

int TerminalWidget::topVisibleLine() const {
    return verticalScrollBar()->value();
}

void TerminalWidget::updateScrollBar() {
    QScrollBar* scrollBar = verticalScrollBar();
    scrollBar->setRange(0, screen_.scrollbackLines());
    scrollBar->setPageStep(rows());
    scrollBar->setSingleStep(1);
}

void TerminalWidget::scrollToBottom() {
    QScrollBar* scrollBar = verticalScrollBar();
    scrollBar->setValue(scrollBar->maximum());
}

void TerminalWidget::scrollContentsBy(int, int) {
    viewport()->update();
}

// --- Geometry ---------------------------------------------------------------------------

QSize TerminalWidget::sizeHint() const {
    const int frame = 2 * frameWidth();
    const int scrollBarWidth = verticalScrollBar()->sizeHint().width();
    return {kDefaultColumns * grid_.cellWidth() + frame + scrollBarWidth,
            kDefaultRows * grid_.cellHeight() + frame};
}

void TerminalWidget::resizeEvent(QResizeEvent* event) {
    QAbstractScrollArea::resizeEvent(event);
    viewportSized_ = true;
    resizeTerminalToViewport();
}

void TerminalWidget::resizeTerminalToViewport() {
    if (!viewportSized_) {
        return;
    }
    const int newColumns = std::max(1, viewport()->width() / grid_.cellWidth());
    const int newRows = std::max(1, viewport()->height() / grid_.cellHeight());
    if (newColumns == columns() && newRows == rows()) {
        return;
    }
    // Lines move between the screen and the scrollback, and columns change: the selection's
    // boundaries no longer name the same text.
    screen_.resize(newRows, newColumns);
    selection_.clear();
    updateScrollBar();
    scrollToBottom();
    viewport()->update();
}

void TerminalWidget::changeEvent(QEvent* event) {
    QAbstractScrollArea::changeEvent(event);
    if (event->type() == QEvent::FontChange) {
        grid_.setFont(font());
        resizeTerminalToViewport();
        updateGeometry();
        viewport()->update();
    }
}

// --- Painting ------------------------------------------------------------------------------

void TerminalWidget::paintEvent(QPaintEvent* event) {
    QPainter painter(viewport());
    const QRect exposed = event->rect();
    painter.fillRect(exposed, QColor(ConsolePalette::defaultBackground()));

    const int firstRow = std::max(0, exposed.top() / grid_.cellHeight());
    const int lastRow = std::min(rows() - 1, exposed.bottom() / grid_.cellHeight());
    const int firstColumn = std::max(0, exposed.left() / grid_.cellWidth());
    const int endColumn = std::min(columns(), exposed.right() / grid_.cellWidth() + 1);
    const int top = topVisibleLine();
    for (int row = firstRow; row <= lastRow; ++row) {
        const int line = top + row;
        if (line >= screen_.combinedLineCount()) {
            break;
        }
        paintLine(painter, row, line, firstColumn, endColumn);
    }
}

void TerminalWidget::paintLine(QPainter& painter, int viewportRow, int combinedLine,
                               int firstColumn, int endColumn) {
    const int64_t stableLine = screen_.stableLineNumber(combinedLine);
    const QPoint cursor = screen_.cursorPosition();
    const TerminalScreen::CursorShape shape = screen_.cursorShape();
    const bool cursorOnLine =
        screen_.cursorVisible() && combinedLine == screen_.scrollbackLines() + cursor.y();
    // A focused block cursor is drawn as an inverted cell; other shapes are drawn on top.
    const bool invertedCursor =
        cursorOnLine && hasFocus() && shape == TerminalScreen::CursorShape::Block;
    // A double-width character starting left of the exposed area still has to be drawn.
    if (firstColumn > 0 && screen_.cellAt(combinedLine, firstColumn).isWideContinuation()) {
        --firstColumn;
    }

    std::vector<CellGridPainter::PlacedCell> cells;
    cells.reserve(static_cast<size_t>(std::max(0, endColumn - firstColumn)));
    for (int column = firstColumn; column < endColumn; ++column) {
        TerminalCell cell = screen_.cellAt(combinedLine, column);
        if (cell.isWideContinuation()) {
            continue;
        }
        const bool selected = selection_.containsCell(stableLine, column);
        const bool underCursor = invertedCursor && column == cursor.x();
        if (selected != underCursor) {
            cell.reverse = !cell.reverse;
        }
        cells.push_back({cell, column});
    }

    grid_.paintRow(painter, viewportRow, cells, ConsolePalette::defaultBackground());

    if (cursorOnLine && !invertedCursor && cursor.x() >= firstColumn && cursor.x() < endColumn) {
        const TerminalCell cell = screen_.cellAt(combinedLine, cursor.x());
        const auto overlay = shape == TerminalScreen::CursorShape::Underline
                                 ? CellGridPainter::CursorOverlay::Underline
                             : shape == TerminalScreen::CursorShape::Bar
                                 ? CellGridPainter::CursorOverlay::Bar
                                 : CellGridPainter::CursorOverlay::HollowBlock; // unfocused
        grid_.paintCursor(painter, grid_.cellRect(viewportRow, cursor.x(), cell.width), overlay,
                          QColor(cell.drawnForeground()));
    }
}

void TerminalWidget::focusInEvent(QFocusEvent* event) {
    QAbstractScrollArea::focusInEvent(event);
    viewport()->update(); // the cursor changes from hollow to solid
}

void TerminalWidget::focusOutEvent(QFocusEvent* event) {
    QAbstractScrollArea::focusOutEvent(event);
    viewport()->update();
}

// --- Keyboard ------------------------------------------------------------------------------

bool TerminalWidget::focusNextPrevChild(bool) {
    return false;
}

namespace {

bool isCopyOrPaste(const QKeyEvent* event) {
    const Qt::KeyboardModifiers modifiers = event->modifiers() & ~Qt::KeypadModifier;
    return modifiers == (Qt::ControlModifier | Qt::ShiftModifier) &&
           (event->key() == Qt::Key_C || event->key() == Qt::Key_V);
}

} // namespace

bool TerminalWidget::event(QEvent* event) {
    if (event->type() == QEvent::ShortcutOverride) {
        // Ctrl and Alt combinations belong to the guest (Ctrl+C, Ctrl+W, Alt+F ...), not to the
        // application's shortcuts; Ctrl+Shift+<key> is left to the application apart from our
        // own copy and paste.
        auto* keyEvent = static_cast<QKeyEvent*>(event);
        const Qt::KeyboardModifiers modifiers = keyEvent->modifiers();
        const bool controlShift =
            (modifiers & Qt::ControlModifier) && (modifiers & Qt::ShiftModifier);
        if (isCopyOrPaste(keyEvent) ||
            (!controlShift && (modifiers & (Qt::ControlModifier | Qt::AltModifier)))) {
            event->accept();
            return true;
        }
    }
    return QAbstractScrollArea::event(event);
}

bool TerminalWidget::handleShortcut(QKeyEvent* event) {
    const Qt::KeyboardModifiers modifiers = event->modifiers() & ~Qt::KeypadModifier;
    const int key = event->key();
    if (modifiers == (Qt::ControlModifier | Qt::ShiftModifier)) {
        if (key == Qt::Key_C) {
            copySelection();
            return true;
        }
        if (key == Qt::Key_V) {
            pasteClipboard();
            return true;
        }
        return false;
    }
    if (modifiers != Qt::ShiftModifier) {
        return false;
    }
    QScrollBar* scrollBar = verticalScrollBar();
    switch (key) {
    case Qt::Key_Insert:
        pasteClipboard();
        return true;
    case Qt::Key_PageUp:
        scrollBar->triggerAction(QAbstractSlider::SliderPageStepSub);
        return true;
    case Qt::Key_PageDown:
        scrollBar->triggerAction(QAbstractSlider::SliderPageStepAdd);
        return true;
    case Qt::Key_Home:
        scrollBar->triggerAction(QAbstractSlider::SliderToMinimum);
        return true;
    case Qt::Key_End:
        scrollBar->triggerAction(QAbstractSlider::SliderToMaximum);
        return true;
    default:
        return false;
    }
}

void TerminalWidget::keyPressEvent(QKeyEvent* event) {
    if (handleShortcut(event)) {
        event->accept();
        return;
    }
    screen_.sendKey(event->key(), event->modifiers(), event->text());
    if (!screen_.hasPendingOutput()) {
        event->ignore(); // a lone modifier, or a key with no terminal meaning
        return;
    }
    event->accept();
    scrollToBottom();
    flushOutput();
}

// --- Selection, copy and paste -------------------------------------------------------------

CellBoundary TerminalWidget::boundaryAt(QPoint viewportPosition) const {
    const int row = std::clamp(viewportPosition.y() / grid_.cellHeight(), 0, rows() - 1);
    const int column = std::clamp(
        (viewportPosition.x() + grid_.cellWidth() / 2) / grid_.cellWidth(), 0, columns());
    return {screen_.stableLineNumber(topVisibleLine() + row), column};
}

void TerminalWidget::selectWordAt(QPoint viewportPosition) {
    const int row = std::clamp(viewportPosition.y() / grid_.cellHeight(), 0, rows() - 1);
    const int line = topVisibleLine() + row;
    const int column = std::clamp(viewportPosition.x() / grid_.cellWidth(), 0, columns() - 1);
    const auto [start, end] = screen_.wordAt(line, column);
    const int64_t stableLine = screen_.stableLineNumber(line);
    selection_.select({stableLine, start}, {stableLine, end});
    selectionChanged();
}

void TerminalWidget::selectionChanged() {
    viewport()->update();
    QClipboard* clipboard = QGuiApplication::clipboard();
    if (hasSelection() && clipboard->supportsSelection()) {
        // X11 convention: selecting is copying to the primary selection (middle-click pastes).
        clipboard->setText(selectedText(), QClipboard::Selection);
    }
}

QString TerminalWidget::selectedText() const {
    if (selection_.isEmpty()) {
        return {};
    }
    return screen_.text(selection_.start(), selection_.end());
}

void TerminalWidget::copySelection() {
    if (hasSelection()) {
        QGuiApplication::clipboard()->setText(selectedText());
    }
}

void TerminalWidget::pasteClipboard() {
    pasteText(QGuiApplication::clipboard()->text());
}

void TerminalWidget::pasteText(const QString& text) {
    if (text.isEmpty()) {
        return;
    }
    screen_.paste(text);
    scrollToBottom();
    flushOutput();
}

void TerminalWidget::mousePressEvent(QMouseEvent* event) {
    setFocus(Qt::MouseFocusReason);
    if (event->button() == Qt::LeftButton) {
        selecting_ = true;
        selection_.begin(boundaryAt(event->position().toPoint()));
        viewport()->update();
        event->accept();
        return;
    }
    if (event->button() == Qt::MiddleButton && QGuiApplication::clipboard()->supportsSelection()) {
        pasteText(QGuiApplication::clipboard()->text(QClipboard::Selection));
        event->accept();
        return;
    }
    QAbstractScrollArea::mousePressEvent(event);
}

void TerminalWidget::mouseMoveEvent(QMouseEvent* event) {
    if (selecting_ && (event->buttons() & Qt::LeftButton)) {
        selection_.extendTo(boundaryAt(event->position().toPoint()));
        viewport()->update();
        event->accept();
        return;
    }
    QAbstractScrollArea::mouseMoveEvent(event);
}

void TerminalWidget::mouseReleaseEvent(QMouseEvent* event) {
    if (selecting_ && event->button() == Qt::LeftButton) {
        selecting_ = false;
        selection_.extendTo(boundaryAt(event->position().toPoint()));
        selectionChanged();
        event->accept();
        return;
    }
    QAbstractScrollArea::mouseReleaseEvent(event);
}

void TerminalWidget::mouseDoubleClickEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton) {
        selecting_ = false;
        selectWordAt(event->position().toPoint());
        event->accept();
        return;
    }
    QAbstractScrollArea::mouseDoubleClickEvent(event);
}

} // namespace kvmscope::ui
