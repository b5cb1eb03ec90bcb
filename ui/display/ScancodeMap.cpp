#include "display/ScancodeMap.h"

#include <QKeyEvent>

namespace kvmscope::ui {
namespace {

constexpr uint8_t kExtendedPrefix = 0xE0;
constexpr uint8_t kBreakPrefix = 0xF0;

// XKB keycodes (evdev code + 8; linux/input-event-codes.h) of the right-hand modifier keys.
constexpr quint32 kXkbRightCtrl = 97 + 8;   // KEY_RIGHTCTRL
constexpr quint32 kXkbRightShift = 54 + 8;  // KEY_RIGHTSHIFT
constexpr quint32 kXkbRightAlt = 100 + 8;   // KEY_RIGHTALT
constexpr quint32 kXkbRightMeta = 126 + 8;  // KEY_RIGHTMETA
constexpr quint32 kXkbKeypadEnter = 96 + 8; // KEY_KPENTER

struct Entry {
    int qtKey;
    uint8_t code;
    bool extended;
};

// The main block, function keys and the editing/cursor blocks, by the key's unshifted character
// or name, with the Qt keys of its shifted character beside it (US layout). Set-2 codes from the
// Microsoft specification's appendix C.
constexpr Entry kMainKeys[] = {
    // Letters (Qt reports the upper-case key whatever the Shift or Caps Lock state).
    {Qt::Key_A, 0x1C, false},
    {Qt::Key_B, 0x32, false},
    {Qt::Key_C, 0x21, false},
    {Qt::Key_D, 0x23, false},
    {Qt::Key_E, 0x24, false},
    {Qt::Key_F, 0x2B, false},
    {Qt::Key_G, 0x34, false},
    {Qt::Key_H, 0x33, false},
    {Qt::Key_I, 0x43, false},
    {Qt::Key_J, 0x3B, false},
    {Qt::Key_K, 0x42, false},
    {Qt::Key_L, 0x4B, false},
    {Qt::Key_M, 0x3A, false},
    {Qt::Key_N, 0x31, false},
    {Qt::Key_O, 0x44, false},
    {Qt::Key_P, 0x4D, false},
    {Qt::Key_Q, 0x15, false},
    {Qt::Key_R, 0x2D, false},
    {Qt::Key_S, 0x1B, false},
    {Qt::Key_T, 0x2C, false},
    {Qt::Key_U, 0x3C, false},
    {Qt::Key_V, 0x2A, false},
    {Qt::Key_W, 0x1D, false},
    {Qt::Key_X, 0x22, false},
    {Qt::Key_Y, 0x35, false},
    {Qt::Key_Z, 0x1A, false},
    // The digit row, unshifted and shifted.
    {Qt::Key_1, 0x16, false},
    {Qt::Key_Exclam, 0x16, false},
    {Qt::Key_2, 0x1E, false},
    {Qt::Key_At, 0x1E, false},
    {Qt::Key_3, 0x26, false},
    {Qt::Key_NumberSign, 0x26, false},
    {Qt::Key_4, 0x25, false},
    {Qt::Key_Dollar, 0x25, false},
    {Qt::Key_5, 0x2E, false},
    {Qt::Key_Percent, 0x2E, false},
    {Qt::Key_6, 0x36, false},
    {Qt::Key_AsciiCircum, 0x36, false},
    {Qt::Key_7, 0x3D, false},
    {Qt::Key_Ampersand, 0x3D, false},
    {Qt::Key_8, 0x3E, false},
    {Qt::Key_Asterisk, 0x3E, false},
    {Qt::Key_9, 0x46, false},
    {Qt::Key_ParenLeft, 0x46, false},
    {Qt::Key_0, 0x45, false},
    {Qt::Key_ParenRight, 0x45, false},
    {Qt::Key_QuoteLeft, 0x0E, false},
    {Qt::Key_AsciiTilde, 0x0E, false},
    {Qt::Key_Minus, 0x4E, false},
    {Qt::Key_Underscore, 0x4E, false},
    {Qt::Key_Equal, 0x55, false},
    {Qt::Key_Plus, 0x55, false},
    // Punctuation.
    {Qt::Key_BracketLeft, 0x54, false},
    {Qt::Key_BraceLeft, 0x54, false},
    {Qt::Key_BracketRight, 0x5B, false},
    {Qt::Key_BraceRight, 0x5B, false},
    {Qt::Key_Backslash, 0x5D, false},
    {Qt::Key_Bar, 0x5D, false},
    {Qt::Key_Semicolon, 0x4C, false},
    {Qt::Key_Colon, 0x4C, false},
    {Qt::Key_Apostrophe, 0x52, false},
    {Qt::Key_QuoteDbl, 0x52, false},
    {Qt::Key_Comma, 0x41, false},
    {Qt::Key_Less, 0x41, false},
    {Qt::Key_Period, 0x49, false},
    {Qt::Key_Greater, 0x49, false},
    {Qt::Key_Slash, 0x4A, false},
    {Qt::Key_Question, 0x4A, false},
    // Whitespace and control keys. Shift+Tab arrives as Key_Backtab.
    {Qt::Key_Escape, 0x76, false},
    {Qt::Key_Tab, 0x0D, false},
    {Qt::Key_Backtab, 0x0D, false},
    {Qt::Key_CapsLock, 0x58, false},
    {Qt::Key_Backspace, 0x66, false},
    {Qt::Key_Return, 0x5A, false},
    {Qt::Key_Enter, 0x5A, false},
    {Qt::Key_Space, 0x29, false},
    // Function keys.
    {Qt::Key_F1, 0x05, false},
    {Qt::Key_F2, 0x06, false},
    {Qt::Key_F3, 0x04, false},
    {Qt::Key_F4, 0x0C, false},
    {Qt::Key_F5, 0x03, false},
    {Qt::Key_F6, 0x0B, false},
    {Qt::Key_F7, 0x83, false},
    {Qt::Key_F8, 0x0A, false},
    {Qt::Key_F9, 0x01, false},
    {Qt::Key_F10, 0x09, false},
    {Qt::Key_F11, 0x78, false},
    {Qt::Key_F12, 0x07, false},
    {Qt::Key_ScrollLock, 0x7E, false},
    {Qt::Key_NumLock, 0x77, false},
    // The modifier keys' left-hand codes (the right-hand ones come from the native scan code).
    {Qt::Key_Shift, 0x12, false},
    {Qt::Key_Control, 0x14, false},
    {Qt::Key_Alt, 0x11, false},
    {Qt::Key_AltGr, 0x11, true},
    {Qt::Key_Meta, 0x1F, true},
    {Qt::Key_Super_L, 0x1F, true},
    {Qt::Key_Super_R, 0x27, true},
    {Qt::Key_Menu, 0x2F, true},
    // The editing and cursor blocks: E0 and the code of the keypad key they duplicate.
    {Qt::Key_Insert, 0x70, true},
    {Qt::Key_Delete, 0x71, true},
    {Qt::Key_Home, 0x6C, true},
    {Qt::Key_End, 0x69, true},
    {Qt::Key_PageUp, 0x7D, true},
    {Qt::Key_PageDown, 0x7A, true},
    {Qt::Key_Up, 0x75, true},
    {Qt::Key_Down, 0x72, true},
    {Qt::Key_Left, 0x6B, true},
    {Qt::Key_Right, 0x74, true},
};

// The keypad (Qt::KeypadModifier set): the digits with Num Lock on, their second functions
// (Home, Up, ...) with it off, which are the same keys and codes.
constexpr Entry kKeypadKeys[] = {
    {Qt::Key_0, 0x70, false},        {Qt::Key_Insert, 0x70, false},   {Qt::Key_1, 0x69, false},
    {Qt::Key_End, 0x69, false},      {Qt::Key_2, 0x72, false},        {Qt::Key_Down, 0x72, false},
    {Qt::Key_3, 0x7A, false},        {Qt::Key_PageDown, 0x7A, false}, {Qt::Key_4, 0x6B, false},
    {Qt::Key_Left, 0x6B, false},     {Qt::Key_5, 0x73, false},        {Qt::Key_Clear, 0x73, false},
    {Qt::Key_6, 0x74, false},        {Qt::Key_Right, 0x74, false},    {Qt::Key_7, 0x6C, false},
    {Qt::Key_Home, 0x6C, false},     {Qt::Key_8, 0x75, false},        {Qt::Key_Up, 0x75, false},
    {Qt::Key_9, 0x7D, false},        {Qt::Key_PageUp, 0x7D, false},   {Qt::Key_Period, 0x71, false},
    {Qt::Key_Delete, 0x71, false},   {Qt::Key_Comma, 0x71, false}, // the decimal key of layouts
                                                                   // with a decimal comma
    {Qt::Key_Asterisk, 0x7C, false}, {Qt::Key_Minus, 0x7B, false},    {Qt::Key_Plus, 0x79, false},
    {Qt::Key_Slash, 0x4A, true},     {Qt::Key_Enter, 0x5A, true},     {Qt::Key_Return, 0x5A, true},
    {Qt::Key_NumLock, 0x77, false},
};

template <size_t N> std::optional<PcKey> find(const Entry (&table)[N], int qtKey) {
    for (const Entry& entry : table)
        if (entry.qtKey == qtKey)
            return PcKey{entry.code, entry.extended};
    return std::nullopt;
}

void appendCode(QByteArray& out, PcKey key, bool release) {
    if (key.extended)
        out.append(char(kExtendedPrefix));
    if (release)
        out.append(char(kBreakPrefix));
    out.append(char(key.code));
}

} // namespace

std::optional<PcKey> ScancodeMap::keyFor(int qtKey, Qt::KeyboardModifiers modifiers,
                                         quint32 nativeScanCode) {
    // Keys that are told apart by where they are, not by what they type.
    switch (nativeScanCode) {
    case kXkbRightCtrl:
        return PcKey{0x14, true};
    case kXkbRightShift:
        return PcKey{0x59, false};
    case kXkbRightAlt:
        return PcKey{0x11, true};
    case kXkbRightMeta:
        return PcKey{0x27, true};
    case kXkbKeypadEnter:
        return PcKey{0x5A, true};
    default:
        break;
    }
    switch (qtKey) {
    case Qt::Key_Print:
    case Qt::Key_SysReq:
        return PcKey{0, false, PcKey::Kind::PrintScreen};
    case Qt::Key_Pause:
        return PcKey{0, false, PcKey::Kind::Pause};
    default:
        break;
    }
    if (modifiers & Qt::KeypadModifier)
        if (const auto key = find(kKeypadKeys, qtKey))
            return key;
    return find(kMainKeys, qtKey);
}

std::optional<PcKey> ScancodeMap::keyFor(const QKeyEvent& event) {
    return keyFor(event.key(), event.modifiers(), event.nativeScanCode());
}

QByteArray ScancodeMap::makeSequence(PcKey key) {
    QByteArray out;
    switch (key.kind) {
    case PcKey::Kind::PrintScreen:
        return QByteArray::fromHex("e012e07c");
    case PcKey::Kind::Pause:
        return QByteArray::fromHex("e11477e1f014f077");
    case PcKey::Kind::Code:
        appendCode(out, key, false);
        break;
    }
    return out;
}

QByteArray ScancodeMap::breakSequence(PcKey key) {
    QByteArray out;
    switch (key.kind) {
    case PcKey::Kind::PrintScreen:
        return QByteArray::fromHex("e0f07ce0f012");
    case PcKey::Kind::Pause:
        return {}; // Pause has no break code: its make sequence holds both halves
    case PcKey::Kind::Code:
        appendCode(out, key, true);
        break;
    }
    return out;
}

QByteArray ScancodeMap::ctrlAltDelete() {
    using namespace pckeys;
    return makeSequence(kLeftCtrl) + makeSequence(kLeftAlt) + makeSequence(kDelete) +
           breakSequence(kDelete) + breakSequence(kLeftAlt) + breakSequence(kLeftCtrl);
}

} // namespace kvmscope::ui
