#pragma once
// Qt key events as a PS/2 keyboard would send them: scan code set 2 make and break sequences for
// every key of a US 104-key PC keyboard (Microsoft, "Keyboard Scan Code Specification", rev. 1.3a,
// appendix C "USB Keyboard/Keypad Page (0x07)" columns "Set 2 Make/Break"; IBM, "Personal System/2
// Hardware Interface Technical Reference", keyboard chapter, "Scan Code Set 2"). The i8042
// (core/devices/I8042Controller.h) translates them to set 1, as PC firmware leaves it.
//
// A key is one set-2 code, with an E0 prefix for the keys the 101-key keyboard added (right Ctrl
// and Alt, the Windows and Menu keys, the editing and cursor blocks, keypad / and Enter). Make:
// [E0] code. Break: [E0] F0 code. Two keys send fixed sequences instead: Print Screen
// (E0 12 E0 7C / E0 F0 7C E0 F0 12) and Pause (E1 14 77 E1 F0 14 F0 77 on press, nothing on
// release). The fake shifts a real keyboard wraps around an extended key while Shift or Num Lock
// is down are left out: guests ignore them (Linux's atkbd drops E0 12 / E0 59).
//
// Qt names the character a key produced, not the key: Shift+1 arrives as Key_Exclam and is mapped
// back to the 1 key, keypad keys carry Qt::KeypadModifier. Qt does not tell the left from the
// right Shift, Ctrl, Alt and Windows key; the native scan code does: on xcb and Wayland it is the
// XKB keycode (the evdev code + 8, linux/input-event-codes.h). Without one (offscreen, tests) the
// left key is meant.
#include <QByteArray>
#include <Qt>
#include <cstdint>
#include <optional>
#include <tuple>

class QKeyEvent;

namespace kvmscope::ui {

struct PcKey {
    enum class Kind : uint8_t { Code, PrintScreen, Pause };
    uint8_t code = 0;      // the set-2 code (Kind::Code)
    bool extended = false; // preceded by E0
    Kind kind = Kind::Code;
    bool operator==(const PcKey&) const = default;
    bool operator<(const PcKey& other) const {
        return std::tie(kind, extended, code) < std::tie(other.kind, other.extended, other.code);
    }
};

namespace pckeys {
// The keys kvmscope sends by itself (Ctrl-Alt-Del).
inline constexpr PcKey kLeftCtrl{0x14, false};
inline constexpr PcKey kLeftAlt{0x11, false};
inline constexpr PcKey kDelete{0x71, true};
} // namespace pckeys

class ScancodeMap {
public:
    // The PC key for a Qt key; `nativeScanCode` (an XKB keycode, or 0) picks the right-hand
    // modifier keys. nullopt for keys a US 104-key keyboard does not have.
    static std::optional<PcKey> keyFor(int qtKey, Qt::KeyboardModifiers modifiers,
                                       quint32 nativeScanCode = 0);
    static std::optional<PcKey> keyFor(const QKeyEvent& event);

    // What the keyboard sends when the key goes down (again on each typematic repeat) and up.
    static QByteArray makeSequence(PcKey key);
    static QByteArray breakSequence(PcKey key);

    // Ctrl, Alt and Delete down, then up in reverse order.
    static QByteArray ctrlAltDelete();
};

} // namespace kvmscope::ui
