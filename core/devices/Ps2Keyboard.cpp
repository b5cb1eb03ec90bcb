#include "devices/Ps2Keyboard.h"

#include "devices/ScancodeTranslation.h"

namespace kvmscope {
namespace {

// Commands from the system (IBM PS/2 Hardware Interface Technical Reference, "Keyboards (101-
// and 102-Key)", "Commands from the System"; OSDev "PS/2 Keyboard", "Commands").
constexpr uint8_t kSetLeds = 0xed;     // then the LED byte
constexpr uint8_t kEcho = 0xee;        // answered with 0xee, not an acknowledgement
constexpr uint8_t kScancodeSet = 0xf0; // then 0 (report the set), 1, 2 or 3
constexpr uint8_t kIdentify = 0xf2;
constexpr uint8_t kTypematic = 0xf3; // then the rate/delay byte
constexpr uint8_t kEnable = 0xf4;
constexpr uint8_t kDisable = 0xf5;  // restores the defaults and stops scanning
constexpr uint8_t kDefaults = 0xf6; // restores the defaults and scans
constexpr uint8_t kReset = 0xff;    // acknowledged, then the basic assurance test's result

constexpr uint8_t kEchoReply = 0xee;
constexpr uint8_t kKeyboardId[] = {0xab, 0x83}; // MF2 keyboard

constexpr uint8_t kLedBits = 0x07;       // bits 3-7 of the LED byte are reserved
constexpr uint8_t kTypematicBits = 0x7f; // bit 7 of the typematic byte is reserved
constexpr uint8_t kReportScancodeSet = 0;

} // namespace

void Ps2Keyboard::keyInput(std::span<const uint8_t> setTwoScancodes) {
    if (!scanning_)
        return;
    if (scancodeSet_ == 1)
        port_.send(scancodes::setTwoToSetOne(setTwoScancodes));
    else
        port_.send(setTwoScancodes);
}

void Ps2Keyboard::command(uint8_t command) {
    switch (command) {
    case kSetLeds:
    case kScancodeSet:
    case kTypematic:
        awaitArgument(command);
        port_.send({ps2::kAck});
        break;
    case kEcho:
        port_.send({kEchoReply});
        break;
    case kIdentify:
        port_.send({ps2::kAck, kKeyboardId[0], kKeyboardId[1]});
        break;
    // Enable, Default Disable and Set Default each clear the keyboard's output buffer first; the
    // first and the last leave it scanning, the second stopped (IBM PS/2 Technical Reference,
    // "Enable (Hex F4)", "Default Disable (Hex F5)", "Set Default (Hex F6)").
    case kEnable:
        port_.discardUnsent();
        scanning_ = true;
        port_.send({ps2::kAck});
        break;
    case kDisable:
    case kDefaults:
        port_.discardUnsent();
        setDefaults();
        scanning_ = command == kDefaults;
        port_.send({ps2::kAck});
        break;
    case kReset:
        port_.discardUnsent(); // the keyboard empties its buffer before the test
        setDefaults();
        leds_ = 0;
        scanning_ = true;
        port_.send({ps2::kAck, ps2::kSelfTestPassed});
        break;
    default:
        port_.send({ps2::kResend});
        break;
    }
}

void Ps2Keyboard::argument(uint8_t command, uint8_t value) {
    switch (command) {
    case kSetLeds:
        leds_ = value & kLedBits;
        port_.send({ps2::kAck});
        break;
    case kScancodeSet:
        if (value == kReportScancodeSet) {
            port_.send({ps2::kAck, scancodeSet_});
        } else if (value == 1 || value == 2) {
            scancodeSet_ = value;
            port_.send({ps2::kAck});
        } else {
            port_.send({ps2::kResend}); // set 3 is not offered
        }
        break;
    default: // kTypematic
        typematic_ = value & kTypematicBits;
        port_.send({ps2::kAck});
        break;
    }
}

// What 0xf5, 0xf6 and a reset restore; the LEDs and scanning are each command's own business.
void Ps2Keyboard::setDefaults() {
    scancodeSet_ = 2;
    typematic_ = kDefaultTypematic;
}

void Ps2Keyboard::describeState(StateVisitor& state) {
    state.field("scanning enabled", scanning_, AttrAccess::Read, "0xf4 enables, 0xf5 disables");
    state.field("scancode set", scancodeSet_, AttrAccess::Read,
                "the set the keyboard sends (1 or 2)");
    state.field("LEDs", leds_, AttrAccess::Read, "0 Scroll Lock, 1 Num Lock, 2 Caps Lock");
    state.hidden("pending command", pendingCommand_);
    state.hidden("typematic", typematic_);
}

} // namespace kvmscope
