#include "devices/VgaText.h"

#include <algorithm>
#include <fmt/format.h>
#include <optional>

namespace kvmscope {
namespace {

// The CRTC registers a VGA BIOS programs for mode 3 (80 x 25 colour text, 9 x 16 cells, 720 x 400
// at 70 Hz): IBM VGA Technical Reference, "Video Parameter Table", mode 3+. The cursor covers scan
// lines 13-14, the underline position.
constexpr std::array<uint8_t, VgaText::kCrtcRegisterCount> kMode3Crtc = {
    0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00,
    0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF,
};

constexpr uint8_t kUnclaimed = 0xFF;

} // namespace

VgaText::VgaText() : crtc_(kMode3Crtc) {}

void VgaText::read(uint64_t offset, std::span<uint8_t> data) {
    std::lock_guard lock(mutex_);
    // Each byte of a wider access reads the next port.
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = readPort(offset + i);
}

void VgaText::write(uint64_t offset, std::span<const uint8_t> data) {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < data.size(); ++i)
        writePort(offset + i, data[i]);
}

uint8_t VgaText::readPort(uint64_t offset) {
    switch (offset) {
    case kCrtcIndexOffset:
        return index_;
    case kCrtcDataOffset:
        if (index_ < kCrtcRegisterCount)
            return crtc_[index_];
        ++unknownAccesses_;
        return kUnclaimed;
    case kCgaModeOffset:
        return cgaMode_;
    case kCgaColourOffset:
        return cgaColour_;
    case kInputStatusOffset: {
        const bool retrace = (statusReads_++ & 1) != 0;
        return retrace ? (kVerticalRetrace | kDisplayDisabled) : 0;
    }
    default:
        ++unknownAccesses_;
        return kUnclaimed;
    }
}

void VgaText::writePort(uint64_t offset, uint8_t value) {
    switch (offset) {
    case kCrtcIndexOffset:
        index_ = value;
        return;
    case kCrtcDataOffset:
        writeCrtc(index_, value);
        return;
    case kCgaModeOffset:
        cgaMode_ = value;
        return;
    case kCgaColourOffset:
        cgaColour_ = value;
        return;
    default: // 0x3D6, 0x3D7, and 0x3DA (feature control on writes: not emulated)
        ++unknownAccesses_;
        return;
    }
}

void VgaText::writeCrtc(uint8_t index, uint8_t value) {
    if (index >= kCrtcRegisterCount) {
        ++ignoredWrites_;
        return;
    }
    // Register 0x11 bit 7 write-protects registers 0-7; only the line compare's bit 8 (bit 4 of
    // the overflow register) stays writable.
    if (index <= kOverflow && (crtc_[kVerticalRetraceEndProtect] & kProtectRegisters)) {
        if (index == kOverflow)
            crtc_[kOverflow] = static_cast<uint8_t>((crtc_[kOverflow] & ~kLineCompareBit8) |
                                                    (value & kLineCompareBit8));
        ++ignoredWrites_;
        return;
    }
    crtc_[index] = value;
}

VgaTextState VgaText::decode() const {
    VgaTextState state;
    state.startAddress =
        static_cast<uint16_t>(crtc_[kStartAddressHigh] << 8 | crtc_[kStartAddressLow]);
    state.cursorLocation =
        static_cast<uint16_t>(crtc_[kCursorLocationHigh] << 8 | crtc_[kCursorLocationLow]);
    state.cursorEnabled = !(crtc_[kCursorStart] & kCursorDisable);
    state.cursorStart = crtc_[kCursorStart] & kScanLineMask;
    state.cursorEnd = crtc_[kCursorEnd] & kScanLineMask;
    state.characterHeight = static_cast<uint8_t>((crtc_[kMaximumScanLine] & kScanLineMask) + 1);
    return state;
}

VgaTextState VgaText::state() const {
    std::lock_guard lock(mutex_);
    return decode();
}

void VgaText::describeState(StateVisitor& state) {
    state.group(kIndexGroup, "index");
    state.field("index", index_, AttrAccess::ReadWrite, "the CRTC register the data port reaches");

    // Each CRTC register, written through the same path and protection as the guest's write.
    state.group(kCrtcGroup, "CRTC");
    for (uint8_t index = 0; index < kCrtcRegisterCount; ++index) {
        const char* what = "";
        switch (index) {
        case kMaximumScanLine:
            what = "maximum scan line (bits 0-4: character height - 1)";
            break;
        case kCursorStart:
            what = "cursor start (bit 5: cursor off; bits 0-4: first scan line)";
            break;
        case kCursorEnd:
            what = "cursor end (bits 0-4: last scan line)";
            break;
        case kStartAddressHigh:
        case kStartAddressLow:
            what = "start address (cell shown top left)";
            break;
        case kCursorLocationHigh:
        case kCursorLocationLow:
            what = "cursor location (cell)";
            break;
        case kVerticalRetraceEndProtect:
            what = "vertical retrace end (bit 7: protect registers 0-7)";
            break;
        default:
            what = "timing (stored, not interpreted)";
            break;
        }
        state.readWrite(
            fmt::format("CR{:02X}", index), AttrType::U8, what,
            [this, index] { return crtc_[index]; },
            [this, index](uint64_t value) { writeCrtc(index, static_cast<uint8_t>(value)); });
    }
    state.hidden("registers", crtc_);
    state.hidden("CGA mode", cgaMode_);
    state.hidden("CGA colour", cgaColour_);

    state.group(kCursorGroup, "cursor");
    // The cursor's cell on the 80 x 25 screen, or none when it lies outside.
    auto cursorCell = [this]() -> std::optional<unsigned> {
        const VgaTextState decoded = decode();
        const int cell = int(decoded.cursorLocation) - int(decoded.startAddress);
        if (cell < 0 || cell >= int(kColumns * kRows))
            return std::nullopt;
        return unsigned(cell);
    };
    state.readOnly("row", AttrType::U32, "cursor row on the screen (from the start address)",
                   [cursorCell] { return uint64_t(cursorCell().value_or(0) / kColumns); });
    state.readOnly("column", AttrType::U32, "cursor column",
                   [cursorCell] { return uint64_t(cursorCell().value_or(0) % kColumns); });
    state.readOnly("visible", AttrType::Bool, "cursor enabled and on the 80 x 25 screen",
                   [this, cursorCell] {
                       return uint64_t(cursorCell().has_value() && decode().cursorEnabled);
                   });
    state.readOnly("start address", AttrType::U16, "first cell shown, counted from 0xB8000",
                   [this] { return uint64_t(decode().startAddress); });

    state.group(kStatisticsGroup, "statistics");
    state.statistic("ignored writes", ignoredWrites_,
                    "writes to protected registers 0-7 or to indices beyond 0x18");
    state.statistic("unknown accesses", unknownAccesses_,
                    "0x3D6/0x3D7, index beyond 0x18 on reads");
    state.statistic("status reads", statusReads_, "reads of input status 1 (0x3DA)");
}

} // namespace kvmscope
