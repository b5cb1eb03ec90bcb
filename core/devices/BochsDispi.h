#pragma once
// Ports 0x1CE-0x1CF: the Bochs VBE "dispi" (display interface) of Bochs' and QEMU's standard VGA,
// the way a bare-metal guest sets a graphics mode without a video BIOS: write a register number
// to the index port 0x1CE, then read or write the 16-bit register at the data port 0x1CF (Bochs
// iodev/display/vga.h names the registers VBE_DISPI_INDEX_*; the OSDev wiki's "Bochs VBE
// Extensions" describes the sequence: disable, set XRES/YRES/BPP, enable with LFB_ENABLED).
//
// What kvmscope implements and how it departs from Bochs:
// * the linear framebuffer only (Framebuffer.h, where the VGA function's BAR0 is). BANK is
//   stored, but no 64 KiB window is mapped at 0xA0000: that range is guest RAM in kvmscope,
//   which has no banked window.
// * direct-colour depths 15, 16, 24 and 32. BPP writes of 4 or 8 (0 means 8 in Bochs) are refused
//   and counted: those modes need a palette, which kvmscope does not emulate. 8BIT_DAC is kept
//   and has no effect for the same reason.
// * an ENABLE write whose mode does not fit the video memory leaves the display off and is
//   counted (Bochs would enable it and overrun its memory).
// * like Bochs, XRES, YRES and BPP cannot change while the mode is enabled (the write is ignored
//   and counted), VIRT_HEIGHT is computed and never written, and enabling resets the virtual
//   width to XRES and both offsets to 0, then clears the visible rows unless NOCLEARMEM.
// * a Y_OFFSET or X_OFFSET that would move the visible area past the end of video memory is
//   refused and counted (Bochs panics).
// Reads of XRES, YRES and BPP return the maximums while GETCAPS is set in ENABLE.
//
// The index register and each data register are 16 bits wide; a byte access reaches the low byte
// (a byte write leaves the high byte zero).
//
// Threads and locking: read()/write() on vcpu threads, the attributes on the GUI thread; one
// mutex guards the registers. Framebuffer::setScanout is called with it held (it takes only the
// framebuffer's own lock and never calls back).
#include "devices/EmulatedDevice.h"
#include "devices/Framebuffer.h"
#include "machine/BusDevice.h"

#include <array>
#include <cstdint>
#include <mutex>
#include <span>

namespace kvmscope {

class BochsDispi : public BusDevice, public EmulatedDevice {
public:
    static constexpr uint64_t kBasePort = 0x1CE; // VBE_DISPI_IOPORT_INDEX; data at 0x1CF
    static constexpr uint64_t kPortCount = 2;

    // Register indices (VBE_DISPI_INDEX_*).
    enum Index : uint16_t {
        kIndexId = 0x0,
        kIndexXres = 0x1,
        kIndexYres = 0x2,
        kIndexBpp = 0x3,
        kIndexEnable = 0x4,
        kIndexBank = 0x5,
        kIndexVirtWidth = 0x6,
        kIndexVirtHeight = 0x7,
        kIndexXOffset = 0x8,
        kIndexYOffset = 0x9,
        kIndexVideoMemory64K = 0xA, // read-only: video memory in 64 KiB units (since ID4)
        kIndexCount = 0xB,
    };

    // Interface versions (VBE_DISPI_ID0 ... ID5). A guest writes the version it speaks and reads
    // it back to see whether the adapter knows it; the register starts at the newest.
    static constexpr uint16_t kId0 = 0xB0C0;
    static constexpr uint16_t kId5 = 0xB0C5;

    // ENABLE bits (VBE_DISPI_*).
    static constexpr uint16_t kEnabled = 0x01;
    static constexpr uint16_t kGetCaps = 0x02;
    static constexpr uint16_t k8BitDac = 0x20;
    static constexpr uint16_t kLfbEnabled = 0x40;
    static constexpr uint16_t kNoClearMem = 0x80;

    // VBE_DISPI_MAX_XRES / MAX_YRES of Bochs 2.6 (2560 x 1600 at 32 bpp fills 16 MiB).
    static constexpr uint16_t kMaxXres = 2560;
    static constexpr uint16_t kMaxYres = 1600;
    static constexpr uint16_t kMaxBpp = 32;

    static constexpr uint32_t kIndexGroup = 0;      // the index register
    static constexpr uint32_t kRegistersGroup = 1;  // "ID" ... "VIDEO_MEMORY_64K", as read
    static constexpr uint32_t kStatisticsGroup = 2; // refused and unknown accesses

    // The registers start with XRES x YRES x BPP = `initial` (disabled): a guest that only
    // writes ENABLE gets that mode. `framebuffer` must outlive the device.
    BochsDispi(Framebuffer& framebuffer, uint16_t initialWidth, uint16_t initialHeight,
               uint16_t initialBpp);

    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

    // A register by its index, without the index port: how the VGA function's MMIO BAR reaches
    // them (devices/StdVgaFunction.h). The same effects and counters as a data port access with
    // the index register at `index`; the index register itself is left alone.
    uint16_t readByIndex(uint16_t index);
    void writeByIndex(uint16_t index, uint16_t value);

    // Sets and enables a mode as firmware does before it hands over (a boot loader that asked the
    // VBE BIOS for a mode, then told Linux through screen_info): the same path as the guest's
    // writes. Throws InputError when the mode is refused.
    void setMode(uint16_t width, uint16_t height, uint16_t bpp);

    std::string name() const override { return "Bochs VBE dispi"; }

protected:
    void describeState(StateVisitor& state) override;
    std::mutex& stateMutex() const override { return mutex_; }

private:
    // With mutex_ held.
    uint16_t readRegister(uint16_t index) const;
    void writeRegister(uint16_t index, uint16_t value);
    void writeEnable(uint16_t value);
    void setVirtualWidth(uint16_t width);
    bool setOffsets(uint16_t x, uint16_t y);
    ScanoutMode currentMode() const;
    void publish();

    Framebuffer& framebuffer_;
    mutable std::mutex mutex_;
    uint16_t index_ = 0;
    uint16_t id_ = kId5;
    uint16_t xres_, yres_, bpp_; // the mode ENABLE switches on
    uint16_t enable_ = 0;        // ENABLE as last written (ENABLED, GETCAPS, 8BIT_DAC, ...)
    uint16_t bank_ = 0;          // stored only (no banked window)
    uint16_t virtWidth_ = 0;     // pixels per row in memory (>= xres while enabled)
    uint16_t virtHeight_ = 0;    // rows that fit the video memory at virtWidth_ (computed)
    uint16_t xOffset_ = 0;       // top-left visible pixel in the virtual screen
    uint16_t yOffset_ = 0;
    uint64_t refusedWrites_ = 0;   // values out of range, or XRES/YRES/BPP while enabled
    uint64_t unknownAccesses_ = 0; // registers beyond kIndexCount, writes to read-only ones
    uint64_t modeSets_ = 0;        // ENABLE writes that switched a mode on
};

} // namespace kvmscope
