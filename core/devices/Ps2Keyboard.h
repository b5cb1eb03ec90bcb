#pragma once
// The PS/2 keyboard behind the 8042's first port: an MF2 (101/102-key) keyboard that answers the
// guest's commands and sends the host's key presses (IBM "Personal System/2 Hardware Interface
// Technical Reference", "Keyboards (101- and 102-Key)": "Commands from the System" and
// "Commands to the System"; the command set as OSDev's "PS/2 Keyboard" page lists it).
//
// The keyboard holds scan code set 2, as it does after power-on; a guest may switch it to set 1
// (0xf0), and then it converts the host's set 2 bytes itself (devices/ScancodeTranslation.h).
// Set 3 is not offered. Its bytes go out through its Ps2Port, which keeps them until the guest
// takes them (devices/Ps2Device.h). It keeps no clock: typematic repeat is the host's, which
// sends a held key's make code again, so the typematic byte is only stored.
//
// Locking: none of its own; the controller calls it with its lock held.
#include "devices/Ps2Device.h"

#include <cstdint>
#include <span>

namespace kvmscope {

class Ps2Keyboard final : public Ps2Device {
public:
    // The power-on typematic byte: 10.9 characters/s after a 500 ms delay.
    static constexpr uint8_t kDefaultTypematic = 0x2b;

    // `port` is the controller's end of the link and must outlive the keyboard.
    explicit Ps2Keyboard(Ps2Port& port) : port_(port) {}

    // Host input: scan code set 2 bytes as a PS/2 keyboard sends them (make codes, F0 break
    // prefixes, E0/E1 prefixes). Dropped while the guest has disabled scanning (0xf5); converted
    // to set 1 first if the guest selected it.
    void keyInput(std::span<const uint8_t> setTwoScancodes);

    // Ps2Device
    void describeState(StateVisitor& state) override;

    // What the guest has set (the controller's attributes show it too).
    bool scanning() const { return scanning_; }
    uint8_t scancodeSet() const { return scancodeSet_; }
    uint8_t leds() const { return leds_; }
    uint8_t typematic() const { return typematic_; }

private:
    void command(uint8_t command) override;
    void argument(uint8_t command, uint8_t value) override;
    void setDefaults();

    Ps2Port& port_;
    bool scanning_ = true;                  // keys are sent (0xf4 enables, 0xf5 disables)
    uint8_t scancodeSet_ = 2;               // the set keys are sent in: 1 or 2
    uint8_t leds_ = 0;                      // 0 Scroll Lock, 1 Num Lock, 2 Caps Lock
    uint8_t typematic_ = kDefaultTypematic; // 0-4 repeat rate, 5-6 delay (0xf3)
};

} // namespace kvmscope
