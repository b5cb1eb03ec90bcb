#include "TerminalScreen.h"

#include "ConsolePalette.h"
#include "KeyTranslation.h"

#include <QStringList>
#include <algorithm>
#include <cstring>
#include <new>
#include <optional>
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

// libvterm calls plain C functions with a user pointer; these forward to the screen.
struct TerminalScreen::VTermCallbacks {
    static TerminalScreen* self(void* user) { return static_cast<TerminalScreen*>(user); }

    static void output(const char* bytes, size_t length, void* user) {
        self(user)->pendingOutput_.append(bytes, static_cast<qsizetype>(length));
    }

    static int damage(VTermRect rect, void* user) {
        self(user)->pendingDamage_ |=
            QRect(rect.start_col, rect.start_row, rect.end_col - rect.start_col,
                  rect.end_row - rect.start_row);
        return 1;
    }

    static int moveCursor(VTermPos position, VTermPos, int visible, void* user) {
        TerminalScreen* screen = self(user);
        screen->invalidateCursor();
        screen->cursor_ = QPoint(position.col, position.row);
        screen->cursorVisible_ = visible != 0;
        screen->invalidateCursor();
        return 1;
    }

    static int setTermProp(VTermProp property, VTermValue* value, void* user) {
        TerminalScreen* screen = self(user);
        switch (property) {
        case VTERM_PROP_CURSORVISIBLE:
            screen->cursorVisible_ = value->boolean != 0;
            screen->invalidateCursor();
            return 1;
        case VTERM_PROP_CURSORSHAPE:
            // DECSCUSR gives libvterm only these three shapes.
            screen->cursorShape_ =
                value->number == VTERM_PROP_CURSORSHAPE_UNDERLINE  ? CursorShape::Underline
                : value->number == VTERM_PROP_CURSORSHAPE_BAR_LEFT ? CursorShape::Bar
                                                                   : CursorShape::Block;
            screen->invalidateCursor();
            return 1;
        case VTERM_PROP_TITLE:
            Q_EMIT screen->titleChanged(QString::fromUtf8(value->string));
            return 1;
        default:
            return 0;
        }
    }

    static int bell(void* user) {
        Q_EMIT self(user)->bell();
        return 1;
    }

    static int resize(int, int, void*) { return 1; }

    static int pushLine(int columns, const VTermScreenCell* cells, void* user) {
        TerminalScreen* screen = self(user);
        TerminalLine line;
        line.reserve(static_cast<size_t>(columns));
        for (int column = 0; column < columns; ++column) {
            line.push_back(toTerminalCell(screen->screen_, cells[column]));
        }
        screen->scrollback_.push(std::move(line));
        screen->scrollbackChanged_ = true;
        return 1;
    }

    static int popLine(int columns, VTermScreenCell* cells, void* user) {
        TerminalScreen* screen = self(user);
        std::optional<TerminalLine> line = screen->scrollback_.popNewest();
        if (!line) {
            return 0;
        }
        const VTermState* state = vterm_obtain_state(screen->vterm_.get());
        const size_t stored = line->size();
        for (int column = 0; column < columns; ++column) {
            const auto index = static_cast<size_t>(column);
            cells[column] = toVTermCell(state, index < stored ? (*line)[index] : TerminalCell{});
        }
        screen->scrollbackChanged_ = true;
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

void TerminalScreen::VTermDeleter::operator()(VTerm* vt) const {
    vterm_free(vt);
}

TerminalScreen::TerminalScreen(QObject* parent)
    : QObject(parent), vterm_(vterm_new(kDefaultRows, kDefaultColumns)) {
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
}

TerminalScreen::~TerminalScreen() = default;

TerminalScreen::Update TerminalScreen::feed(const char* bytes, size_t length) {
    vterm_input_write(vterm_.get(), bytes, length);
    vterm_screen_flush_damage(screen_);
    return takeUpdate();
}

TerminalScreen::Update TerminalScreen::clear() {
    scrollback_.clear();
    scrollbackChanged_ = true;
    static constexpr char kHomeAndEraseScreen[] = "\x1b[H\x1b[2J";
    return feed(kHomeAndEraseScreen, sizeof(kHomeAndEraseScreen) - 1);
}

void TerminalScreen::resize(int rows, int columns) {
    vterm_set_size(vterm_.get(), rows, columns);
    vterm_screen_flush_damage(screen_);
    takeUpdate();
}

TerminalScreen::Update TerminalScreen::takeUpdate() {
    return {std::exchange(pendingDamage_, QRect()), std::exchange(scrollbackChanged_, false)};
}

void TerminalScreen::invalidateCursor() {
    // Two columns: the cursor may sit on a double-width character.
    pendingDamage_ |= QRect(cursor_.x(), cursor_.y(), 2, 1);
}

int TerminalScreen::rows() const {
    int rowCount = 0;
    int columnCount = 0;
    vterm_get_size(vterm_.get(), &rowCount, &columnCount);
    return rowCount;
}

int TerminalScreen::columns() const {
    int rowCount = 0;
    int columnCount = 0;
    vterm_get_size(vterm_.get(), &rowCount, &columnCount);
    return columnCount;
}

// --- Cells and text ------------------------------------------------------------------------

TerminalCell TerminalScreen::screenCell(int row, int column) const {
    VTermScreenCell cell;
    if (!vterm_screen_get_cell(screen_, VTermPos{row, column}, &cell)) {
        return {};
    }
    return toTerminalCell(screen_, cell);
}

TerminalCell TerminalScreen::cellAt(int combinedLine, int column) const {
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

QString TerminalScreen::lineText(int combinedLine, int fromColumn, int toColumn) const {
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

QString TerminalScreen::linesText(int firstCombinedLine, int lineCount) const {
    QStringList lines;
    lines.reserve(lineCount);
    const int columnCount = columns();
    for (int line = firstCombinedLine; line < firstCombinedLine + lineCount; ++line) {
        lines.append(lineText(line, 0, columnCount));
    }
    return lines.join(QLatin1Char('\n'));
}

QString TerminalScreen::screenText() const {
    return linesText(scrollback_.size(), rows());
}

QString TerminalScreen::scrollbackText() const {
    return linesText(0, scrollback_.size());
}

QString TerminalScreen::allText() const {
    return linesText(0, combinedLineCount());
}

QString TerminalScreen::text(CellBoundary start, CellBoundary end) const {
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

std::pair<int, int> TerminalScreen::wordAt(int combinedLine, int column) const {
    const int columnCount = columns();
    if (column > 0 && cellAt(combinedLine, column).isWideContinuation()) {
        --column;
    }
    int start = column;
    int end = column + cellAt(combinedLine, column).width;
    if (isWordCharacter(cellAt(combinedLine, column).codepoint)) {
        while (start > 0 && isWordCharacter(cellAt(combinedLine, start - 1).codepoint)) {
            --start;
        }
        while (end < columnCount && isWordCharacter(cellAt(combinedLine, end).codepoint)) {
            end += cellAt(combinedLine, end).width;
        }
    }
    return {start, std::min(end, columnCount)};
}

// --- Keyboard ------------------------------------------------------------------------------

void TerminalScreen::sendKey(int key, Qt::KeyboardModifiers modifiers, const QString& text) {
    VTerm* vt = vterm_.get();
    const VTermModifier vtermModifiers = toVTermModifiers(modifiers);

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
    for (const char32_t codepoint : text.toUcs4()) {
        if (codepoint < 0x20 || codepoint == 0x7f) {
            // The platform already produced a control character; pass it through.
            pendingOutput_.append(static_cast<char>(codepoint));
        } else {
            vterm_keyboard_unichar(vt, codepoint, textModifiers);
        }
    }
}

void TerminalScreen::paste(const QString& text) {
    QString typed = text;
    typed.replace(QLatin1String("\r\n"), QLatin1String("\r"));
    typed.replace(QLatin1Char('\n'), QLatin1Char('\r'));
    VTerm* vt = vterm_.get();
    vterm_keyboard_start_paste(vt); // "ESC [ 200 ~" if the guest enabled bracketed paste
    pendingOutput_.append(typed.toUtf8());
    vterm_keyboard_end_paste(vt);
}

} // namespace kvmscope::ui
