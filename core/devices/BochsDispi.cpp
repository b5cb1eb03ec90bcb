#include "devices/BochsDispi.h"

#include "common/Error.h"
#include "log/Log.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace kvmscope {
namespace {

constexpr uint64_t kIndexPort = 0; // 0x1CE
constexpr uint64_t kDataPort = 1;  // 0x1CF
constexpr uint64_t kVideoMemoryUnit = 64 * 1024;
constexpr uint64_t kRegisterMax = 0xFFFF;

struct RegisterName {
    uint16_t index;
    const char* name;
    AttrAccess access;
    const char* description;
};

constexpr RegisterName kRegisterNames[] = {
    {BochsDispi::kIndexId, "ID", AttrAccess::ReadWrite,
     "interface version, 0xB0C0-0xB0C5 (a guest writes the one it speaks)"},
    {BochsDispi::kIndexXres, "XRES", AttrAccess::ReadWrite, "visible width in pixels"},
    {BochsDispi::kIndexYres, "YRES", AttrAccess::ReadWrite, "visible height in pixels"},
    {BochsDispi::kIndexBpp, "BPP", AttrAccess::ReadWrite, "bits per pixel: 15, 16, 24 or 32"},
    {BochsDispi::kIndexEnable, "ENABLE", AttrAccess::ReadWrite,
     "0x01 ENABLED, 0x02 GETCAPS, 0x20 8BIT_DAC, 0x40 LFB_ENABLED, 0x80 NOCLEARMEM"},
    {BochsDispi::kIndexBank, "BANK", AttrAccess::ReadWrite,
     "64 KiB bank (stored; kvmscope has no banked window)"},
    {BochsDispi::kIndexVirtWidth, "VIRT_WIDTH", AttrAccess::ReadWrite,
     "pixels per row in video memory (>= XRES)"},
    {BochsDispi::kIndexVirtHeight, "VIRT_HEIGHT", AttrAccess::Read,
     "rows that fit the video memory at VIRT_WIDTH (computed)"},
    {BochsDispi::kIndexXOffset, "X_OFFSET", AttrAccess::ReadWrite,
     "left edge of the visible area in the virtual screen"},
    {BochsDispi::kIndexYOffset, "Y_OFFSET", AttrAccess::ReadWrite,
     "top edge of the visible area in the virtual screen (page flipping)"},
    {BochsDispi::kIndexVideoMemory64K, "VIDEO_MEMORY_64K", AttrAccess::Read,
     "video memory in 64 KiB units"},
};

uint16_t littleEndian16(std::span<const uint8_t> data) {
    uint16_t value = data.empty() ? 0 : data[0];
    if (data.size() >= 2)
        value = static_cast<uint16_t>(value | data[1] << 8);
    return value;
}

void returnWord(std::span<uint8_t> data, uint16_t value) {
    std::fill(data.begin(), data.end(), uint8_t(0));
    if (!data.empty())
        data[0] = static_cast<uint8_t>(value);
    if (data.size() >= 2)
        data[1] = static_cast<uint8_t>(value >> 8);
}

} // namespace

BochsDispi::BochsDispi(Framebuffer& framebuffer, uint16_t initialWidth, uint16_t initialHeight,
                       uint16_t initialBpp)
    : framebuffer_(framebuffer), xres_(initialWidth), yres_(initialHeight), bpp_(initialBpp) {
    if (!isSupportedDepth(initialBpp) || initialWidth == 0 || initialHeight == 0 ||
        initialWidth > kMaxXres || initialHeight > kMaxYres)
        throw InputError(fmt::format("dispi: initial mode {}x{}x{} is out of range", initialWidth,
                                     initialHeight, initialBpp));
}

void BochsDispi::read(uint64_t offset, std::span<uint8_t> data) {
    std::lock_guard lock(mutex_);
    if (offset == kIndexPort) {
        returnWord(data, index_);
        return;
    }
    if (offset == kDataPort && index_ < kIndexCount) {
        returnWord(data, readRegister(index_));
        return;
    }
    ++unknownAccesses_;
    returnWord(data, 0);
}

void BochsDispi::write(uint64_t offset, std::span<const uint8_t> data) {
    if (data.empty())
        return;
    const uint16_t value = littleEndian16(data);
    std::lock_guard lock(mutex_);
    if (offset == kIndexPort)
        index_ = value;
    else
        writeRegister(index_, value);
}

uint16_t BochsDispi::readByIndex(uint16_t index) {
    std::lock_guard lock(mutex_);
    if (index < kIndexCount)
        return readRegister(index);
    ++unknownAccesses_;
    return 0;
}

void BochsDispi::writeByIndex(uint16_t index, uint16_t value) {
    std::lock_guard lock(mutex_);
    writeRegister(index, value);
}

uint16_t BochsDispi::readRegister(uint16_t index) const {
    const bool caps = (enable_ & kGetCaps) != 0;
    switch (index) {
    case kIndexId:
        return id_;
    case kIndexXres:
        return caps ? kMaxXres : xres_;
    case kIndexYres:
        return caps ? kMaxYres : yres_;
    case kIndexBpp:
        return caps ? kMaxBpp : bpp_;
    case kIndexEnable:
        return enable_;
    case kIndexBank:
        return bank_;
    case kIndexVirtWidth:
        return virtWidth_;
    case kIndexVirtHeight:
        return virtHeight_;
    case kIndexXOffset:
        return xOffset_;
    case kIndexYOffset:
        return yOffset_;
    case kIndexVideoMemory64K:
        return static_cast<uint16_t>(
            std::min(framebuffer_.memorySize() / kVideoMemoryUnit, kRegisterMax));
    default:
        return 0;
    }
}

void BochsDispi::writeRegister(uint16_t index, uint16_t value) {
    const bool enabled = (enable_ & kEnabled) != 0;
    switch (index) {
    case kIndexId:
        if (value >= kId0 && value <= kId5)
            id_ = value;
        else
            ++refusedWrites_;
        return;
    case kIndexXres:
    case kIndexYres: {
        const uint16_t max = index == kIndexXres ? kMaxXres : kMaxYres;
        if (enabled || value == 0 || value > max) {
            ++refusedWrites_;
            return;
        }
        (index == kIndexXres ? xres_ : yres_) = value;
        return;
    }
    case kIndexBpp:
        if (enabled || !isSupportedDepth(value)) {
            ++refusedWrites_;
            return;
        }
        bpp_ = value;
        return;
    case kIndexEnable:
        writeEnable(value);
        return;
    case kIndexBank:
        bank_ = value;
        return;
    case kIndexVirtWidth:
        setVirtualWidth(value);
        return;
    case kIndexXOffset:
        if (!setOffsets(value, yOffset_))
            ++refusedWrites_;
        return;
    case kIndexYOffset:
        if (!setOffsets(xOffset_, value))
            ++refusedWrites_;
        return;
    case kIndexVirtHeight:
    case kIndexVideoMemory64K:
        ++refusedWrites_; // computed / read-only
        return;
    default:
        ++unknownAccesses_;
        return;
    }
}

void BochsDispi::writeEnable(uint16_t value) {
    const bool wasEnabled = (enable_ & kEnabled) != 0;
    if ((value & kEnabled) && !wasEnabled) {
        const uint32_t bytes = bytesPerPixel(bpp_);
        const ScanoutMode mode{true, xres_, yres_, bpp_, xres_ * bytes, 0};
        if (!framebuffer_.fits(mode)) {
            ++refusedWrites_;
            log::get("devices")->warn("dispi: mode {}x{}x{} does not fit {:#x} bytes of video "
                                      "memory; the display stays off",
                                      xres_, yres_, bpp_, framebuffer_.memorySize());
            value = static_cast<uint16_t>(value & ~kEnabled);
        } else {
            // Enabling starts from a virtual screen as wide as the visible one, scrolled to the
            // top left (as Bochs does), and clears what will be shown unless told not to.
            virtWidth_ = xres_;
            virtHeight_ = static_cast<uint16_t>(
                std::min<uint64_t>(framebuffer_.memorySize() / mode.stride, kRegisterMax));
            xOffset_ = 0;
            yOffset_ = 0;
            if (!(value & kNoClearMem))
                std::memset(framebuffer_.memory().data(), 0, mode.extent());
            ++modeSets_;
        }
    }
    enable_ = value;
    publish();
}

void BochsDispi::setVirtualWidth(uint16_t requested) {
    const uint64_t bytes = bytesPerPixel(bpp_);
    const uint64_t memory = framebuffer_.memorySize();
    uint64_t width = std::max<uint64_t>(requested, xres_);
    uint64_t height = memory / (width * bytes);
    if (height < yres_) {
        // Too wide to keep every visible row: keep the rows and take the widest row that fits
        // (Bochs' rule).
        height = yres_;
        width = memory / bytes / height;
    }
    if (width < xres_ || width > kRegisterMax) {
        ++refusedWrites_;
        return;
    }
    virtWidth_ = static_cast<uint16_t>(width);
    virtHeight_ = static_cast<uint16_t>(std::min(height, kRegisterMax));
    if (!setOffsets(xOffset_, yOffset_)) {
        xOffset_ = 0; // the old panning position lies outside the new virtual screen
        yOffset_ = 0;
    }
    publish();
}

bool BochsDispi::setOffsets(uint16_t x, uint16_t y) {
    if (enable_ & kEnabled) {
        ScanoutMode mode = currentMode();
        mode.offset = uint64_t(y) * mode.stride + uint64_t(x) * bytesPerPixel(bpp_);
        if (!framebuffer_.fits(mode))
            return false;
    }
    xOffset_ = x;
    yOffset_ = y;
    publish();
    return true;
}

ScanoutMode BochsDispi::currentMode() const {
    if (!(enable_ & kEnabled))
        return {};
    const uint32_t bytes = bytesPerPixel(bpp_);
    ScanoutMode mode{true, xres_, yres_, bpp_, uint32_t(virtWidth_) * bytes, 0};
    mode.offset = uint64_t(yOffset_) * mode.stride + uint64_t(xOffset_) * bytes;
    return mode;
}

void BochsDispi::publish() {
    framebuffer_.setScanout(currentMode());
}

void BochsDispi::setMode(uint16_t width, uint16_t height, uint16_t bpp) {
    const bool valid = width > 0 && width <= kMaxXres && height > 0 && height <= kMaxYres &&
                       isSupportedDepth(bpp) &&
                       framebuffer_.fits({true, width, height, bpp, width * bytesPerPixel(bpp), 0});
    if (!valid)
        throw InputError(fmt::format("framebuffer mode {}x{}x{}: the dispi offers at most {}x{} "
                                     "at 15, 16, 24 or 32 bpp in {:#x} bytes of video memory",
                                     width, height, bpp, kMaxXres, kMaxYres,
                                     framebuffer_.memorySize()));
    std::lock_guard lock(mutex_);
    writeEnable(0);
    writeRegister(kIndexXres, width);
    writeRegister(kIndexYres, height);
    writeRegister(kIndexBpp, bpp);
    writeEnable(kEnabled | kLfbEnabled);
}

void BochsDispi::describeState(StateVisitor& state) {
    state.group(kIndexGroup, "index");
    state.field("index", index_, AttrAccess::ReadWrite, "the register the data port reaches");

    // Each register as the guest reads it, written through the same path and checks as the
    // guest's write.
    state.group(kRegistersGroup, "registers");
    for (const auto& reg : kRegisterNames) {
        const uint16_t index = reg.index;
        state.computed(
            {reg.name, AttrType::U16, reg.access, reg.description, StateUse::Shown},
            [this, index] { return uint64_t(readRegister(index)); },
            [this, index](uint64_t value) { writeRegister(index, static_cast<uint16_t>(value)); });
    }
    // What the registers read from.
    state.hidden("id", id_);
    state.hidden("xres", xres_);
    state.hidden("yres", yres_);
    state.hidden("bpp", bpp_);
    state.hidden("enable", enable_);
    state.hidden("bank", bank_);
    state.hidden("virtual width", virtWidth_);
    state.hidden("virtual height", virtHeight_);
    state.hidden("x offset", xOffset_);
    state.hidden("y offset", yOffset_);

    state.group(kStatisticsGroup, "statistics");
    state.statistic("refused writes", refusedWrites_,
                    "values out of range, XRES/YRES/BPP while enabled, read-only registers");
    state.statistic("unknown accesses", unknownAccesses_, "registers past VIDEO_MEMORY_64K");
    state.statistic("mode sets", modeSets_, "ENABLE writes that switched a graphics mode on");
}

} // namespace kvmscope
