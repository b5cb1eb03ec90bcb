#pragma once
// What a machine's screen shows, for a view to draw: either a graphics mode on the linear
// framebuffer (devices/Framebuffer.h, set through the Bochs dispi or by the boot protocol) or,
// when no graphics mode is on, VGA text (80 x 25 cells at 0xB8000, cursor from the CRTC,
// devices/VgaText.h). docs/devices.md, "Display", shows how a view uses it.
//
// Graphics: update() fetches the framebuffer's dirty log (KVM_GET_DIRTY_LOG: one bit per 4 KiB
// page the guest wrote since the previous fetch) and copies only the rows that touch a dirty page
// into a caller-owned image, returning which rows it copied. When the guest wrote nothing,
// nothing is copied. The first update, one after the mode changed (resolution, depth, stride,
// panning offset, on/off) and one the caller asks to be full copy every row: video memory that
// kvmscope itself writes (the dispi clearing the screen) never reaches the dirty log. Rows and
// pages do not line up in general, so a write can bring up to a page's worth of neighbouring rows
// with it; at 1024 x 32 bpp a row is exactly one page, and the rows copied are exactly the rows
// written.
//
// A screen the guest rewrites all the time (an animation, a video) is cheaper to copy whole than
// to track: each KVM_GET_DIRTY_LOG write-protects every page it reports again, so the guest's
// next write to each one faults into the kernel (api.rst 4.8), and on a shadow-paging host that
// costs more than the copy. So when more than half the rows were dirty kStreamAfterUpdates
// updates in a row (counted from the last full copy), update() streams: it copies the whole frame
// without fetching the log, and the guest writes at full speed. Every kStreamProbeInterval streamed
// updates it fetches the log once, to learn whether the guest calmed down, and tracks pages again
// until the screen is busy again. Adjacent dirty rows that are one block in both video memory and
// the target go in one memcpy, so a fully dirty frame is copied as one block.
//
// Text: textScreen() reads the 4000 bytes of the screen from guest RAM and the cursor from the
// CRTC; rendering the cells to pixels is the view's (the core carries no font). textColour()
// gives the 16 colours.
//
// The framebuffer's memslot follows the VGA function's BAR0 (machine/FramebufferSlot.h): while
// the guest has BAR0 off the slot is gone and the guest cannot write the memory, so nothing is
// dirty; after a move the kernel's log starts afresh, and the next update copies every row.
//
// Threads: every call may run on any thread while the vcpus run (the dirty-log fetch is a VM
// ioctl under the slot's lock, so it never meets a slot half moved; the rest are reads of guest
// memory and device state under the devices' own locks).
// update() is serialised by a mutex, and its dirty log is consumed by the call, so a machine has
// ONE display consumer (Machine::display()); a second view of the same machine would have to
// share the first one's image.
#include "devices/Framebuffer.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace kvmscope {

class FramebufferSlot;
class GuestMemory;
class VgaText;

namespace display {

enum class DisplayKind { Text, Graphics };

// A caller-owned image that update() copies rows into: `height` rows of at least
// width * bytesPerPixel bytes each, `bytesPerLine` apart, pixels in `format`. A QImage of the
// mode's size fits when created with the matching format: Xrgb8888 -> QImage::Format_RGB32,
// Rgb888 -> Format_BGR888, Rgb565 -> Format_RGB16, Xrgb1555 -> Format_RGB555; pass bits() and
// bytesPerLine().
struct FrameTarget {
    uint8_t* pixels = nullptr;
    size_t bytesPerLine = 0;
    uint32_t width = 0;
    uint32_t height = 0;
    PixelFormat format = PixelFormat::Xrgb8888;
};

// Rows [first, first + count) of the visible screen.
struct RowRange {
    uint32_t first = 0;
    uint32_t count = 0;
    bool operator==(const RowRange&) const = default;
};

enum class UpdateStatus {
    Copied,       // `rows` were copied into the target
    Unchanged,    // the guest wrote nothing visible since the last update: nothing was copied
    ModeMismatch, // the target does not match `mode` (size or format): nothing was copied;
                  // make an image for `mode` and call again with full = true
    TextMode,     // no graphics mode is on (or there is no framebuffer): show textScreen()
};

const char* toString(UpdateStatus status);

struct FrameUpdate {
    UpdateStatus status = UpdateStatus::TextMode;
    ScanoutMode mode;           // the mode the update used (or found, for ModeMismatch)
    bool full = false;          // every row was copied, whatever the dirty log said
    std::vector<RowRange> rows; // rows copied, ascending, adjacent rows merged
    uint64_t dirtyPages = 0;    // pages of video memory the dirty log reported
    bool streamed = false;      // copied whole without fetching the dirty log (busy screen)

    uint32_t rowsCopied() const;
};

// One text cell: the character (code page 437) and its attribute byte (bits 0-3 foreground,
// 4-6 background, 7 blink: the attribute controller's power-on setting, mode control bit 3 = 1).
struct TextCell {
    uint8_t character = ' ';
    uint8_t attribute = 0x07;

    uint8_t foreground() const { return attribute & 0x0F; }
    uint8_t background() const { return (attribute >> 4) & 0x07; }
    bool blink() const { return (attribute & 0x80) != 0; }
    bool operator==(const TextCell&) const = default;
};

struct TextScreen {
    static constexpr unsigned kColumns = 80;
    static constexpr unsigned kRows = 25;

    std::array<TextCell, kColumns * kRows> cells{};
    uint16_t startAddress = 0;  // CRTC start address: the cell of 0xB8000 shown top left
    bool cursorVisible = false; // enabled in the CRTC and on the screen
    unsigned cursorRow = 0;
    unsigned cursorColumn = 0;
    uint8_t cursorStart = 0; // scan lines the cursor covers within a cell, top to bottom
    uint8_t cursorEnd = 0;
    uint8_t characterHeight = 16; // scan lines per cell

    const TextCell& at(unsigned row, unsigned column) const {
        return cells[row * kColumns + column];
    }
    bool operator==(const TextScreen&) const = default;
};

// The 16 text colours as 0xRRGGBB: the default palette a VGA BIOS loads for mode 3 (the CGA
// colours: 0 black, 1 blue, ..., 6 brown, 7 light grey, 8 dark grey, ..., 15 white).
uint32_t textColour(unsigned index);

class DisplaySource {
public:
    static constexpr uint64_t kTextBase = 0xB8000;
    // The colour text window (0xB8000-0xBFFFF); the CRTC's cell addresses wrap inside it.
    static constexpr uint64_t kTextWindowSize = 0x8000;
    // Updates with more than half the rows dirty, in a row, before update() streams.
    static constexpr unsigned kStreamAfterUpdates = 3;
    // Streamed updates between two dirty-log probes (half a second at 60 Hz).
    static constexpr unsigned kStreamProbeInterval = 30;

    // `framebuffer` is null for a machine without one (text only); otherwise `slot` maps its
    // memory, created without dirty logging: the first update turns KVM_MEM_LOG_DIRTY_PAGES on
    // (and copies everything), so a machine nobody watches does not pay for it. Everything must
    // outlive the display.
    DisplaySource(FramebufferSlot* slot, Framebuffer* framebuffer, const VgaText& vgaText,
                  const GuestMemory& memory);

    DisplayKind kind() const;
    // The graphics mode; `enabled` is false in text mode.
    ScanoutMode graphicsMode() const;

    // Copies what changed in the framebuffer since the previous update into `target` (see the
    // top of this file). `full` copies every row: pass it after creating a new image.
    FrameUpdate update(const FrameTarget& target, bool full = false);

    // The text screen as the guest left it; compare with the previous one to see whether
    // anything changed.
    TextScreen textScreen() const;

private:
    FramebufferSlot* slot_;
    Framebuffer* framebuffer_;
    const VgaText& vgaText_;
    const GuestMemory& memory_;

    std::mutex updateMutex_;
    std::vector<uint64_t> bitmap_;           // guarded by updateMutex_
    std::optional<uint64_t> lastGeneration_; // scanout generation of the last update
    const uint8_t* lastTarget_ = nullptr;
    unsigned busyUpdates_ = 0;     // updates in a row with more than half the rows dirty
    unsigned streamedUpdates_ = 0; // streamed updates since the last probe (0: not streaming)
};

} // namespace display
} // namespace kvmscope
