#include "devices/Framebuffer.h"

#include "common/Error.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <sys/mman.h>

namespace kvmscope {
namespace {

constexpr uint64_t kPageSize = 4096;
// PCI Local Bus Specification 3.0, 6.2.5.1: a 32-bit memory BAR decodes at most 2 GiB.
constexpr uint64_t kLargestBar = 0x8000'0000;

} // namespace

const char* toString(PixelFormat format) {
    switch (format) {
    case PixelFormat::Xrgb8888:
        return "XRGB8888";
    case PixelFormat::Rgb888:
        return "RGB888";
    case PixelFormat::Rgb565:
        return "RGB565";
    case PixelFormat::Xrgb1555:
        return "XRGB1555";
    }
    return "?";
}

bool isSupportedDepth(uint32_t bitsPerPixel) {
    return bitsPerPixel == 15 || bitsPerPixel == 16 || bitsPerPixel == 24 || bitsPerPixel == 32;
}

uint32_t bytesPerPixel(uint32_t bitsPerPixel) {
    return (bitsPerPixel + 7) / 8;
}

PixelFormat pixelFormatForDepth(uint32_t bitsPerPixel) {
    switch (bitsPerPixel) {
    case 15:
        return PixelFormat::Xrgb1555;
    case 16:
        return PixelFormat::Rgb565;
    case 24:
        return PixelFormat::Rgb888;
    default:
        return PixelFormat::Xrgb8888;
    }
}

ColourLayout colourLayout(uint32_t bitsPerPixel) {
    switch (bitsPerPixel) {
    case 15:
        return {{5, 10}, {5, 5}, {5, 0}, {1, 15}};
    case 16:
        return {{5, 11}, {6, 5}, {5, 0}, {0, 0}};
    case 24:
        return {{8, 16}, {8, 8}, {8, 0}, {0, 0}};
    default:
        return {{8, 16}, {8, 8}, {8, 0}, {8, 24}};
    }
}

Framebuffer::Framebuffer(uint64_t memorySize) : memorySize_(memorySize) {
    if (memorySize == 0 || memorySize % kPageSize != 0 || memorySize > kLargestBar)
        throw InputError(fmt::format("framebuffer memory size {:#x} is not a non-zero multiple of "
                                     "4 KiB of at most 2 GiB",
                                     memorySize));
    void* mapping = mmap(nullptr, memorySize, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapping == MAP_FAILED)
        throw Error(fmt::format("cannot reserve {} MiB of video memory: {}", memorySize >> 20,
                                std::strerror(errno)));
    memory_ = static_cast<uint8_t*>(mapping);
    // Out of core dumps, and out of any child kvmscope forks (as guest RAM: GuestMemory.cpp).
    madvise(memory_, memorySize, MADV_DONTDUMP);
    madvise(memory_, memorySize, MADV_DONTFORK);
}

Framebuffer::~Framebuffer() {
    if (memory_)
        munmap(memory_, memorySize_);
}

std::optional<uint64_t> Framebuffer::guestAddress() const {
    const uint64_t address = guestAddress_.load();
    return address == kNotMapped ? std::nullopt : std::optional(address);
}

void Framebuffer::setGuestAddress(std::optional<uint64_t> address) {
    guestAddress_.store(address.value_or(kNotMapped));
}

bool Framebuffer::fits(const ScanoutMode& mode) const {
    if (!isSupportedDepth(mode.bitsPerPixel) || mode.width == 0 || mode.height == 0 ||
        mode.stride < mode.rowBytes())
        return false;
    return mode.offset <= memorySize_ && mode.extent() <= memorySize_ - mode.offset;
}

void Framebuffer::setScanout(const ScanoutMode& mode) {
    if (mode.enabled && !fits(mode))
        throw InputError(fmt::format("framebuffer mode {}x{}x{} (stride {}, offset {:#x}) does not "
                                     "fit {:#x} bytes of video memory",
                                     mode.width, mode.height, mode.bitsPerPixel, mode.stride,
                                     mode.offset, memorySize_));
    std::lock_guard lock(mutex_);
    if (mode == scanout_)
        return;
    scanout_ = mode;
    ++generation_;
}

ScanoutMode Framebuffer::scanout() const {
    std::lock_guard lock(mutex_);
    return scanout_;
}

std::pair<ScanoutMode, uint64_t> Framebuffer::scanoutAndGeneration() const {
    std::lock_guard lock(mutex_);
    return {scanout_, generation_};
}

void Framebuffer::recordUpdate(uint64_t dirtyPages, uint64_t rowsCopied) {
    updates_.fetch_add(1, std::memory_order_relaxed);
    dirtyPages_.fetch_add(dirtyPages, std::memory_order_relaxed);
    rowsCopied_.fetch_add(rowsCopied, std::memory_order_relaxed);
}

// The mode is the guest's to set (through the dispi, or the boot protocol): every attribute is
// read-only.
void Framebuffer::describeState(StateVisitor& state) {
    state.group(kMemoryGroup, "memory");
    state.readOnly("address", AttrType::U64,
                   "guest-physical address of the video memory: the VGA function's BAR0, its own "
                   "memslot (dirty-logged); all ones while BAR0 is not decoded",
                   [this] { return guestAddress_.load(); });
    state.readOnly("size", AttrType::U64, "bytes of video memory", [this] { return memorySize_; });

    state.group(kScanoutGroup, "scanout");
    state.field("graphics", scanout_.enabled, AttrAccess::Read,
                "1: the display shows this framebuffer; 0: VGA text");
    state.field("width", scanout_.width, AttrAccess::Read, "visible pixels per row");
    state.field("height", scanout_.height, AttrAccess::Read, "visible rows");
    state.field("bits per pixel", scanout_.bitsPerPixel, AttrAccess::Read,
                "15 (XRGB1555), 16 (RGB565), 24 (RGB888) or 32 (XRGB8888)");
    state.field("stride", scanout_.stride, AttrAccess::Read, "bytes from one row to the next");
    state.field("offset", scanout_.offset, AttrAccess::Read,
                "byte offset of the top-left visible pixel in video memory (panning)");
    state.statistic("changes", generation_,
                    "times the scanout changed (mode, stride, offset, on/off)");

    // Counted by the display thread without the lock; what the display costs, not device state.
    state.group(kStatisticsGroup, "statistics");
    state.readOnly("updates", AttrType::U64, "display updates (dirty-log fetches)",
                   [this] { return updates_.load(std::memory_order_relaxed); });
    state.readOnly("dirty pages", AttrType::U64,
                   "4 KiB pages the guest wrote, summed over the updates",
                   [this] { return dirtyPages_.load(std::memory_order_relaxed); });
    state.readOnly("rows copied", AttrType::U64,
                   "rows copied to the display, summed over the updates",
                   [this] { return rowsCopied_.load(std::memory_order_relaxed); });
}

} // namespace kvmscope
