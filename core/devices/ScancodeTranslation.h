#pragma once
// Scan code set 2 to set 1: the translation an 8042 keyboard controller applies to what the
// keyboard sends while its command byte's translate bit is set, and what a keyboard switched to
// set 1 sends itself (IBM PS/2 Hardware Interface Technical Reference, "Keyboard/Auxiliary Device
// Controller", scan code translation; the key-by-key tables of scan code sets 1 and 2).
#include <cstdint>
#include <span>
#include <vector>

namespace kvmscope::scancodes {

// Set 2's break prefix: F0 N releases the key whose make code is N.
inline constexpr uint8_t kSetTwoBreakPrefix = 0xf0;

// The controller's translation of one byte: codes 0x00-0x7f and the two keys whose set-2 code has
// bit 7 set (0x83 F7, 0x84 Alt+SysRq) become their set-1 make codes; every other byte (prefixes
// E0/E1, replies FA/AA/EE/FE) passes unchanged. A set-2 break (F0 N) is translate(N) | 0x80, which
// the caller composes, since the F0 itself is swallowed.
uint8_t translate(uint8_t setTwoCode);

// A whole set-2 sequence as a keyboard in set 1 sends it: each code translated, F0 folded into
// the next code's bit 7.
std::vector<uint8_t> setTwoToSetOne(std::span<const uint8_t> setTwoCodes);

} // namespace kvmscope::scancodes
