#include "devices/ide/IdeDrive.h"

#include "storage/DiskImage.h"

#include <algorithm>
#include <cstring>

namespace kvmscope::ide {
namespace {

constexpr uint8_t kStatusDone = kStatusReady | kStatusSeekComplete;
constexpr const char* kFirmwareRevision = "1.0";
constexpr uint8_t kIdentifyChecksumSignature = 0xa5; // word 255 bits 7-0 (8.15.61)

} // namespace

uint64_t TaskFile::lba28() const {
    return uint64_t{lbaLow} | uint64_t{lbaMid} << 8 | uint64_t{lbaHigh} << 16 |
           static_cast<uint64_t>(device & kDeviceHeadMask) << 24;
}

uint64_t TaskFile::lba48() const {
    return uint64_t{lbaLow} | uint64_t{lbaMid} << 8 | uint64_t{lbaHigh} << 16 |
           uint64_t{lbaLowPrevious} << 24 | uint64_t{lbaMidPrevious} << 32 |
           uint64_t{lbaHighPrevious} << 40;
}

uint32_t TaskFile::count48() const {
    const uint32_t value = uint32_t{countPrevious} << 8 | count;
    return value ? value : 65536u;
}

void TaskFile::setSignature(uint8_t mid, uint8_t high) {
    // ATA/ATAPI-6, 9.12 "Signature and persistence": sector count 1, LBA low 1, and LBA
    // mid/high 0/0 for a disk, 14h/EBh for a packet device.
    count = countPrevious = 1;
    lbaLow = lbaLowPrevious = 1;
    lbaMid = lbaMidPrevious = mid;
    lbaHigh = lbaHighPrevious = high;
    device &= kDeviceSlave; // the head bits and LBA clear; the selection stays
}

const char* toString(DriveKind kind) {
    return kind == DriveKind::Disk ? "ATA disk" : "ATAPI CD-ROM";
}

IdeDrive::IdeDrive(storage::DiskImage& image, TaskFile& registers, IdeBus& bus, std::string serial)
    : image_(image), regs_(registers), bus_(bus), serial_(std::move(serial)) {}

void IdeDrive::command(uint8_t opcode) {
    ++commands_;
    regs_.command = opcode;
    phase_ = Phase::Idle;
    execute(opcode);
}

void IdeDrive::reset() {
    phase_ = Phase::Idle;
    buffer_.clear();
    position_ = 0;
    reply_.clear();
    replyPosition_ = 0;
    remaining_ = 0;
    regs_.error = kErrorDiagnosticPassed;
}

void IdeDrive::holdInReset() {
    phase_ = Phase::Idle;
    buffer_.clear();
    position_ = 0;
    remaining_ = 0;
    regs_.status = kStatusBusy;
}

bool IdeDrive::readData(std::span<uint8_t> data) {
    std::fill(data.begin(), data.end(), uint8_t(0));
    if (phase_ != Phase::DataIn || position_ >= buffer_.size())
        return false;
    const size_t count = std::min<size_t>(data.size(), buffer_.size() - position_);
    std::memcpy(data.data(), buffer_.data() + position_, count);
    position_ += static_cast<uint32_t>(count);
    if (position_ == buffer_.size()) {
        if (remaining_ > 0) {
            if (loadBlock())
                announceBlock();
        } else {
            dataInDone();
        }
    }
    return true;
}

bool IdeDrive::writeData(std::span<const uint8_t> data) {
    if ((phase_ != Phase::DataOut && phase_ != Phase::Packet) || position_ >= buffer_.size())
        return false;
    const size_t count = std::min<size_t>(data.size(), buffer_.size() - position_);
    std::memcpy(buffer_.data() + position_, data.data(), count);
    position_ += static_cast<uint32_t>(count);
    if (position_ == buffer_.size())
        blockWritten();
    return true;
}

void IdeDrive::complete(bool interrupt) {
    phase_ = Phase::Idle;
    regs_.status = kStatusDone;
    if (interrupt)
        bus_.interrupt();
}

void IdeDrive::fail(uint8_t error) {
    phase_ = Phase::Idle;
    remaining_ = 0;
    regs_.status = kStatusDone | kStatusError;
    regs_.error = error;
    ++errors_;
    bus_.interrupt();
}

void IdeDrive::startDataIn(uint64_t offset, uint64_t bytes, uint32_t blockLimit) {
    fromReply_ = false;
    offset_ = offset;
    remaining_ = bytes;
    blockLimit_ = std::max<uint32_t>(blockLimit, 2);
    phase_ = Phase::DataIn;
    if (loadBlock())
        announceBlock();
}

void IdeDrive::startReply(std::vector<uint8_t> reply, uint32_t blockLimit) {
    fromReply_ = true;
    reply_ = std::move(reply);
    replyPosition_ = 0;
    remaining_ = reply_.size();
    blockLimit_ = std::max<uint32_t>(blockLimit, 2);
    phase_ = Phase::DataIn;
    if (loadBlock())
        announceBlock();
}

bool IdeDrive::loadBlock() {
    const auto count = static_cast<uint32_t>(std::min<uint64_t>(blockLimit_, remaining_));
    buffer_.assign(count, 0);
    position_ = 0;
    if (fromReply_) {
        const size_t available =
            replyPosition_ < reply_.size() ? reply_.size() - replyPosition_ : 0;
        if (available > 0)
            std::memcpy(buffer_.data(), reply_.data() + replyPosition_,
                        std::min<size_t>(count, available));
        replyPosition_ += count;
    } else {
        iovec vector{buffer_.data(), count};
        if (image_.read(&vector, 1, offset_) != 0) {
            mediumError();
            return false;
        }
        offset_ += count;
        sectorsRead_ += count / sectorSize();
    }
    remaining_ -= count;
    return true;
}

void IdeDrive::startDataOut(uint64_t offset, uint64_t bytes, uint32_t blockLimit) {
    fromReply_ = false;
    offset_ = offset;
    blockLimit_ = std::max<uint32_t>(blockLimit, 2);
    const auto count = static_cast<uint32_t>(std::min<uint64_t>(blockLimit_, bytes));
    buffer_.assign(count, 0);
    position_ = 0;
    remaining_ = bytes - count;
    phase_ = Phase::DataOut;
    // PIO data-out (ATA/ATAPI-6, 9.8): DRQ for the first block without an interrupt.
    regs_.status = kStatusDone | kStatusDataRequest;
}

void IdeDrive::startDma(uint64_t offset, uint64_t bytes, bool toMemory) {
    fromReply_ = false;
    offset_ = offset;
    remaining_ = bytes;
    dmaToMemory_ = toMemory;
    phase_ = Phase::DmaWait;
    regs_.status = kStatusBusy | kStatusDone | kStatusDataRequest;
}

void IdeDrive::startReplyDma(std::vector<uint8_t> reply) {
    fromReply_ = true;
    reply_ = std::move(reply);
    replyPosition_ = 0;
    offset_ = 0;
    remaining_ = reply_.size();
    dmaToMemory_ = true;
    phase_ = Phase::DmaWait;
    regs_.status = kStatusBusy | kStatusDone | kStatusDataRequest;
}

void IdeDrive::dmaTransfer(const std::vector<iovec>& regions) {
    if (fromReply_) {
        size_t from = replyPosition_;
        for (const iovec& region : regions) {
            const size_t available = from < reply_.size() ? reply_.size() - from : 0;
            const size_t count = std::min(region.iov_len, available);
            if (count > 0)
                std::memcpy(region.iov_base, reply_.data() + from, count);
            std::memset(static_cast<uint8_t*>(region.iov_base) + count, 0, region.iov_len - count);
            from += region.iov_len;
        }
    } else {
        const int count = static_cast<int>(regions.size());
        const int error = dmaToMemory_ ? image_.read(regions.data(), count, offset_)
                                       : image_.write(regions.data(), count, offset_);
        if (error != 0) {
            if (dmaToMemory_)
                mediumError();
            else
                fail(kErrorAborted);
            return;
        }
        (dmaToMemory_ ? sectorsRead_ : sectorsWritten_) += remaining_ / sectorSize();
    }
    ++dmaTransfers_;
    remaining_ = 0;
    phase_ = Phase::Idle;
    dmaDone();
}

void IdeDrive::dmaFailed(bool interrupt) {
    phase_ = Phase::Idle;
    remaining_ = 0;
    regs_.status = kStatusDone | kStatusError;
    regs_.error = kErrorAborted;
    ++errors_;
    if (interrupt)
        bus_.interrupt();
}

bool IdeDrive::executeShared(uint8_t opcode) {
    switch (opcode) {
    case kCmdSetFeatures:
        setFeatures();
        return true;
    case kCmdCheckPowerMode:
    case kCmdCheckPowerModeOld:
        regs_.count = 0xff; // active or idle (8.6)
        complete();
        return true;
    case kCmdIdle:
    case kCmdIdleOld:
    case kCmdIdleImmediate:
    case kCmdIdleImmediateOld:
    case kCmdStandby:
    case kCmdStandbyOld:
    case kCmdStandbyImmediate:
    case kCmdStandbyImmediateOld:
    case kCmdSleep:
    case kCmdSleepOld:
        // No power states: the drive is always ready, as after the command.
        complete();
        return true;
    default:
        return false;
    }
}

void IdeDrive::setFeatures() {
    switch (regs_.features) {
    case kFeatureSetTransferMode: {
        const uint8_t mode = regs_.count;
        const uint8_t number = mode & 0x07;
        if (mode == kModePioDefault || mode == kModePioDefaultNoIordy)
            pioMode_ = 0;
        else if ((mode & 0xf8) == kModePio && number <= kMaxPioMode)
            pioMode_ = number;
        else if ((mode & 0xf8) == kModeMultiwordDma && number <= kMaxMultiwordDmaMode)
            dmaMode_ = mode;
        else if ((mode & 0xf8) == kModeUltraDma && number <= kMaxUltraDmaMode)
            dmaMode_ = mode;
        else
            return fail(kErrorAborted);
        break;
    }
    case kFeatureEnableWriteCache:
        writeCacheEnabled_ = true;
        break;
    case kFeatureDisableWriteCache:
        writeCacheEnabled_ = false;
        break;
    case kFeatureEnableReadLookAhead:
    case kFeatureDisableReadLookAhead:
    case kFeatureEnableDefaults:
    case kFeatureDisableDefaults:
        break; // nothing to look ahead into or revert
    default:
        return fail(kErrorAborted);
    }
    complete();
}

void IdeDrive::putString(std::array<uint16_t, 256>& words, unsigned first, unsigned count,
                         const std::string& text) {
    // ATA strings (ATA/ATAPI-6, 3.2.9): two characters a word, the first in bits 15-8, padded
    // with spaces.
    for (unsigned i = 0; i < 2 * count; ++i) {
        const auto c = static_cast<uint8_t>(i < text.size() ? text[i] : ' ');
        words[first + i / 2] |= static_cast<uint16_t>(i % 2 == 0 ? c << 8 : c);
    }
}

void IdeDrive::fillSharedIdentify(std::array<uint16_t, 256>& words) const {
    putString(words, 10, 10, serial_); // serial number, 20 characters
    putString(words, 23, 4, kFirmwareRevision);
    putString(words, 27, 20, model());
    words[53] = 0x0007; // words 54-58, 64-70 and 88 are valid
    // Multiword DMA 0-2 supported, the selected one in bits 10-8.
    words[63] = 0x0007;
    if ((dmaMode_ & 0xf8) == kModeMultiwordDma)
        words[63] |= static_cast<uint16_t>(0x100 << (dmaMode_ & 7));
    words[64] = 0x0003; // PIO modes 3 and 4
    words[65] = 120;    // minimum multiword DMA cycle time (ns)
    words[66] = 120;    // recommended
    words[67] = 120;    // minimum PIO cycle time without flow control
    words[68] = 120;    // with IORDY
    words[80] = 0x007e; // major version: ATA-1 to ATA/ATAPI-6
    // Ultra DMA 0-5 supported, the selected one in bits 13-8.
    words[88] = 0x003f;
    if ((dmaMode_ & 0xf8) == kModeUltraDma)
        words[88] |= static_cast<uint16_t>(0x100 << (dmaMode_ & 7));
    words[93] = 0x6001; // hardware reset result: device 0 passed, 80-conductor cable
}

std::vector<uint8_t> IdeDrive::identifyBytes(std::array<uint16_t, 256>& words) {
    // Word 255: the signature A5h in bits 7-0 and, in bits 15-8, the two's complement of the
    // sum of the other 511 bytes (8.15.61), so that all 512 bytes sum to 0.
    words[255] = kIdentifyChecksumSignature;
    uint8_t sum = 0;
    for (unsigned i = 0; i < 255; ++i)
        sum = static_cast<uint8_t>(sum + (words[i] & 0xff) + (words[i] >> 8));
    sum = static_cast<uint8_t>(sum + kIdentifyChecksumSignature);
    words[255] |= static_cast<uint16_t>(static_cast<uint8_t>(-sum) << 8);
    std::vector<uint8_t> bytes(512);
    for (unsigned i = 0; i < 256; ++i) {
        bytes[2 * i] = static_cast<uint8_t>(words[i]);
        bytes[2 * i + 1] = static_cast<uint8_t>(words[i] >> 8);
    }
    return bytes;
}

void IdeDrive::sanitize() {
    position_ = std::min<uint32_t>(position_, static_cast<uint32_t>(buffer_.size()));
    blockLimit_ = std::max<uint32_t>(blockLimit_, 2);
    if (phase_ > Phase::DmaWait)
        phase_ = Phase::Idle;
}

void IdeDrive::describeState(StateVisitor& state) {
    state.readOnly("image size", AttrType::U64, "bytes in the image",
                   [this] { return image_.size(); });
    state.readOnlyBytes("image", "the image's path", [this] {
        return std::vector<uint8_t>(image_.path().begin(), image_.path().end());
    });
    state.readOnly("read-only", AttrType::Bool, "the image was opened read-only",
                   [this] { return uint64_t(image_.readOnly()); });
    state.readOnlyBytes("model", "the model string the identify data gives", [this] {
        const std::string text = model();
        return std::vector<uint8_t>(text.begin(), text.end());
    });
    state.field("phase", phase_, AttrAccess::Read,
                "0 idle, 1 data to the host, 2 data from the host, 3 command packet, 4 waiting "
                "for the bus master",
                FieldHooks::checkedBy([](uint64_t value) {
                    return value <= uint64_t(Phase::DmaWait) ? std::string()
                                                             : std::string("no such phase");
                }));
    state.byteField("PIO buffer", buffer_, AttrAccess::Read,
                    "the DRQ data block the data port moves");
    state.field("PIO position", position_, AttrAccess::Read,
                "the next byte of the PIO buffer the data port moves");
    state.field("transfer remaining", remaining_, AttrAccess::Read,
                "bytes of the transfer not yet in a block (DMA: the whole transfer)");
    state.field("transfer offset", offset_, AttrAccess::Read,
                "the image offset of the transfer's next block");
    state.hidden("block limit", blockLimit_);
    state.hidden("from reply", fromReply_);
    state.hidden("reply", reply_);
    state.hidden("reply position", replyPosition_);
    state.hidden("DMA to memory", dmaToMemory_);
    state.field("PIO mode", pioMode_, AttrAccess::Read, "set by SET FEATURES (0-4)");
    state.field("DMA mode", dmaMode_, AttrAccess::Read,
                "set by SET FEATURES: 0x20 | n multiword DMA n, 0x40 | n Ultra DMA n, 0 none");
    state.field("write cache", writeCacheEnabled_, AttrAccess::Read,
                "write cache enabled (SET FEATURES 02h/82h); writes reach the image either way");
    describeOwnState(state);
    state.statistic("commands", commands_, "commands the drive took");
    state.statistic("sectors read", sectorsRead_, "sectors read from the image");
    state.statistic("sectors written", sectorsWritten_, "sectors written to the image");
    state.statistic("DMA transfers", dmaTransfers_, "transfers the bus master completed");
    state.statistic("errors", errors_, "commands that ended with ERR");
}

} // namespace kvmscope::ide
