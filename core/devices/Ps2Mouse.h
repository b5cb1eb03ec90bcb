#pragma once
// The PS/2 mouse behind the 8042's second (auxiliary) port: a plain two- or three-button mouse,
// device ID 0, in stream mode (IBM "Personal System/2 Hardware Interface Technical Reference",
// pointing device chapter: its commands and its 3-byte data report; the command set as OSDev's
// "PS/2 Mouse" page lists it).
//
// It has no wheel: the IntelliMouse sequence (sample rates 200, 100, 80, then ID) still reports
// ID 0, so a driver keeps to 3-byte packets. Remote mode (0xf0, 0xeb) is not offered. The host
// reports each movement as it happens, so the sample rate, resolution and scaling are stored and
// reported back (0xe9) but change nothing. Its bytes go out through its Ps2Port
// (devices/Ps2Device.h).
//
// Locking: none of its own; the controller calls it with its lock held.
#include "devices/Ps2Device.h"

#include <cstdint>

namespace kvmscope {

class Ps2Mouse final : public Ps2Device {
public:
    // Buttons as movement() takes them, and as a data report's first byte holds them.
    static constexpr uint8_t kLeftButton = 0x01;
    static constexpr uint8_t kRightButton = 0x02;
    static constexpr uint8_t kMiddleButton = 0x04;
    static constexpr uint8_t kDefaultSampleRate = 100; // reports per second
    static constexpr uint8_t kDefaultResolution = 2;   // 4 counts/mm

    // `port` is the controller's end of the link and must outlive the mouse.
    explicit Ps2Mouse(Ps2Port& port) : port_(port) {}

    // One movement report: dx to the right, dy upwards (the PS/2 convention), clamped to
    // -256..255 with the overflow bits set; `buttons` as kLeftButton, kRightButton,
    // kMiddleButton. The buttons are recorded always (a status request reports them); the
    // 3-byte packet is sent only while the guest has enabled data reporting (0xf4).
    void movement(int dx, int dy, uint8_t buttons);

    // Ps2Device
    void describeState(StateVisitor& state) override;

    // What the guest has set (the controller's attributes show it too).
    bool reporting() const { return reporting_; }
    uint8_t sampleRate() const { return sampleRate_; }
    uint8_t resolution() const { return resolution_; }
    bool scaling21() const { return scaling21_; }

private:
    void command(uint8_t command) override;
    void argument(uint8_t command, uint8_t value) override;
    void setDefaults();

    Ps2Port& port_;
    bool reporting_ = false;                  // stream mode data reporting (0xf4 / 0xf5)
    uint8_t sampleRate_ = kDefaultSampleRate; // 0xf3's argument
    uint8_t resolution_ = kDefaultResolution; // 0-3: 1, 2, 4, 8 counts/mm (0xe8)
    bool scaling21_ = false;                  // 2:1 scaling (0xe7) rather than 1:1 (0xe6)
    uint8_t buttons_ = 0;                     // the buttons held at the last report
};

} // namespace kvmscope
