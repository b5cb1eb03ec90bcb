#pragma once
// The linear framebuffer: video memory, and the scanout: which part of it the display shows, in
// which mode. The guest sees the memory where the VGA function's BAR0 is decoded
// (devices/StdVgaFunction.h; machine/FramebufferSlot.h moves its KVM memslot with the BAR, with
// KVM_MEM_LOG_DIRTY_PAGES from the display's first look, so it learns which pages the guest
// wrote), not at a fixed address. It is not RAM: its own anonymous host mapping, absent from the
// e820 and multiboot memory maps. Linux learns of it from boot_params.screen_info or the PCI
// function, bare-metal guests through the Bochs VBE "dispi" (BochsDispi.h), which sets the
// scanout here.
//
// Threads: setScanout() runs on a vcpu thread (a dispi write) or at boot, scanout() and the
// statistics on the display's thread (DisplaySource) and the GUI's; one mutex guards the scanout,
// the statistics and the address are atomics. The memory itself is the guest's to write at any
// time.
#include "devices/EmulatedDevice.h"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>

namespace kvmscope {

// How pixels are laid out in memory, little endian, named from the most significant bit down as
// DRM does (XRGB8888: bytes B, G, R, unused). These are the direct-colour layouts of the VBE
// modes (VBE 3.0, "ModeInfoBlock": RedFieldPosition etc.) that Bochs' dispi offers.
enum class PixelFormat {
    Xrgb8888, // 32 bpp
    Rgb888,   // 24 bpp: bytes B, G, R
    Rgb565,   // 16 bpp
    Xrgb1555, // 15 bpp (stored in 16 bits)
};

const char* toString(PixelFormat format);

// The direct-colour depths kvmscope displays; false for anything else (4 and 8 bpp need a
// palette, which kvmscope does not emulate).
bool isSupportedDepth(uint32_t bitsPerPixel);
// Bytes per pixel of a supported depth (15 -> 2).
uint32_t bytesPerPixel(uint32_t bitsPerPixel);
PixelFormat pixelFormatForDepth(uint32_t bitsPerPixel);

// One colour channel inside a pixel: `size` bits from bit `position`.
struct ColourField {
    uint8_t size = 0;
    uint8_t position = 0;
};
// The channels of a depth, as VBE's ModeInfoBlock and Linux's screen_info describe them.
struct ColourLayout {
    ColourField red, green, blue, reserved;
};
ColourLayout colourLayout(uint32_t bitsPerPixel);

// What the display shows. When `enabled` is false the display shows VGA text instead.
struct ScanoutMode {
    bool enabled = false;
    uint32_t width = 0;  // visible pixels per row
    uint32_t height = 0; // visible rows
    uint32_t bitsPerPixel = 0;
    uint32_t stride = 0; // bytes from the start of one row to the next (the virtual width's)
    uint64_t offset = 0; // byte offset in video memory of the top-left visible pixel

    PixelFormat format() const { return pixelFormatForDepth(bitsPerPixel); }
    uint32_t rowBytes() const { return width * bytesPerPixel(bitsPerPixel); }
    // Bytes of video memory from `offset` that the visible rows reach.
    uint64_t extent() const { return height == 0 ? 0 : uint64_t(height - 1) * stride + rowBytes(); }
    bool operator==(const ScanoutMode&) const = default;
};

class Framebuffer : public EmulatedDevice {
public:
    // 16 MiB, Bochs' VBE_DISPI_TOTAL_VIDEO_MEMORY_MB: room for the largest
    // dispi mode, 2560 x 1600 x 32. Reserved with MAP_NORESERVE, so untouched video memory costs
    // nothing.
    static constexpr uint64_t kDefaultMemorySize = 16ull << 20;

    static constexpr uint32_t kMemoryGroup = 0;     // where the video memory is
    static constexpr uint32_t kScanoutGroup = 1;    // what the display shows
    static constexpr uint32_t kStatisticsGroup = 2; // what the display's updates cost

    // Reserves `memorySize` bytes (a multiple of 4 KiB, at most 2 GiB: a 32-bit BAR's largest)
    // of zeroed host memory. Throws InputError for a bad size, Error when mmap fails.
    explicit Framebuffer(uint64_t memorySize);
    ~Framebuffer() override;
    Framebuffer(const Framebuffer&) = delete;
    Framebuffer& operator=(const Framebuffer&) = delete;

    // Where the guest sees the memory now; nullopt while it is not mapped (BAR0 not decoded).
    // Only the memslot's owner sets it (machine/FramebufferSlot.h).
    std::optional<uint64_t> guestAddress() const;
    void setGuestAddress(std::optional<uint64_t> address);
    uint64_t memorySize() const { return memorySize_; }
    // The video memory as the host sees it (what the memslot maps).
    std::span<uint8_t> memory() { return {memory_, static_cast<size_t>(memorySize_)}; }
    std::span<const uint8_t> memory() const { return {memory_, static_cast<size_t>(memorySize_)}; }

    // Whether `mode` fits this video memory (supported depth, non-empty, rows inside memory).
    bool fits(const ScanoutMode& mode) const;
    // Sets what the display shows; a disabled mode means VGA text. Throws InputError unless an
    // enabled mode fits(). Every change increments the generation.
    void setScanout(const ScanoutMode& mode);
    ScanoutMode scanout() const;
    // The scanout and its generation, read together: a reader that sees the same generation
    // twice knows the mode did not change in between.
    std::pair<ScanoutMode, uint64_t> scanoutAndGeneration() const;

    // Called by the display for each update, for the statistics attributes.
    void recordUpdate(uint64_t dirtyPages, uint64_t rowsCopied);

    std::string name() const override { return "Linear framebuffer"; }

protected:
    // The scanout is saved; the video memory is guest memory, which a snapshot keeps with RAM.
    void describeState(StateVisitor& state) override;
    std::mutex& stateMutex() const override { return mutex_; }

private:
    static constexpr uint64_t kNotMapped = ~uint64_t{0};
    std::atomic<uint64_t> guestAddress_{kNotMapped};
    uint64_t memorySize_;
    uint8_t* memory_ = nullptr;

    mutable std::mutex mutex_;
    ScanoutMode scanout_;     // guarded by mutex_
    uint64_t generation_ = 0; // guarded by mutex_; +1 per scanout change

    std::atomic<uint64_t> updates_{0};
    std::atomic<uint64_t> dirtyPages_{0};
    std::atomic<uint64_t> rowsCopied_{0};
};

} // namespace kvmscope
