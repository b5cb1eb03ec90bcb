#include "devices/ScancodeTranslation.h"

#include <iterator>

namespace kvmscope::scancodes {
namespace {

// Entry N is the set-1 code for set-2 code N, written from the published key-by-key
// correspondence of the two sets (each key's set-2 make code and set-1 make code); codes no key
// sends map as the hardware's table does.
constexpr uint8_t kSetTwoToSetOne[128] = {
    // 0x00 overrun, F9, -, F5, F3, F1, F2, F12
    0xff,
    0x43,
    0x41,
    0x3f,
    0x3d,
    0x3b,
    0x3c,
    0x58,
    // 0x08 F13, F10, F8, F6, F4, Tab, `, keypad =
    0x64,
    0x44,
    0x42,
    0x40,
    0x3e,
    0x0f,
    0x29,
    0x59,
    // 0x10 F14, left Alt, left Shift, Katakana, left Ctrl, Q, 1, -
    0x65,
    0x38,
    0x2a,
    0x70,
    0x1d,
    0x10,
    0x02,
    0x5a,
    // 0x18 F15, -, Z, S, A, W, 2, -
    0x66,
    0x71,
    0x2c,
    0x1f,
    0x1e,
    0x11,
    0x03,
    0x5b,
    // 0x20 F16, C, X, D, E, 4, 3, -
    0x67,
    0x2e,
    0x2d,
    0x20,
    0x12,
    0x05,
    0x04,
    0x5c,
    // 0x28 F17, Space, V, F, T, R, 5, -
    0x68,
    0x39,
    0x2f,
    0x21,
    0x14,
    0x13,
    0x06,
    0x5d,
    // 0x30 F18, N, B, H, G, Y, 6, -
    0x69,
    0x31,
    0x30,
    0x23,
    0x22,
    0x15,
    0x07,
    0x5e,
    // 0x38 F19, -, M, J, U, 7, 8, -
    0x6a,
    0x72,
    0x32,
    0x24,
    0x16,
    0x08,
    0x09,
    0x5f,
    // 0x40 F20, comma, K, I, O, 0, 9, -
    0x6b,
    0x33,
    0x25,
    0x17,
    0x18,
    0x0b,
    0x0a,
    0x60,
    // 0x48 F21, period, slash, L, semicolon, P, minus, -
    0x6c,
    0x34,
    0x35,
    0x26,
    0x27,
    0x19,
    0x0c,
    0x61,
    // 0x50 F22, Ro, apostrophe, -, [, =, -, F23
    0x6d,
    0x73,
    0x28,
    0x74,
    0x1a,
    0x0d,
    0x62,
    0x6e,
    // 0x58 Caps Lock, right Shift, Enter, ], -, backslash, -, -
    0x3a,
    0x36,
    0x1c,
    0x1b,
    0x75,
    0x2b,
    0x63,
    0x76,
    // 0x60 -, 102nd key, -, -, Henkan, -, Backspace, Muhenkan
    0x55,
    0x56,
    0x77,
    0x78,
    0x79,
    0x7a,
    0x0e,
    0x7b,
    // 0x68 -, keypad 1, Yen, keypad 4, keypad 7, -, -, -
    0x7c,
    0x4f,
    0x7d,
    0x4b,
    0x47,
    0x7e,
    0x7f,
    0x6f,
    // 0x70 keypad 0, keypad ., keypad 2, keypad 5, keypad 6, keypad 8, Esc, Num Lock
    0x52,
    0x53,
    0x50,
    0x4c,
    0x4d,
    0x48,
    0x01,
    0x45,
    // 0x78 F11, keypad +, keypad 3, keypad -, keypad *, keypad 9, Scroll Lock, -
    0x57,
    0x4e,
    0x51,
    0x4a,
    0x37,
    0x49,
    0x46,
    0x54,
};
constexpr uint8_t kSetTwoF7 = 0x83;
constexpr uint8_t kSetTwoSysRq = 0x84;

} // namespace

uint8_t translate(uint8_t code) {
    if (code < std::size(kSetTwoToSetOne))
        return kSetTwoToSetOne[code];
    if (code == kSetTwoF7)
        return 0x41;
    if (code == kSetTwoSysRq)
        return 0x54;
    return code;
}

std::vector<uint8_t> setTwoToSetOne(std::span<const uint8_t> codes) {
    std::vector<uint8_t> out;
    bool breakPending = false;
    for (uint8_t code : codes) {
        if (code == kSetTwoBreakPrefix) {
            breakPending = true;
            continue;
        }
        out.push_back(static_cast<uint8_t>(translate(code) | (breakPending ? 0x80 : 0)));
        breakPending = false;
    }
    return out;
}

} // namespace kvmscope::scancodes
