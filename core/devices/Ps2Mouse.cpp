#include "devices/Ps2Mouse.h"

#include <algorithm>

namespace kvmscope {
namespace {

// Commands from the system (IBM PS/2 Hardware Interface Technical Reference, pointing device
// commands; OSDev "PS/2 Mouse", "Mouse Device Over PS/2").
constexpr uint8_t kSetScaling11 = 0xe6;
constexpr uint8_t kSetScaling21 = 0xe7;
constexpr uint8_t kSetResolution = 0xe8; // then 0-3
constexpr uint8_t kStatusRequest = 0xe9; // answered with 3 bytes: status, resolution, rate
constexpr uint8_t kStreamMode = 0xea;
constexpr uint8_t kGetId = 0xf2;
constexpr uint8_t kSampleRate = 0xf3; // then the reports per second
constexpr uint8_t kEnable = 0xf4;
constexpr uint8_t kDisable = 0xf5;
constexpr uint8_t kDefaults = 0xf6;
constexpr uint8_t kReset = 0xff; // acknowledged, then the test's result and the ID

constexpr uint8_t kMouseId = 0x00; // standard PS/2 mouse, no wheel
constexpr uint8_t kResolutionBits = 0x03;

// Status request, first byte.
constexpr uint8_t kStatusRight = 0x01;
constexpr uint8_t kStatusMiddle = 0x02;
constexpr uint8_t kStatusLeft = 0x04;
constexpr uint8_t kStatusScaling21 = 0x10;
constexpr uint8_t kStatusReporting = 0x20;
// bit 6, remote mode, is never set: stream mode is the only mode

// Data report (movement packet), first byte; the buttons take bits 0-2 as kLeftButton etc.
constexpr uint8_t kPacketAlwaysOne = 0x08;
constexpr uint8_t kPacketXSign = 0x10;
constexpr uint8_t kPacketYSign = 0x20;
constexpr uint8_t kPacketXOverflow = 0x40;
constexpr uint8_t kPacketYOverflow = 0x80;
constexpr uint8_t kButtonBits =
    Ps2Mouse::kLeftButton | Ps2Mouse::kRightButton | Ps2Mouse::kMiddleButton;
// A movement is 9-bit two's complement: the sign in byte 0, the low 8 bits in bytes 1 and 2.
constexpr int kMovementMin = -256;
constexpr int kMovementMax = 255;

} // namespace

void Ps2Mouse::movement(int dx, int dy, uint8_t buttons) {
    buttons_ = buttons & kButtonBits;
    if (!reporting_)
        return;
    // Beyond 9 bits the mouse's counter overflowed: the report says so and carries the limit.
    uint8_t head = static_cast<uint8_t>(kPacketAlwaysOne | buttons_);
    if (dx < kMovementMin || dx > kMovementMax)
        head |= kPacketXOverflow;
    if (dy < kMovementMin || dy > kMovementMax)
        head |= kPacketYOverflow;
    dx = std::clamp(dx, kMovementMin, kMovementMax);
    dy = std::clamp(dy, kMovementMin, kMovementMax);
    if (dx < 0)
        head |= kPacketXSign;
    if (dy < 0)
        head |= kPacketYSign;
    const uint8_t packet[] = {head, static_cast<uint8_t>(dx & 0xff),
                              static_cast<uint8_t>(dy & 0xff)};
    port_.sendPacket(packet);
}

void Ps2Mouse::command(uint8_t command) {
    switch (command) {
    case kSampleRate:
    case kSetResolution:
        awaitArgument(command);
        port_.send({ps2::kAck});
        break;
    case kSetScaling11:
    case kSetScaling21:
        scaling21_ = command == kSetScaling21;
        port_.send({ps2::kAck});
        break;
    case kStatusRequest: {
        // The status byte orders the buttons right, middle, left: not as a data report does.
        uint8_t status = 0;
        if (buttons_ & kRightButton)
            status |= kStatusRight;
        if (buttons_ & kMiddleButton)
            status |= kStatusMiddle;
        if (buttons_ & kLeftButton)
            status |= kStatusLeft;
        if (scaling21_)
            status |= kStatusScaling21;
        if (reporting_)
            status |= kStatusReporting;
        port_.send({ps2::kAck, status, resolution_, sampleRate_});
        break;
    }
    case kStreamMode: // the only mode there is
        port_.send({ps2::kAck});
        break;
    case kGetId:
        port_.send({ps2::kAck, kMouseId});
        break;
    case kEnable:
        reporting_ = true;
        port_.send({ps2::kAck});
        break;
    case kDisable:
        reporting_ = false;
        port_.send({ps2::kAck});
        break;
    case kDefaults:
        setDefaults();
        port_.send({ps2::kAck});
        break;
    case kReset:
        port_.discardUnsent(); // the mouse empties its buffer before the test
        setDefaults();
        port_.send({ps2::kAck, ps2::kSelfTestPassed, kMouseId});
        break;
    default:
        port_.send({ps2::kResend});
        break;
    }
}

void Ps2Mouse::argument(uint8_t command, uint8_t value) {
    if (command == kSampleRate)
        sampleRate_ = value;
    else // kSetResolution
        resolution_ = value & kResolutionBits;
    port_.send({ps2::kAck});
}

// What 0xf6 and a reset restore: reporting off, 100 reports/s, 4 counts/mm, 1:1 scaling.
void Ps2Mouse::setDefaults() {
    reporting_ = false;
    sampleRate_ = kDefaultSampleRate;
    resolution_ = kDefaultResolution;
    scaling21_ = false;
}

void Ps2Mouse::describeState(StateVisitor& state) {
    state.field("enabled", reporting_, AttrAccess::Read,
                "data reporting (0xf4 enables, 0xf5 disables)");
    state.field("sample rate", sampleRate_, AttrAccess::Read, "reports per second, set by 0xf3");
    state.field("resolution", resolution_, AttrAccess::Read,
                "0-3: 1, 2, 4, 8 counts/mm, set by 0xe8");
    state.hidden("pending command", pendingCommand_);
    state.hidden("2:1 scaling", scaling21_);
    state.hidden("buttons", buttons_);
}

} // namespace kvmscope
