#include "devices/ide/AtaDisk.h"

#include "storage/DiskImage.h"

#include <algorithm>

namespace kvmscope::ide {
namespace {

constexpr uint32_t kSector = 512;
constexpr uint8_t kDefaultHeads = 16;
constexpr uint8_t kDefaultSectorsPerTrack = 63;
constexpr uint64_t kMaxCylinders = 16383;  // identify word 1's limit (ATA/ATAPI-6, 6.2.1)
constexpr uint64_t kMaxLba28 = 0x0fffffff; // sectors a 28-bit command can reach
constexpr uint8_t kStatusDone = kStatusReady | kStatusSeekComplete;

bool isExtended(uint8_t opcode) {
    switch (opcode) {
    case kCmdReadSectorsExt:
    case kCmdReadDmaExt:
    case kCmdReadMultipleExt:
    case kCmdWriteSectorsExt:
    case kCmdWriteDmaExt:
    case kCmdWriteMultipleExt:
    case kCmdReadVerifyExt:
        return true;
    default:
        return false;
    }
}

bool isWrite(uint8_t opcode) {
    switch (opcode) {
    case kCmdWriteSectors:
    case kCmdWriteSectorsNoRetry:
    case kCmdWriteSectorsExt:
    case kCmdWriteDma:
    case kCmdWriteDmaNoRetry:
    case kCmdWriteDmaExt:
    case kCmdWriteMultiple:
    case kCmdWriteMultipleExt:
        return true;
    default:
        return false;
    }
}

bool isDma(uint8_t opcode) {
    switch (opcode) {
    case kCmdReadDma:
    case kCmdReadDmaNoRetry:
    case kCmdReadDmaExt:
    case kCmdWriteDma:
    case kCmdWriteDmaNoRetry:
    case kCmdWriteDmaExt:
        return true;
    default:
        return false;
    }
}

bool isMultiple(uint8_t opcode) {
    switch (opcode) {
    case kCmdReadMultiple:
    case kCmdReadMultipleExt:
    case kCmdWriteMultiple:
    case kCmdWriteMultipleExt:
        return true;
    default:
        return false;
    }
}

} // namespace

AtaDisk::AtaDisk(storage::DiskImage& image, TaskFile& registers, IdeBus& bus, std::string serial)
    : IdeDrive(image, registers, bus, std::move(serial)) {
    // The usual translation of a large disk: 16 heads, 63 sectors a track, as many cylinders as
    // fit (at least one, at most 16383).
    heads_ = kDefaultHeads;
    sectorsPerTrack_ = kDefaultSectorsPerTrack;
    cylinders_ = static_cast<uint16_t>(std::clamp<uint64_t>(
        image.sectors() / (kDefaultHeads * kDefaultSectorsPerTrack), 1, kMaxCylinders));
    currentHeads_ = heads_;
    currentSectorsPerTrack_ = sectorsPerTrack_;
    reset();
}

void AtaDisk::reset() {
    IdeDrive::reset();
    regs_.setSignature(0, 0);
    regs_.status = kStatusDone;
}

std::vector<uint8_t> AtaDisk::identify() const {
    // ATA/ATAPI-6, 8.15 "IDENTIFY DEVICE", table 20.
    std::array<uint16_t, 256> words{};
    const uint64_t sectors = image_.sectors();
    words[0] = 0x0040; // an ATA device, not removable
    words[1] = cylinders_;
    words[3] = heads_;
    words[6] = sectorsPerTrack_;
    words[47] = 0x8000 | kMaxMultiple; // READ/WRITE MULTIPLE: at most 16 sectors a block
    words[49] = 0x0b00;                // IORDY supported, LBA supported, DMA supported
    words[50] = 0x4000;
    words[51] = 0x0200; // PIO data transfer cycle timing mode (obsolete)
    words[52] = 0x0200;
    const uint64_t trackSize = uint64_t{currentHeads_} * currentSectorsPerTrack_;
    const uint64_t currentCylinders =
        trackSize ? std::min<uint64_t>(sectors / trackSize, 0xffff) : 0;
    const uint64_t currentCapacity = currentCylinders * trackSize;
    words[54] = static_cast<uint16_t>(currentCylinders);
    words[55] = currentHeads_;
    words[56] = currentSectorsPerTrack_;
    words[57] = static_cast<uint16_t>(currentCapacity);
    words[58] = static_cast<uint16_t>(currentCapacity >> 16);
    words[59] = multiple_ ? static_cast<uint16_t>(0x0100 | multiple_) : 0;
    const uint64_t lba28 = std::min(sectors, kMaxLba28);
    words[60] = static_cast<uint16_t>(lba28);
    words[61] = static_cast<uint16_t>(lba28 >> 16);
    // Command sets: 82 NOP and write cache supported; 83 bit 14 (valid), FLUSH CACHE EXT,
    // FLUSH CACHE and the 48-bit address feature set; 85-87 what is enabled.
    words[82] = 0x4020;
    words[83] = 0x7400;
    words[84] = 0x4000;
    words[85] = static_cast<uint16_t>(0x4000 | (writeCacheEnabled_ ? 0x0020 : 0));
    words[86] = 0x3400;
    words[87] = 0x4000;
    for (unsigned i = 0; i < 4; ++i)
        words[100 + i] = static_cast<uint16_t>(sectors >> (16 * i));
    fillSharedIdentify(words);
    return identifyBytes(words);
}

void AtaDisk::execute(uint8_t opcode) {
    if (executeShared(opcode))
        return;
    switch (opcode) {
    case kCmdIdentify:
        startReply(identify(), kSector);
        return;
    case kCmdReadSectors:
    case kCmdReadSectorsNoRetry:
    case kCmdReadSectorsExt:
    case kCmdReadMultiple:
    case kCmdReadMultipleExt:
    case kCmdReadDma:
    case kCmdReadDmaNoRetry:
    case kCmdReadDmaExt:
    case kCmdWriteSectors:
    case kCmdWriteSectorsNoRetry:
    case kCmdWriteSectorsExt:
    case kCmdWriteMultiple:
    case kCmdWriteMultipleExt:
    case kCmdWriteDma:
    case kCmdWriteDmaNoRetry:
    case kCmdWriteDmaExt:
        readWrite(opcode);
        return;
    case kCmdReadVerify:
    case kCmdReadVerifyNoRetry:
    case kCmdReadVerifyExt: {
        uint64_t lba = 0;
        uint32_t count = 0;
        if (address(isExtended(opcode), lba, count))
            complete();
        return;
    }
    case kCmdSetMultipleMode: {
        // 8.39: a power of two up to the maximum in word 47; 0 turns multiple mode off.
        const uint8_t count = regs_.count;
        if (count > kMaxMultiple || (count & (count - 1)) != 0)
            return fail(kErrorAborted);
        multiple_ = count;
        return complete();
    }
    case kCmdFlushCache:
    case kCmdFlushCacheExt:
        return flush();
    case kCmdInitializeParameters:
        // Obsolete since ATA-6 but still issued by old BIOSes and DOS: the geometry CHS
        // addresses use from now on.
        if (regs_.count == 0)
            return fail(kErrorAborted);
        currentSectorsPerTrack_ = regs_.count;
        currentHeads_ = static_cast<uint8_t>((regs_.device & kDeviceHeadMask) + 1);
        return complete();
    case kCmdSeek:
        return complete();
    default:
        if ((opcode & 0xf0) == kCmdRecalibrate)
            return complete();
        // NOP, DEVICE RESET, PACKET, IDENTIFY PACKET DEVICE and everything unknown.
        return fail(kErrorAborted);
    }
}

bool AtaDisk::address(bool ext, uint64_t& lba, uint32_t& count) {
    if (ext) {
        lba = regs_.lba48();
        count = regs_.count48();
    } else if (regs_.device & kDeviceLba) {
        lba = regs_.lba28();
        count = regs_.count28();
    } else {
        const uint64_t cylinder = uint64_t{regs_.lbaMid} | uint64_t{regs_.lbaHigh} << 8;
        const uint8_t head = regs_.device & kDeviceHeadMask;
        const uint8_t sector = regs_.lbaLow;
        count = regs_.count28();
        if (sector == 0 || sector > currentSectorsPerTrack_ || head >= currentHeads_) {
            fail(kErrorIdNotFound);
            return false;
        }
        lba = (cylinder * currentHeads_ + head) * currentSectorsPerTrack_ + sector - 1;
    }
    if (lba > image_.sectors() || count > image_.sectors() - lba) {
        fail(kErrorIdNotFound);
        return false;
    }
    return true;
}

void AtaDisk::readWrite(uint8_t opcode) {
    const bool writing = isWrite(opcode);
    const bool multiple = isMultiple(opcode);
    if (multiple && multiple_ == 0)
        return fail(kErrorAborted); // 8.23: READ MULTIPLE before SET MULTIPLE MODE
    if (writing && image_.readOnly())
        return fail(kErrorAborted);
    uint64_t lba = 0;
    uint32_t count = 0;
    if (!address(isExtended(opcode), lba, count))
        return;
    const uint64_t offset = lba * kSector;
    const uint64_t bytes = uint64_t{count} * kSector;
    const uint32_t block = multiple ? multiple_ * kSector : kSector;
    if (isDma(opcode))
        startDma(offset, bytes, !writing);
    else if (writing)
        startDataOut(offset, bytes, block);
    else
        startDataIn(offset, bytes, block);
}

void AtaDisk::flush() {
    // The image's data reaches the disk (fdatasync) before the command completes.
    if (image_.flush() != 0)
        return fail(kErrorAborted);
    complete();
}

void AtaDisk::announceBlock() {
    // PIO data-in (ATA/ATAPI-6, 9.7): each block is announced with DRQ and an interrupt.
    regs_.status = kStatusDone | kStatusDataRequest;
    bus_.interrupt();
}

void AtaDisk::dataInDone() {
    complete(false); // no interrupt after the last block of a PIO read
}

void AtaDisk::blockWritten() {
    if (phase_ != Phase::DataOut)
        return;
    iovec vector{buffer_.data(), buffer_.size()};
    if (image_.write(&vector, 1, offset_) != 0)
        return fail(kErrorAborted);
    offset_ += buffer_.size();
    sectorsWritten_ += buffer_.size() / kSector;
    if (remaining_ == 0)
        return complete(); // PIO data-out (9.8): an interrupt after the last block
    const auto count = static_cast<uint32_t>(std::min<uint64_t>(blockLimit_, remaining_));
    buffer_.assign(count, 0);
    position_ = 0;
    remaining_ -= count;
    regs_.status = kStatusDone | kStatusDataRequest;
    bus_.interrupt();
}

void AtaDisk::mediumError() {
    fail(kErrorUncorrectable);
}

void AtaDisk::dmaDone() {
    complete();
}

void AtaDisk::describeOwnState(StateVisitor& state) {
    state.readOnly("cylinders", AttrType::U16, "default geometry: cylinders (identify word 1)",
                   [this] { return uint64_t(cylinders_); });
    state.readOnly("heads", AttrType::U8, "default geometry: heads (identify word 3)",
                   [this] { return uint64_t(heads_); });
    state.readOnly("sectors per track", AttrType::U8,
                   "default geometry: sectors per track (identify word 6)",
                   [this] { return uint64_t(sectorsPerTrack_); });
    state.field("current heads", currentHeads_, AttrAccess::Read,
                "the geometry CHS addresses use (INITIALIZE DEVICE PARAMETERS)");
    state.field("current sectors per track", currentSectorsPerTrack_, AttrAccess::Read,
                "the geometry CHS addresses use (INITIALIZE DEVICE PARAMETERS)");
    state.field("multiple", multiple_, AttrAccess::Read,
                "sectors per block of READ/WRITE MULTIPLE (SET MULTIPLE MODE); 0: not set",
                FieldHooks::checkedBy([](uint64_t value) {
                    return value <= kMaxMultiple ? std::string() : std::string("at most 16");
                }));
}

} // namespace kvmscope::ide
