#include "display/DisplaySource.h"

#include "devices/VgaText.h"
#include "kvm/Vm.h"
#include "machine/FramebufferSlot.h"
#include "machine/GuestMemory.h"

#include <bit>
#include <cstring>

namespace kvmscope::display {
namespace {

constexpr uint64_t kPageSize = 4096;
constexpr unsigned kBitsPerWord = 64;

bool pageDirty(const std::vector<uint64_t>& bitmap, uint64_t page) {
    const uint64_t word = page / kBitsPerWord;
    return word < bitmap.size() && (bitmap[word] >> (page % kBitsPerWord)) & 1;
}

bool anyPageDirty(const std::vector<uint64_t>& bitmap, uint64_t firstPage, uint64_t lastPage) {
    for (uint64_t page = firstPage; page <= lastPage; ++page)
        if (pageDirty(bitmap, page))
            return true;
    return false;
}

// The VGA BIOS's mode-3 palette: the CGA colours, with brown (6) instead of dark yellow.
constexpr uint32_t kTextColours[16] = {
    0x000000, 0x0000AA, 0x00AA00, 0x00AAAA, 0xAA0000, 0xAA00AA, 0xAA5500, 0xAAAAAA,
    0x555555, 0x5555FF, 0x55FF55, 0x55FFFF, 0xFF5555, 0xFF55FF, 0xFFFF55, 0xFFFFFF,
};

} // namespace

const char* toString(UpdateStatus status) {
    switch (status) {
    case UpdateStatus::Copied:
        return "copied";
    case UpdateStatus::Unchanged:
        return "unchanged";
    case UpdateStatus::ModeMismatch:
        return "mode mismatch";
    case UpdateStatus::TextMode:
        return "text mode";
    }
    return "?";
}

uint32_t FrameUpdate::rowsCopied() const {
    uint32_t total = 0;
    for (const RowRange& range : rows)
        total += range.count;
    return total;
}

uint32_t textColour(unsigned index) {
    return kTextColours[index & 0x0F];
}

DisplaySource::DisplaySource(FramebufferSlot* slot, Framebuffer* framebuffer,
                             const VgaText& vgaText, const GuestMemory& memory)
    : slot_(slot), framebuffer_(framebuffer), vgaText_(vgaText), memory_(memory) {
    if (framebuffer_)
        bitmap_.resize(kvm::Vm::dirtyLogWords(framebuffer_->memorySize()));
}

DisplayKind DisplaySource::kind() const {
    return graphicsMode().enabled ? DisplayKind::Graphics : DisplayKind::Text;
}

ScanoutMode DisplaySource::graphicsMode() const {
    return framebuffer_ ? framebuffer_->scanout() : ScanoutMode{};
}

FrameUpdate DisplaySource::update(const FrameTarget& target, bool full) {
    FrameUpdate result;
    if (!framebuffer_ || !slot_)
        return result; // TextMode
    std::lock_guard lock(updateMutex_);
    // The generation is read with the mode: a mode change during the copy below shows up as a
    // new generation next time, which copies everything again.
    const auto [mode, generation] = framebuffer_->scanoutAndGeneration();
    result.mode = mode;
    if (!mode.enabled)
        return result;
    if (!target.pixels || target.width != mode.width || target.height != mode.height ||
        target.format != mode.format() || target.bytesPerLine < mode.rowBytes()) {
        result.status = UpdateStatus::ModeMismatch;
        return result;
    }

    if (!slot_->dirtyLogging()) {
        // The first look: from now on KVM logs the guest's writes (api.rst 4.35: only this flag
        // may change on an existing slot); what it wrote before comes with the full copy below.
        slot_->startDirtyLogging();
        full = true;
    }
    result.full = full || lastGeneration_ != generation || lastTarget_ != target.pixels;
    const uint32_t rowBytes = mode.rowBytes();
    const bool streaming = busyUpdates_ >= kStreamAfterUpdates;
    if (streaming && streamedUpdates_ < kStreamProbeInterval) {
        // A busy screen: copy it whole and leave the log alone, so that the guest's writes do not
        // fault (see the top of DisplaySource.h).
        ++streamedUpdates_;
        result.streamed = true;
        result.full = true;
    } else {
        // A slot moved since the last fetch lost the old slot's bits: copy everything once.
        if (!slot_->fetchDirtyLog(bitmap_))
            result.full = true;
        for (uint64_t word : bitmap_)
            result.dirtyPages += static_cast<uint64_t>(std::popcount(word));
        if (streaming) {
            // The probe: these bits cover the whole streamed stretch and say nothing about the
            // guest now. Copy everything once more; the next update, tracking again, sees one
            // refresh interval's writes and streams again at once if the screen is still busy.
            streamedUpdates_ = 0;
            busyUpdates_ = kStreamAfterUpdates - 1;
            result.full = true;
        } else {
            uint32_t dirtyRows = 0;
            for (uint32_t row = 0; row < mode.height; ++row) {
                const uint64_t start = mode.offset + uint64_t(row) * mode.stride;
                if (!anyPageDirty(bitmap_, start / kPageSize, (start + rowBytes - 1) / kPageSize))
                    continue;
                ++dirtyRows;
                if (!result.rows.empty() &&
                    result.rows.back().first + result.rows.back().count == row)
                    ++result.rows.back().count;
                else
                    result.rows.push_back({row, 1});
            }
            // A full copy (the first update, a new mode or image) starts the count again: its log
            // may cover more than one refresh interval, so it says nothing of the guest's pace.
            const bool busy = !result.full && uint64_t(dirtyRows) * 2 > mode.height;
            busyUpdates_ = busy ? busyUpdates_ + 1 : 0;
        }
    }
    if (result.full)
        result.rows.assign(1, RowRange{0, mode.height});

    // A range of rows that is one block in video memory and in the target (stride = row bytes =
    // line length) is one memcpy: a whole busy frame is a single copy, at the memcpy floor.
    const uint8_t* video = framebuffer_->memory().data() + mode.offset;
    const bool contiguous = mode.stride == rowBytes && target.bytesPerLine == rowBytes;
    for (const RowRange& range : result.rows) {
        if (contiguous) {
            std::memcpy(target.pixels + size_t(range.first) * rowBytes,
                        video + uint64_t(range.first) * rowBytes, size_t(range.count) * rowBytes);
            continue;
        }
        for (uint32_t row = range.first; row < range.first + range.count; ++row)
            std::memcpy(target.pixels + row * target.bytesPerLine,
                        video + uint64_t(row) * mode.stride, rowBytes);
    }
    lastGeneration_ = generation;
    lastTarget_ = target.pixels;
    result.status = result.rows.empty() ? UpdateStatus::Unchanged : UpdateStatus::Copied;
    framebuffer_->recordUpdate(result.dirtyPages, result.rowsCopied());
    return result;
}

TextScreen DisplaySource::textScreen() const {
    TextScreen screen;
    const VgaTextState crtc = vgaText_.state();
    screen.startAddress = crtc.startAddress;
    screen.cursorStart = crtc.cursorStart;
    screen.cursorEnd = crtc.cursorEnd;
    screen.characterHeight = crtc.characterHeight;
    const int cursorCell = int(crtc.cursorLocation) - int(crtc.startAddress);
    const int cells = int(TextScreen::kColumns * TextScreen::kRows);
    screen.cursorVisible = crtc.cursorEnabled && cursorCell >= 0 && cursorCell < cells;
    if (cursorCell >= 0 && cursorCell < cells) {
        screen.cursorRow = unsigned(cursorCell) / TextScreen::kColumns;
        screen.cursorColumn = unsigned(cursorCell) % TextScreen::kColumns;
    }
    // The window lies in guest RAM below 1 MiB, which every machine has (GuestMemory's minimum).
    if (!memory_.contains(kTextBase, kTextWindowSize))
        return screen;
    const auto window = memory_.span(kTextBase, kTextWindowSize);
    for (size_t i = 0; i < screen.cells.size(); ++i) {
        const uint64_t byte = (uint64_t(crtc.startAddress) + i) * 2 % kTextWindowSize;
        screen.cells[i] = {window[byte], window[byte + 1]};
    }
    return screen;
}

} // namespace kvmscope::display
