#include "KeyTranslation.h"

namespace kvmscope::ui {

VTermModifier toVTermModifiers(Qt::KeyboardModifiers modifiers) {
    int result = VTERM_MOD_NONE;
    if (modifiers & Qt::ShiftModifier) {
        result |= VTERM_MOD_SHIFT;
    }
    if (modifiers & Qt::AltModifier) {
        result |= VTERM_MOD_ALT;
    }
    if (modifiers & Qt::ControlModifier) {
        result |= VTERM_MOD_CTRL;
    }
    return static_cast<VTermModifier>(result);
}

namespace {

std::optional<VTermKey> keypadKey(int qtKey) {
    if (qtKey >= Qt::Key_0 && qtKey <= Qt::Key_9) {
        return static_cast<VTermKey>(VTERM_KEY_KP_0 + (qtKey - Qt::Key_0));
    }
    switch (qtKey) {
    case Qt::Key_Asterisk:
        return VTERM_KEY_KP_MULT;
    case Qt::Key_Plus:
        return VTERM_KEY_KP_PLUS;
    case Qt::Key_Comma:
        return VTERM_KEY_KP_COMMA;
    case Qt::Key_Minus:
        return VTERM_KEY_KP_MINUS;
    case Qt::Key_Period:
        return VTERM_KEY_KP_PERIOD;
    case Qt::Key_Slash:
        return VTERM_KEY_KP_DIVIDE;
    case Qt::Key_Equal:
        return VTERM_KEY_KP_EQUAL;
    default:
        return std::nullopt;
    }
}

} // namespace

std::optional<VTermKey> toVTermKey(int qtKey, Qt::KeyboardModifiers modifiers) {
    if (qtKey >= Qt::Key_F1 && qtKey <= Qt::Key_F35) {
        return static_cast<VTermKey>(VTERM_KEY_FUNCTION(1 + (qtKey - Qt::Key_F1)));
    }
    // Only digits and operators are looked up as keypad keys: some platforms also set
    // KeypadModifier on the arrow keys, and those must stay cursor keys.
    if (modifiers & Qt::KeypadModifier) {
        if (auto key = keypadKey(qtKey)) {
            return key;
        }
    }
    switch (qtKey) {
    case Qt::Key_Return:
    case Qt::Key_Enter:
        return VTERM_KEY_ENTER;
    case Qt::Key_Tab:
    case Qt::Key_Backtab: // Qt reports Shift+Tab as Backtab; the Shift modifier is still set
        return VTERM_KEY_TAB;
    case Qt::Key_Backspace:
        return VTERM_KEY_BACKSPACE;
    case Qt::Key_Escape:
        return VTERM_KEY_ESCAPE;
    case Qt::Key_Up:
        return VTERM_KEY_UP;
    case Qt::Key_Down:
        return VTERM_KEY_DOWN;
    case Qt::Key_Left:
        return VTERM_KEY_LEFT;
    case Qt::Key_Right:
        return VTERM_KEY_RIGHT;
    case Qt::Key_Insert:
        return VTERM_KEY_INS;
    case Qt::Key_Delete:
        return VTERM_KEY_DEL;
    case Qt::Key_Home:
        return VTERM_KEY_HOME;
    case Qt::Key_End:
        return VTERM_KEY_END;
    case Qt::Key_PageUp:
        return VTERM_KEY_PAGEUP;
    case Qt::Key_PageDown:
        return VTERM_KEY_PAGEDOWN;
    default:
        return std::nullopt;
    }
}

std::optional<char> legacyControlByte(int qtKey) {
    switch (qtKey) {
    case Qt::Key_At:
    case Qt::Key_Space:
    case Qt::Key_2:
        return '\x00';
    case Qt::Key_I:
        return '\t';
    case Qt::Key_J:
        return '\n';
    case Qt::Key_M:
        return '\r';
    case Qt::Key_BracketLeft:
        return '\x1b';
    default:
        return std::nullopt;
    }
}

} // namespace kvmscope::ui
