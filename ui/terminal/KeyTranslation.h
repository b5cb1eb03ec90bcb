#pragma once

#include <Qt>
#include <optional>
#include <vterm_keycodes.h>

namespace kvmscope::ui {

// Qt keyboard modifiers as libvterm's (Shift, Alt, Ctrl; Meta and Keypad are not terminal
// modifiers).
VTermModifier toVTermModifiers(Qt::KeyboardModifiers modifiers);

// The libvterm key for a Qt key that is not plain text: cursor and editing keys, F1..F12,
// Enter/Tab/Backspace/Escape, and keypad keys (when `modifiers` has KeypadModifier, so
// libvterm can honour application keypad mode). std::nullopt for everything else.
std::optional<VTermKey> toVTermKey(int qtKey, Qt::KeyboardModifiers modifiers);

// Ctrl+<key> combinations that a Linux tty expects as one C0 control byte but libvterm would
// encode as "CSI <code>;5u" (fixterms), which getty, bash on a serial line or a bootloader do
// not understand: Ctrl+@/Space/2 (NUL), Ctrl+I (TAB), Ctrl+J (LF), Ctrl+M (CR), Ctrl+[ (ESC).
std::optional<char> legacyControlByte(int qtKey);

} // namespace kvmscope::ui
