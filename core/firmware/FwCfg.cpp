#include "firmware/FwCfg.h"

#include "common/Error.h"
#include "machine/GuestMemory.h"

#include <algorithm>
#include <fmt/format.h>

namespace kvmscope::firmware {
namespace {

using namespace fwcfg;

uint32_t loadBigEndian32(const uint8_t* bytes) {
    return uint32_t(bytes[0]) << 24 | uint32_t(bytes[1]) << 16 | uint32_t(bytes[2]) << 8 |
           uint32_t(bytes[3]);
}

void storeBigEndian32(uint8_t* bytes, uint32_t value) {
    bytes[0] = static_cast<uint8_t>(value >> 24);
    bytes[1] = static_cast<uint8_t>(value >> 16);
    bytes[2] = static_cast<uint8_t>(value >> 8);
    bytes[3] = static_cast<uint8_t>(value);
}

std::vector<uint8_t> littleEndian32(uint32_t value) {
    return {static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8),
            static_cast<uint8_t>(value >> 16), static_cast<uint8_t>(value >> 24)};
}

// Selectors the items' table reserves for the files: up to the write flag (0x4000).
constexpr size_t kMaxFiles = kWriteFlag - kFileFirst;

} // namespace

FwCfgItems::FwCfgItems() {
    // "Signature": the four bytes "QEMU". "Revision / feature bitmap": the traditional
    // interface (always) and DMA.
    legacy_.push_back({kSignature, "signature", false, false, {'Q', 'E', 'M', 'U'}});
    legacy_.push_back({kId, "id", false, false, littleEndian32(kIdTraditional | kIdDma)});
    legacy_.push_back({kFileDir, "file directory", false, false, {}});
    rebuildDirectory();
}

void FwCfgItems::addLegacy(uint16_t selector, std::string description, std::vector<uint8_t> data) {
    const uint16_t key = selector & static_cast<uint16_t>(~kWriteFlag);
    if (key != selector || (key >= kFileFirst && key < kArchLocal))
        throw InputError(fmt::format("fw_cfg: selector {:#06x} ({}) is not a legacy item's "
                                     "(below {:#06x} or from {:#06x} on, without bit 14)",
                                     selector, description, kFileFirst, kArchLocal));
    if (find(key))
        throw InputError(
            fmt::format("fw_cfg: selector {:#06x} ({}) is already taken", selector, description));
    FwCfgItem item{key, std::move(description), false, false, std::move(data)};
    const auto at = std::upper_bound(
        legacy_.begin(), legacy_.end(), key,
        [](uint16_t value, const FwCfgItem& other) { return value < other.selector; });
    legacy_.insert(at, std::move(item));
}

void FwCfgItems::addFile(std::string name, std::vector<uint8_t> data, bool writable) {
    if (name.empty() || name.size() >= kFileNameSize || name.find('\0') != std::string::npos)
        throw InputError(fmt::format("fw_cfg: file name '{}' must be 1 to {} bytes without NUL",
                                     name, kFileNameSize - 1));
    if (findFile(name))
        throw InputError(fmt::format("fw_cfg: there is already a file '{}'", name));
    if (files_.size() >= kMaxFiles)
        throw InputError(
            fmt::format("fw_cfg: no selector left for '{}' ({} files at most)", name, kMaxFiles));
    // QEMU keeps the directory sorted by name (strcmp order) and numbers files in that order.
    const auto at = std::upper_bound(
        files_.begin(), files_.end(), name,
        [](const std::string& value, const FwCfgItem& other) { return value < other.name; });
    files_.insert(at, FwCfgItem{0, std::move(name), true, writable, std::move(data)});
    for (size_t index = 0; index < files_.size(); ++index)
        files_[index].selector = static_cast<uint16_t>(kFileFirst + index);
    rebuildDirectory();
}

void FwCfgItems::setFileData(std::string_view name, std::vector<uint8_t> data) {
    const auto file = std::find_if(files_.begin(), files_.end(),
                                   [&](const FwCfgItem& item) { return item.name == name; });
    if (file == files_.end())
        throw InputError(fmt::format("fw_cfg: there is no file '{}'", name));
    file->data = std::move(data);
    rebuildDirectory();
}

// "File Directory": a big-endian count, then per file its big-endian size and selector, two
// reserved bytes and the NUL-padded name.
void FwCfgItems::rebuildDirectory() {
    std::vector<uint8_t> directory(4 + files_.size() * kFileEntrySize, 0);
    storeBigEndian32(directory.data(), static_cast<uint32_t>(files_.size()));
    for (size_t index = 0; index < files_.size(); ++index) {
        uint8_t* entry = directory.data() + 4 + index * kFileEntrySize;
        storeBigEndian32(entry, static_cast<uint32_t>(files_[index].data.size()));
        entry[4] = static_cast<uint8_t>(files_[index].selector >> 8);
        entry[5] = static_cast<uint8_t>(files_[index].selector);
        std::copy(files_[index].name.begin(), files_[index].name.end(), entry + 8);
    }
    for (FwCfgItem& item : legacy_)
        if (item.selector == kFileDir)
            item.data = std::move(directory);
}

const FwCfgItem* FwCfgItems::find(uint16_t selector) const {
    const uint16_t key = selector & static_cast<uint16_t>(~kWriteFlag);
    if (key >= kFileFirst && key < kFileFirst + files_.size())
        return &files_[key - kFileFirst];
    for (const FwCfgItem& item : legacy_)
        if (item.selector == key)
            return &item;
    return nullptr;
}

FwCfgItem* FwCfgItems::find(uint16_t selector) {
    return const_cast<FwCfgItem*>(static_cast<const FwCfgItems&>(*this).find(selector));
}

const FwCfgItem* FwCfgItems::findFile(std::string_view name) const {
    for (const FwCfgItem& item : files_)
        if (item.name == name)
            return &item;
    return nullptr;
}

FwCfg::FwCfg(GuestMemory& memory, FwCfgItems items) : memory_(memory), items_(std::move(items)) {
    for (const auto* list : {&items_.legacyItems(), &items_.files()})
        for (const FwCfgItem& item : *list)
            itemDescriptions_.push_back(fmt::format("selector {:#06x}: size in bytes of this {}",
                                                    item.selector,
                                                    item.isFile ? "file" : "legacy item"));
}

void FwCfg::setFileData(std::string_view name, std::vector<uint8_t> data) {
    std::lock_guard lock(mutex_);
    items_.setFileData(name, std::move(data));
}

FwCfgItems FwCfg::items() const {
    std::lock_guard lock(mutex_);
    return items_;
}

void FwCfg::read(uint64_t offset, std::span<uint8_t> data) {
    std::fill(data.begin(), data.end(), uint8_t(0));
    std::lock_guard lock(mutex_);
    if (offset == kDataOffset) {
        // "Data Register": each read returns the next bytes of the item and advances the
        // offset; past the item's end it reads 0.
        for (uint8_t& byte : data)
            byte = readDataByte();
        dataBytesRead_ += data.size();
        return;
    }
    if (offset >= kDmaOffset && offset + data.size() <= kDmaOffset + kDmaSignature.size()) {
        std::copy_n(kDmaSignature.begin() + static_cast<long>(offset - kDmaOffset), data.size(),
                    data.begin());
        return;
    }
    ++oddAccesses_;
}

void FwCfg::write(uint64_t offset, std::span<const uint8_t> data) {
    std::lock_guard lock(mutex_);
    if (offset == kSelectorOffset && data.size() == 2) {
        select(static_cast<uint16_t>(data[0] | data[1] << 8));
        return;
    }
    if (offset == kDataOffset) {
        // Writes through the data register are ignored since QEMU 2.4 ("Selector (Control)
        // Register" notes); items are written through DMA.
        ++dataWritesIgnored_;
        return;
    }
    // "Guest-side DMA Interface": the register is big endian, so the byte the guest puts at
    // the lower port is the more significant one. A write of the high half (offset 0) only
    // stores it; a write of the low half (offset 4), or of all 64 bits, starts the transfer and
    // the register reads 0 again afterwards.
    const uint64_t registerOffset = offset - kDmaOffset;
    if (offset >= kDmaOffset && (data.size() == 4 || data.size() == 8) &&
        (registerOffset == 0 || (registerOffset == 4 && data.size() == 4))) {
        uint64_t part = 0;
        for (const uint8_t byte : data)
            part = part << 8 | byte;
        if (registerOffset == 0 && data.size() == 4) {
            dmaAddress_ = (part << 32) | (dmaAddress_ & 0xffff'ffffu);
            return;
        }
        const uint64_t address = data.size() == 8 ? part : (dmaAddress_ & ~0xffff'ffffull) | part;
        dmaAddress_ = 0;
        runDma(address);
        return;
    }
    ++oddAccesses_;
}

// "Selector (Control) Register": selecting an item sets the data offset to zero.
void FwCfg::select(uint16_t selector) {
    selector_ = selector;
    offset_ = 0;
    ++selects_;
}

uint64_t FwCfg::selectedSize() const {
    const FwCfgItem* item = items_.find(selector_);
    return item ? item->data.size() : 0;
}

uint8_t FwCfg::readDataByte() {
    const FwCfgItem* item = items_.find(selector_);
    if (!item || offset_ >= item->data.size())
        return 0;
    return item->data[offset_++];
}

void FwCfg::skip(uint32_t length) {
    offset_ = static_cast<uint32_t>(std::min<uint64_t>(uint64_t(offset_) + length, selectedSize()));
}

// Copies `length` bytes of the item from the offset on into guest memory; what lies beyond the
// item's end reads as zero, as through the data port.
bool FwCfg::dmaRead(uint64_t address, uint32_t length) {
    if (length == 0)
        return true;
    if (!memory_.contains(address, length))
        return false;
    const FwCfgItem* item = items_.find(selector_);
    const uint64_t available =
        item && offset_ < item->data.size() ? item->data.size() - offset_ : 0;
    const uint64_t copied = std::min<uint64_t>(available, length);
    if (copied > 0)
        memory_.write(address, item->data.data() + offset_, copied);
    if (copied < length)
        memory_.fill(address + copied, 0, length - copied);
    offset_ += static_cast<uint32_t>(copied);
    return true;
}

// "QEMU prevents starting or finishing the write beyond the end of the item ... Truncated writes
// are dropped entirely. Writes to read-only items are also rejected."
bool FwCfg::dmaWrite(uint64_t address, uint32_t length) {
    FwCfgItem* item = items_.find(selector_);
    if (!item || !item->writable || uint64_t(offset_) + length > item->data.size())
        return false;
    if (length == 0)
        return true;
    if (!memory_.contains(address, length))
        return false;
    memory_.read(address, item->data.data() + offset_, length);
    offset_ += length;
    return true;
}

void FwCfg::runDma(uint64_t accessAddress) {
    ++dmaTransfers_;
    // The FWCfgDmaAccess structure; where it is not in RAM there is no control word to report
    // an error in, so the transfer is only counted.
    if (!memory_.contains(accessAddress, kDmaAccessSize)) {
        ++dmaBadDescriptors_;
        return;
    }
    uint8_t access[kDmaAccessSize];
    memory_.read(accessAddress, access, sizeof access);
    const uint32_t control = loadBigEndian32(access);
    const uint32_t length = loadBigEndian32(access + 4);
    const uint64_t address =
        uint64_t(loadBigEndian32(access + 8)) << 32 | loadBigEndian32(access + 12);

    // Select first, then one operation: read, else write, else skip.
    if (control & kDmaSelect)
        select(static_cast<uint16_t>(control >> 16));
    bool ok = true;
    if (control & kDmaRead)
        ok = dmaRead(address, length);
    else if (control & kDmaWrite)
        ok = dmaWrite(address, length);
    else if (control & kDmaSkip)
        skip(length);
    // "To check the result, read the control field": all bits clear on success, the error bit
    // otherwise.
    uint8_t result[4];
    storeBigEndian32(result, ok ? 0 : kDmaError);
    memory_.write(accessAddress, result, sizeof result);
    if (!ok)
        ++dmaErrors_;
}

void FwCfg::describeState(StateVisitor& state) {
    state.group(kRegistersGroup, "registers");
    state.field(
        "selector", selector_, AttrAccess::ReadWrite,
        "the item selected last (port 0x510 or a DMA select); writing it selects an item "
        "and sets the data offset to 0",
        FieldHooks::writtenBy([this](uint64_t value) { select(static_cast<uint16_t>(value)); }));
    state.field("data offset", offset_, AttrAccess::Read,
                "the next byte of the selected item that port 0x511 or a DMA read returns");
    state.field("DMA address", dmaAddress_, AttrAccess::Read,
                "the DMA address register (port 0x514, big endian): the high half written so "
                "far; 0 after each transfer");
    state.group(kStatisticsGroup, "statistics");
    state.statistic("selects", selects_, "items selected (port or DMA)");
    state.statistic("data bytes read", dataBytesRead_, "bytes read through port 0x511");
    state.statistic("data writes ignored", dataWritesIgnored_,
                    "writes to port 0x511 (ignored: items are written through DMA)");
    state.statistic("DMA transfers", dmaTransfers_, "transfers started through port 0x518");
    state.statistic("DMA errors", dmaErrors_,
                    "transfers that ended with the error bit: a buffer outside RAM, or a write "
                    "to a read-only item or past an item's end");
    state.statistic("DMA bad descriptors", dmaBadDescriptors_,
                    "transfers whose FWCfgDmaAccess structure lay outside RAM (nothing done)");
    state.statistic("odd accesses", oddAccesses_,
                    "accesses of a width or at an offset the device does not decode");
    state.group(kItemsGroup, "items");
    // One attribute per item, its size: the items are fixed when the device is made (only
    // their bytes change at boot), so the declarations are the same every time.
    size_t index = 0;
    for (const auto* list : {&items_.legacyItems(), &items_.files()})
        for (const FwCfgItem& item : *list) {
            const uint16_t selector = item.selector;
            state.readOnly(item.name, AttrType::U32, itemDescriptions_.at(index++),
                           [this, selector]() -> uint64_t {
                               const FwCfgItem* current = items_.find(selector);
                               return current ? current->data.size() : 0;
                           });
        }
}

} // namespace kvmscope::firmware
