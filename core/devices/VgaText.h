#pragma once
// Ports 0x3D4-0x3DA: the part of a VGA (colour, I/O address select = 1) that text-mode software
// talks to. The text itself is plain guest RAM at 0xB8000 (80 x 25 cells of character and
// attribute bytes), which the display reads (display/DisplaySource.h); this device holds what
// says where the screen starts and where the cursor is: the CRT controller (IBM VGA Technical
// Reference, "CRT Controller Registers"), index at 0x3D4, data at 0x3D5:
//   0x09 maximum scan line (bits 0-4: character height - 1)
//   0x0A cursor start (bit 5: cursor off, bits 0-4: first scan line of the cursor)
//   0x0B cursor end (bits 0-4: last scan line)
//   0x0C/0x0D start address high/low (the cell shown top left, in cells from 0xB8000)
//   0x0E/0x0F cursor location high/low (in cells from 0xB8000)
//   0x11 bit 7: protect registers 0-7 (writes to them are ignored, except bit 4 of 0x07)
// The registers start with the values a VGA BIOS programs for mode 3 (80 x 25 colour text), as no
// BIOS runs before the guest. Timing registers are stored and read back but not interpreted:
// the display is always 80 x 25 cells of 9 x 16 pixels.
//
// 0x3DA (input status 1, read): bit 3 vertical retrace and bit 0 display disabled toggle on every
// read, so a guest that waits for the start and the end of a retrace leaves both loops after at
// most two reads. (On a VGA that read also resets the attribute controller's flip-flop at 0x3C0,
// which kvmscope does not emulate.) 0x3D8 and 0x3D9 (CGA mode control and colour select) are
// stored only; 0x3D6-0x3D7 answer 0xFF and are counted as unknown, as are writes to 0x3DA
// (the VGA's feature control register, not emulated).
//
// A word access reaches two consecutive ports, as on the ISA bus: `outw 0x3D4` with 0x0E in the
// low byte writes the index and the high byte to the selected register, the idiom hobby kernels
// and Linux's vgacon use.
//
// Threads and locking: read()/write() on vcpu threads, cursor()/registers and attributes on the
// GUI thread; one mutex guards the state. No callback.
#include "devices/EmulatedDevice.h"
#include "machine/BusDevice.h"

#include <array>
#include <cstdint>
#include <mutex>
#include <span>

namespace kvmscope {

// The CRTC's view of the text screen, in cells counted from 0xB8000.
struct VgaTextState {
    uint16_t startAddress = 0;   // cell shown at row 0, column 0
    uint16_t cursorLocation = 0; // cell the cursor is on
    bool cursorEnabled = true;   // cursor start bit 5 clear
    uint8_t cursorStart = 0;     // first and last scan line of the cursor within a cell
    uint8_t cursorEnd = 0;
    uint8_t characterHeight = 16; // maximum scan line + 1
};

class VgaText : public BusDevice, public EmulatedDevice {
public:
    static constexpr uint64_t kBasePort = 0x3D4; // CRTC index; the range runs to 0x3DA
    static constexpr uint64_t kPortCount = 7;
    static constexpr size_t kCrtcRegisterCount = 0x19;

    // Offsets from 0x3D4.
    static constexpr uint64_t kCrtcIndexOffset = 0;   // 0x3D4
    static constexpr uint64_t kCrtcDataOffset = 1;    // 0x3D5
    static constexpr uint64_t kCgaModeOffset = 4;     // 0x3D8
    static constexpr uint64_t kCgaColourOffset = 5;   // 0x3D9
    static constexpr uint64_t kInputStatusOffset = 6; // 0x3DA

    // CRTC register indices.
    enum CrtcRegister : uint8_t {
        kOverflow = 0x07,
        kMaximumScanLine = 0x09,
        kCursorStart = 0x0A,
        kCursorEnd = 0x0B,
        kStartAddressHigh = 0x0C,
        kStartAddressLow = 0x0D,
        kCursorLocationHigh = 0x0E,
        kCursorLocationLow = 0x0F,
        kVerticalRetraceEndProtect = 0x11,
    };
    static constexpr uint8_t kCursorDisable = 0x20;    // cursor start bit 5
    static constexpr uint8_t kScanLineMask = 0x1F;     // cursor start/end, maximum scan line
    static constexpr uint8_t kProtectRegisters = 0x80; // register 0x11 bit 7
    static constexpr uint8_t kLineCompareBit8 = 0x10;  // overflow bit 4: writable when protected
    // Input status 1 bits.
    static constexpr uint8_t kDisplayDisabled = 0x01;
    static constexpr uint8_t kVerticalRetrace = 0x08;

    static constexpr uint32_t kIndexGroup = 0;      // the CRTC index
    static constexpr uint32_t kCrtcGroup = 1;       // "CR00" ... "CR18"
    static constexpr uint32_t kCursorGroup = 2;     // decoded cursor and start address
    static constexpr uint32_t kStatisticsGroup = 3; // odd accesses

    static constexpr unsigned kColumns = 80;
    static constexpr unsigned kRows = 25;

    VgaText();

    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

    VgaTextState state() const;

    std::string name() const override { return "VGA text (CRTC)"; }

protected:
    void describeState(StateVisitor& state) override;
    std::mutex& stateMutex() const override { return mutex_; }

private:
    // With mutex_ held.
    uint8_t readPort(uint64_t offset);
    void writePort(uint64_t offset, uint8_t value);
    void writeCrtc(uint8_t index, uint8_t value);
    VgaTextState decode() const;

    mutable std::mutex mutex_;
    uint8_t index_ = 0;
    std::array<uint8_t, kCrtcRegisterCount> crtc_{};
    uint8_t cgaMode_ = 0;
    uint8_t cgaColour_ = 0;
    uint64_t statusReads_ = 0;     // 0x3DA reads; their parity drives the retrace bits
    uint64_t ignoredWrites_ = 0;   // protected registers, index beyond 0x18
    uint64_t unknownAccesses_ = 0; // 0x3D6, 0x3D7, writes to 0x3DA
};

} // namespace kvmscope
