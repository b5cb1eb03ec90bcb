#include "devices/Framebuffer.h"

#include "common/Error.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <sys/mman.h>

namespace kvmscope {
namespace {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kFourGib = 0x1'0000'0000;

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

Framebuffer::Framebuffer(uint64_t guestAddress, uint64_t memorySize)
    : guestAddress_(guestAddress), memorySize_(memorySize) {
    if (memorySize == 0 || memorySize % kPageSize != 0)
        throw InputError(fmt::format("framebuffer memory size {:#x} is not a non-zero multiple of "
                                     "4 KiB",
                                     memorySize));
    if (guestAddress % kPageSize != 0 || guestAddress >= kFourGib ||
        memorySize > kFourGib - guestAddress)
        throw InputError(fmt::format("framebuffer [{:#x}, +{:#x}) must be page-aligned and below "
                                     "4 GiB",
                                     guestAddress, memorySize));
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

std::vector<AttributeInfo> Framebuffer::attributes() const {
    return {
        {kMemoryGroup, kAttrAddress, "memory", "address", AttrType::U64, AttrAccess::Read,
         "guest-physical address of the video memory (its own memslot, dirty-logged)"},
        {kMemoryGroup, kAttrSize, "memory", "size", AttrType::U64, AttrAccess::Read,
         "bytes of video memory"},
        {kScanoutGroup, kAttrEnabled, "scanout", "graphics", AttrType::Bool, AttrAccess::Read,
         "1: the display shows this framebuffer; 0: VGA text"},
        {kScanoutGroup, kAttrWidth, "scanout", "width", AttrType::U32, AttrAccess::Read,
         "visible pixels per row"},
        {kScanoutGroup, kAttrHeight, "scanout", "height", AttrType::U32, AttrAccess::Read,
         "visible rows"},
        {kScanoutGroup, kAttrBitsPerPixel, "scanout", "bits per pixel", AttrType::U32,
         AttrAccess::Read, "15 (XRGB1555), 16 (RGB565), 24 (RGB888) or 32 (XRGB8888)"},
        {kScanoutGroup, kAttrStride, "scanout", "stride", AttrType::U32, AttrAccess::Read,
         "bytes from one row to the next"},
        {kScanoutGroup, kAttrOffset, "scanout", "offset", AttrType::U64, AttrAccess::Read,
         "byte offset of the top-left visible pixel in video memory (panning)"},
        {kScanoutGroup, kAttrModeChanges, "scanout", "changes", AttrType::U64, AttrAccess::Read,
         "times the scanout changed (mode, stride, offset, on/off)"},
        {kStatisticsGroup, kAttrUpdates, "statistics", "updates", AttrType::U64, AttrAccess::Read,
         "display updates (dirty-log fetches)"},
        {kStatisticsGroup, kAttrDirtyPages, "statistics", "dirty pages", AttrType::U64,
         AttrAccess::Read, "4 KiB pages the guest wrote, summed over the updates"},
        {kStatisticsGroup, kAttrRowsCopied, "statistics", "rows copied", AttrType::U64,
         AttrAccess::Read, "rows copied to the display, summed over the updates"},
    };
}

AttrValue Framebuffer::getAttr(uint32_t group, uint64_t attr) const {
    requireAttr(group, attr);
    if (group == kMemoryGroup)
        return AttrValue::of(attr == kAttrAddress ? guestAddress_ : memorySize_);
    if (group == kStatisticsGroup) {
        switch (attr) {
        case kAttrUpdates:
            return AttrValue::of(updates_.load(std::memory_order_relaxed));
        case kAttrDirtyPages:
            return AttrValue::of(dirtyPages_.load(std::memory_order_relaxed));
        default:
            return AttrValue::of(rowsCopied_.load(std::memory_order_relaxed));
        }
    }
    const auto [mode, generation] = scanoutAndGeneration();
    switch (attr) {
    case kAttrEnabled:
        return AttrValue::of(mode.enabled);
    case kAttrWidth:
        return AttrValue::of(mode.width);
    case kAttrHeight:
        return AttrValue::of(mode.height);
    case kAttrBitsPerPixel:
        return AttrValue::of(mode.bitsPerPixel);
    case kAttrStride:
        return AttrValue::of(mode.stride);
    case kAttrOffset:
        return AttrValue::of(mode.offset);
    default:
        return AttrValue::of(generation);
    }
}

void Framebuffer::setAttr(uint32_t group, uint64_t attr, const AttrValue& value) {
    // The mode is the guest's to set (dispi, or the boot protocol): every attribute is
    // read-only, so this throws.
    requireWritable(requireAttr(group, attr), value);
}

} // namespace kvmscope
