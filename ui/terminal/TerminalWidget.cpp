#include "TerminalWidget.h"

#include "CellGridPainter.h"
#include "ConsolePalette.h"
#include "KeyTranslation.h"

#include <QApplication>
#include <QClipboard>
#include <QFontDatabase>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPaintEvent>
#include <QPainter>
#include <QScrollBar>
#include <QStringList>
#include <algorithm>
#include <cstring>
#include <new>
#include <utility>
#include <vterm.h>

namespace kvmscope::ui {

namespace {

QRgb toQRgb(const VTermColor& colour) {
    return qRgb(colour.rgb.red, colour.rgb.green, colour.rgb.blue);
}

VTermColor toVTermColour(QRgb rgb) {
    VTermColor colour;
    vterm_color_rgb(&colour, static_cast<uint8_t>(qRed(rgb)), static_cast<uint8_t>(qGreen(rgb)),
                    static_cast<uint8_t>(qBlue(rgb)));
    return colour;
}

// Resolves libvterm's colour (default, palette index or RGB) to the RGB value we draw.
QRgb resolveColour(const VTermScreen* screen, VTermColor colour) {
    if (VTERM_COLOR_IS_DEFAULT_FG(&colour)) {
        return ConsolePalette::defaultForeground();
    }
    if (VTERM_COLOR_IS_DEFAULT_BG(&colour)) {
        return ConsolePalette::defaultBackground();
    }
    vterm_screen_convert_color_to_rgb(screen, &colour);
    return toQRgb(colour);
}

TerminalCell toTerminalCell(const VTermScreen* screen, const VTermScreenCell& source) {
    TerminalCell cell;
    cell.codepoint = source.chars[0]; // combining characters (chars[1..]) are not kept
    cell.width = source.width == 2 ? 2 : 1;
    cell.bold = source.attrs.bold;
    cell.italic = source.attrs.italic;
    cell.underline = source.attrs.underline != VTERM_UNDERLINE_OFF;
    cell.reverse = source.attrs.reverse;
    cell.strike = source.attrs.strike;
    cell.defaultForeground = VTERM_COLOR_IS_DEFAULT_FG(&source.fg);
    cell.defaultBackground = VTERM_COLOR_IS_DEFAULT_BG(&source.bg);
    cell.foreground = resolveColour(screen, source.fg);
    cell.background = resolveColour(screen, source.bg);
    return cell;
}

VTermScreenCell toVTermCell(const VTermState* state, const TerminalCell& source) {
    VTermScreenCell cell{};
    cell.chars[0] = source.codepoint;
    cell.width = static_cast<char>(source.width);
    cell.attrs.bold = source.bold;
    cell.attrs.italic = source.italic;
    cell.attrs.underline = source.underline ? VTERM_UNDERLINE_SINGLE : VTERM_UNDERLINE_OFF;
    cell.attrs.reverse = source.reverse;
    cell.attrs.strike = source.strike;
    // The default colours carry libvterm's "default" flags, which only it knows how to set.
    VTermColor defaultForeground;
    VTermColor defaultBackground;
    vterm_state_get_default_colors(state, &defaultForeground, &defaultBackground);
    cell.fg = source.defaultForeground ? defaultForeground : toVTermColour(source.foreground);
    cell.bg = source.defaultBackground ? defaultBackground : toVTermColour(source.background);
    return cell;
}

// Characters a double-click treats as part of a word: identifiers, paths, addresses.
bool isWordCharacter(char32_t codepoint) {
    if (codepoint == 0 || codepoint == TerminalCell::kWideContinuation) {
        return false;
    }
    if (QChar::isLetterOrNumber(codepoint)) {
        return true;
    }
    return codepoint < 0x80 && std::strchr("_-./~:@+%#=", static_cast<int>(codepoint)) != nullptr;
}

QString trimmedRight(QString text) {
    qsizetype end = text.size();
    while (end > 0 && text.at(end - 1) == QLatin1Char(' ')) {
        --end;
    }
    text.truncate(end);
    return text;
}

} // namespace

// libvterm calls plain C functions with a user pointer; these forward to the widget.
struct TerminalWidget::VTermCallbacks {
    static TerminalWidget* widget(void* user) { return static_cast<TerminalWidget*>(user); }

    static void output(const char* bytes, size_t length, void* user) {
        widget(user)->pendingOutput_.append(bytes, static_cast<qsizetype>(length));
    }

    static int damage(VTermRect rect, void* user) {
        TerminalWidget* self = widget(user);
        self->pendingDamage_ |= QRect(rect.start_col, rect.start_row, rect.end_col - rect.start_col,
                                      rect.end_row - rect.start_row);
        return 1;
    }

    static int moveCursor(VTermPos position, VTermPos, int visible, void* user) {
        TerminalWidget* self = widget(user);
        self->invalidateCursor();
        self->cursor_ = QPoint(position.col, position.row);
        self->cursorVisible_ = visible != 0;
        self->invalidateCursor();
        return 1;
    }

    static int setTermProp(VTermProp property, VTermValue* value, void* user) {
        TerminalWidget* self = widget(user);
        switch (property) {
        case VTERM_PROP_CURSORVISIBLE:
            self->cursorVisible_ = value->boolean != 0;
            self->invalidateCursor();
            return 1;
        case VTERM_PROP_CURSORSHAPE:
            self->cursorShape_ = value->number;
            self->invalidateCursor();
            return 1;
        case VTERM_PROP_TITLE:
            Q_EMIT self->titleChanged(QString::fromUtf8(value->string));
            return 1;
        default:
            return 0;
        }
    }

    static int bell(void*) {
        QApplication::beep();
        return 1;
    }

    static int resize(int, int, void*) { return 1; }

    static int pushLine(int columns, const VTermScreenCell* cells, void* user) {
        TerminalWidget* self = widget(user);
        TerminalLine line;
        line.reserve(static_cast<size_t>(columns));
        for (int column = 0; column < columns; ++column) {
            line.push_back(toTerminalCell(self->screen_, cells[column]));
        }
        self->scrollback_.push(std::move(line));
        self->scrollbackChanged_ = true;
        return 1;
    }

    static int popLine(int columns, VTermScreenCell* cells, void* user) {
        TerminalWidget* self = widget(user);
        std::optional<TerminalLine> line = self->scrollback_.popNewest();
        if (!line) {
            return 0;
        }
        const VTermState* state = vterm_obtain_state(self->vterm_.get());
        const size_t stored = line->size();
        for (int column = 0; column < columns; ++column) {
            const auto index = static_cast<size_t>(column);
            cells[column] = toVTermCell(state, index < stored ? (*line)[index] : TerminalCell{});
        }
        self->scrollbackChanged_ = true;
        return 1;
    }

    static constexpr VTermScreenCallbacks kScreenCallbacks = {
        .damage = damage,
        .moverect = nullptr, // no moverect: scrolled regions arrive as damage, repainted whole
        .movecursor = moveCursor,
        .settermprop = setTermProp,
        .bell = bell,
        .resize = resize,
        .sb_pushline = pushLine,
        .sb_popline = popLine,
    };
};

void TerminalWidget::VTermDeleter::operator()(VTerm* vt) const {
    vterm_free(vt);
}

TerminalWidget::TerminalWidget(QWidget* parent)
    : QAbstractScrollArea(parent), vterm_(vterm_new(kDefaultRows, kDefaultColumns)) {
    if (!vterm_) {
        throw std::bad_alloc();
    }
    VTerm* vt = vterm_.get();
    vterm_set_utf8(vt, 1);
    vterm_output_set_callback(vt, &VTermCallbacks::output, this);

    VTermState* state = vterm_obtain_state(vt);
    const VTermColor defaultForeground = toVTermColour(ConsolePalette::defaultForeground());
    const VTermColor defaultBackground = toVTermColour(ConsolePalette::defaultBackground());
    vterm_state_set_default_colors(state, &defaultForeground, &defaultBackground);
    for (int index = 0; index < ConsolePalette::kAnsiColours; ++index) {
        const VTermColor colour = toVTermColour(ConsolePalette::ansi(index));
        vterm_state_set_palette_color(state, index, &colour);
    }
    // The Linux console shows bold text in the bright colour; programs rely on it.
    vterm_state_set_bold_highbright(state, 1);

    screen_ = vterm_obtain_screen(vt);
    vterm_screen_set_callbacks(screen_, &VTermCallbacks::kScreenCallbacks, this);
    // Merge all damage until feed() flushes it: one repaint per chunk of guest output, not one
    // per byte.
    vterm_screen_set_damage_merge(screen_, VTERM_DAMAGE_SCREEN);
    // Full-screen programs (vi, less) draw on the alternate screen and leave the scrollback alone.
    vterm_screen_enable_altscreen(screen_, 1);
    vterm_screen_reset(screen_, 1);

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
    vterm_input_write(vterm_.get(), bytes, length);
    vterm_screen_flush_damage(screen_);

    QScrollBar* scrollBar = verticalScrollBar();
    const bool wasAtBottom = scrollBar->value() == scrollBar->maximum();
    if (scrollbackChanged_ || !wasAtBottom) {
        // Everything visible moved (or the view jumps back to the live screen).
        updateScrollBar();
        scrollToBottom();
        viewport()->update();
    } else if (!pendingDamage_.isEmpty()) {
        viewport()->update(pendingDamage_.x() * grid_.cellWidth(),
                           pendingDamage_.y() * grid_.cellHeight(),
                           pendingDamage_.width() * grid_.cellWidth(),
                           pendingDamage_.height() * grid_.cellHeight());
    }
    pendingDamage_ = QRect();
    scrollbackChanged_ = false;
    flushOutput(); // answers to queries such as "ESC [ 6 n" (cursor position report)
}

void TerminalWidget::flushOutput() {
    if (pendingOutput_.isEmpty()) {
        return;
    }
    const QByteArray bytes = std::exchange(pendingOutput_, QByteArray());
    Q_EMIT inputBytes(bytes);
}

void TerminalWidget::clear() {
    scrollback_.clear();
    selection_.clear();
    scrollbackChanged_ = true;
    static constexpr char kHomeAndEraseScreen[] = "\x1b[H\x1b[2J";
    feedRaw(kHomeAndEraseScreen, sizeof(kHomeAndEraseScreen) - 1);
}

int TerminalWidget::rows() const {
    int rowCount = 0;
    int columnCount = 0;
    vterm_get_size(vterm_.get(), &rowCount, &columnCount);
    return rowCount;
}

int TerminalWidget::columns() const {
    int rowCount = 0;
    int columnCount = 0;
    vterm_get_size(vterm_.get(), &rowCount, &columnCount);
    return columnCount;
}

QPoint TerminalWidget::cursorPosition() const {
    return cursor_;
}

QColor TerminalWidget::cellForeground(int row, int column) const {
    if (row < 0 || row >= rows() || column < 0 || column >= columns()) {
        return {};
    }
    return QColor(screenCell(row, column).drawnForeground());
}

QColor TerminalWidget::cellBackground(int row, int column) const {
    if (row < 0 || row >= rows() || column < 0 || column >= columns()) {
        return {};
    }
    return QColor(screenCell(row, column).drawnBackground());
}

TerminalCell TerminalWidget::screenCell(int row, int column) const {
    VTermScreenCell cell;
    if (!vterm_screen_get_cell(screen_, VTermPos{row, column}, &cell)) {
        return {};
    }
    return toTerminalCell(screen_, cell);
}

TerminalCell TerminalWidget::cellAt(int combinedLine, int column) const {
    if (combinedLine < scrollback_.size()) {
        const TerminalLine& line = scrollback_.line(combinedLine);
        const auto index = static_cast<size_t>(column);
        if (index < line.size()) {
            return line[index];
        }
        TerminalCell blank;
        blank.foreground = ConsolePalette::defaultForeground();
        blank.background = ConsolePalette::defaultBackground();
        return blank;
    }
    return screenCell(combinedLine - scrollback_.size(), column);
}

QString TerminalWidget::lineText(int combinedLine, int fromColumn, int toColumn) const {
    QString text;
    for (int column = fromColumn; column < toColumn; ++column) {
        const TerminalCell cell = cellAt(combinedLine, column);
        if (cell.isWideContinuation()) {
            continue;
        }
        if (cell.codepoint == 0) {
            text += QLatin1Char(' ');
        } else {
            const char32_t codepoint = cell.codepoint;
            text += QString::fromUcs4(&codepoint, 1);
        }
    }
    return trimmedRight(text);
}

QString TerminalWidget::linesText(int firstCombinedLine, int lineCount) const {
    QStringList lines;
    lines.reserve(lineCount);
    const int columnCount = columns();
    for (int line = firstCombinedLine; line < firstCombinedLine + lineCount; ++line) {
        lines.append(lineText(line, 0, columnCount));
    }
    return lines.join(QLatin1Char('\n'));
}

QString TerminalWidget::screenText() const {
    return linesText(scrollback_.size(), rows());
}

QString TerminalWidget::scrollbackText() const {
    return linesText(0, scrollback_.size());
}

QString TerminalWidget::allText() const {
    return linesText(0, combinedLineCount());
}

void TerminalWidget::setScrollbackLimit(int lines) {
    scrollback_.setCapacity(lines);
    updateScrollBar();
    viewport()->update();
}

int64_t TerminalWidget::stableLineNumber(int combinedLine) const {
    return static_cast<int64_t>(scrollback_.droppedLines()) + combinedLine;
}

int TerminalWidget::topVisibleLine() const {
    return verticalScrollBar()->value();
}

void TerminalWidget::updateScrollBar() {
    QScrollBar* scrollBar = verticalScrollBar();
    scrollBar->setRange(0, scrollback_.size());
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

void TerminalWidget::invalidateCursor() {
    // Two columns: the cursor may sit on a double-width character.
    pendingDamage_ |= QRect(cursor_.x(), cursor_.y(), 2, 1);
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
    // libvterm moves lines between the screen and the scrollback (sb_pushline/sb_popline) to
    // keep the cursor's line visible.
    vterm_set_size(vterm_.get(), newRows, newColumns);
    vterm_screen_flush_damage(screen_);
    pendingDamage_ = QRect();
    scrollbackChanged_ = false;
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
        if (line >= combinedLineCount()) {
            break;
        }
        paintLine(painter, row, line, firstColumn, endColumn);
    }
}

void TerminalWidget::paintLine(QPainter& painter, int viewportRow, int combinedLine,
                               int firstColumn, int endColumn) {
    const int64_t stableLine = stableLineNumber(combinedLine);
    const bool cursorOnLine = cursorVisible_ && combinedLine == scrollback_.size() + cursor_.y();
    // A focused block cursor is drawn as an inverted cell; other shapes are drawn on top.
    const bool invertedCursor =
        cursorOnLine && hasFocus() && cursorShape_ == VTERM_PROP_CURSORSHAPE_BLOCK;
    // A double-width character starting left of the exposed area still has to be drawn.
    if (firstColumn > 0 && cellAt(combinedLine, firstColumn).isWideContinuation()) {
        --firstColumn;
    }

    std::vector<CellGridPainter::PlacedCell> cells;
    cells.reserve(static_cast<size_t>(std::max(0, endColumn - firstColumn)));
    for (int column = firstColumn; column < endColumn; ++column) {
        TerminalCell cell = cellAt(combinedLine, column);
        if (cell.isWideContinuation()) {
            continue;
        }
        const bool selected = selection_.containsCell(stableLine, column);
        const bool underCursor = invertedCursor && column == cursor_.x();
        if (selected != underCursor) {
            cell.reverse = !cell.reverse;
        }
        cells.push_back({cell, column});
    }

    grid_.paintRow(painter, viewportRow, cells, ConsolePalette::defaultBackground());

    if (cursorOnLine && !invertedCursor && cursor_.x() >= firstColumn && cursor_.x() < endColumn) {
        const TerminalCell cell = cellAt(combinedLine, cursor_.x());
        const auto overlay = cursorShape_ == VTERM_PROP_CURSORSHAPE_UNDERLINE
                                 ? CellGridPainter::CursorOverlay::Underline
                             : cursorShape_ == VTERM_PROP_CURSORSHAPE_BAR_LEFT
                                 ? CellGridPainter::CursorOverlay::Bar
                                 : CellGridPainter::CursorOverlay::HollowBlock; // unfocused
        grid_.paintCursor(painter, grid_.cellRect(viewportRow, cursor_.x(), cell.width), overlay,
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

void TerminalWidget::sendKey(QKeyEvent* event) {
    VTerm* vt = vterm_.get();
    const Qt::KeyboardModifiers modifiers = event->modifiers();
    const VTermModifier vtermModifiers = toVTermModifiers(modifiers);
    const int key = event->key();

    if (const std::optional<VTermKey> vtermKey = toVTermKey(key, modifiers)) {
        vterm_keyboard_key(vt, *vtermKey, vtermModifiers);
        return;
    }
    if (modifiers & Qt::ControlModifier) {
        if (const std::optional<char> control = legacyControlByte(key)) {
            if (modifiers & Qt::AltModifier) {
                pendingOutput_.append('\x1b');
            }
            pendingOutput_.append(*control);
            return;
        }
        // Ctrl+letter by key code, not text: platforms disagree on the text of Ctrl+C.
        if (key >= Qt::Key_A && key <= Qt::Key_Z) {
            vterm_keyboard_unichar(vt, static_cast<uint32_t>('a' + (key - Qt::Key_A)),
                                   vtermModifiers);
            return;
        }
        if (key == Qt::Key_Backslash || key == Qt::Key_BracketRight || key == Qt::Key_AsciiCircum ||
            key == Qt::Key_Underscore) {
            vterm_keyboard_unichar(vt, static_cast<uint32_t>(key), vtermModifiers);
            return;
        }
    }
    // Printable text; Alt prefixes ESC (libvterm does it), Shift is already in the text.
    const VTermModifier textModifiers = static_cast<VTermModifier>(vtermModifiers & VTERM_MOD_ALT);
    for (const char32_t codepoint : event->text().toUcs4()) {
        if (codepoint < 0x20 || codepoint == 0x7f) {
            // The platform already produced a control character; pass it through.
            pendingOutput_.append(static_cast<char>(codepoint));
        } else {
            vterm_keyboard_unichar(vt, codepoint, textModifiers);
        }
    }
}

void TerminalWidget::keyPressEvent(QKeyEvent* event) {
    if (handleShortcut(event)) {
        event->accept();
        return;
    }
    sendKey(event);
    if (pendingOutput_.isEmpty()) {
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
    return {stableLineNumber(topVisibleLine() + row), column};
}

void TerminalWidget::selectWordAt(QPoint viewportPosition) {
    const int row = std::clamp(viewportPosition.y() / grid_.cellHeight(), 0, rows() - 1);
    const int line = topVisibleLine() + row;
    const int columnCount = columns();
    int column = std::clamp(viewportPosition.x() / grid_.cellWidth(), 0, columnCount - 1);
    if (column > 0 && cellAt(line, column).isWideContinuation()) {
        --column;
    }
    int start = column;
    int end = column + cellAt(line, column).width;
    if (isWordCharacter(cellAt(line, column).codepoint)) {
        while (start > 0 && isWordCharacter(cellAt(line, start - 1).codepoint)) {
            --start;
        }
        while (end < columnCount && isWordCharacter(cellAt(line, end).codepoint)) {
            end += cellAt(line, end).width;
        }
    }
    const int64_t stableLine = stableLineNumber(line);
    selection_.select({stableLine, start}, {stableLine, std::min(end, columnCount)});
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
    const CellBoundary start = selection_.start();
    const CellBoundary end = selection_.end();
    const auto dropped = static_cast<int64_t>(scrollback_.droppedLines());
    const int columnCount = columns();
    QStringList lines;
    for (int64_t stableLine = start.line; stableLine <= end.line; ++stableLine) {
        const int64_t combined = stableLine - dropped;
        if (combined < 0 || combined >= combinedLineCount()) {
            continue; // scrolled out of the bounded scrollback since it was selected
        }
        const int from = stableLine == start.line ? start.column : 0;
        const int to = stableLine == end.line ? end.column : columnCount;
        lines.append(lineText(static_cast<int>(combined), from, std::min(to, columnCount)));
    }
    return lines.join(QLatin1Char('\n'));
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
    QString typed = text;
    typed.replace(QLatin1String("\r\n"), QLatin1String("\r"));
    typed.replace(QLatin1Char('\n'), QLatin1Char('\r'));
    VTerm* vt = vterm_.get();
    vterm_keyboard_start_paste(vt); // "ESC [ 200 ~" if the guest enabled bracketed paste
    pendingOutput_.append(typed.toUtf8());
    vterm_keyboard_end_paste(vt);
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
