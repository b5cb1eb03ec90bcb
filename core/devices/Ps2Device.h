#pragma once
// The two ends of a PS/2 link: what a keyboard or mouse sees of the controller it is plugged into
// (Ps2Port), and what the controller sees of the device (Ps2Device). On the wire each direction
// carries one byte at a time, clocked by the device, and the controller may hold the clock low to
// keep the device from sending (IBM "Personal System/2 Hardware Interface Technical Reference",
// "Keyboard/Auxiliary Device Controller" and the keyboard and auxiliary device chapters).
// kvmscope models the link as these calls, without the clock or the parity bit: the device sees
// no controller, and the controller no keyboard or mouse, beyond them.
//
// Locking: a device has no lock of its own. Its controller calls it, and it calls its port, with
// the controller's lock held (devices/I8042Controller.h).
#include "devices/DeviceState.h"

#include <cstdint>
#include <initializer_list>
#include <span>

namespace kvmscope {

namespace ps2 {
// Replies a keyboard and a mouse both send (the technical reference's keyboard and auxiliary
// device command tables).
inline constexpr uint8_t kAck = 0xfa;            // the command or argument was taken
inline constexpr uint8_t kResend = 0xfe;         // not understood: the host should send it again
inline constexpr uint8_t kSelfTestPassed = 0xaa; // basic assurance test (BAT) completed
} // namespace ps2

// The controller's end of the link, as the device behind it sees it.
class Ps2Port {
public:
    virtual ~Ps2Port() = default;

    // Bytes for the guest, in order. They wait until the controller has room in its output buffer
    // and the guest has not disabled the port (a held clock keeps them in the device). The port
    // bounds how many may wait; a byte beyond that is dropped and counted.
    virtual void send(std::span<const uint8_t> bytes) = 0;
    void send(std::initializer_list<uint8_t> bytes) {
        send(std::span<const uint8_t>(bytes.begin(), bytes.size()));
    }
    // All of `packet`, or, when it does not all fit, none of it (dropped and counted): a driver
    // finds a packet's first byte by counting, so a packet cut short would shift every later one.
    virtual void sendPacket(std::span<const uint8_t> packet) = 0;
    // The device emptied its buffer (a reset): every byte it sent that has not yet reached the
    // controller's output buffer is gone.
    virtual void discardUnsent() = 0;
};

// A PS/2 device as the controller sees it.
class Ps2Device {
public:
    virtual ~Ps2Device() = default;

    // A byte the guest wrote for the device: the argument of the command before when one waits
    // for it (awaitArgument), else a command.
    void receive(uint8_t byte) {
        if (pendingCommand_ == 0)
            return command(byte);
        const uint8_t pending = pendingCommand_;
        pendingCommand_ = 0;
        argument(pending, byte);
    }
    // Declares the device's state (devices/DeviceState.h) in the group the controller has opened
    // for it: the device's fields belong to the controller's attributes and saved state.
    virtual void describeState(StateVisitor& state) = 0;

protected:
    virtual void command(uint8_t command) = 0;
    virtual void argument(uint8_t command, uint8_t value) = 0;
    // The next byte the guest writes is `command`'s argument, not a command.
    void awaitArgument(uint8_t command) { pendingCommand_ = command; }

    uint8_t pendingCommand_ = 0; // a command waiting for its argument byte (0: none); saved state
};

} // namespace kvmscope
