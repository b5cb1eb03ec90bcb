#include "devices/ide/AtapiCdrom.h"

#include "storage/DiskImage.h"

#include <algorithm>

namespace kvmscope::ide {
namespace {

constexpr uint8_t kStatusDone = kStatusReady | kStatusSeekComplete;
constexpr uint8_t kSenseMediumError = 0x03;
constexpr uint8_t kReasonStatus = kReasonCommand | kReasonToHost; // the packet's status phase
constexpr uint8_t kReasonMask = 0x07;                             // CoD, IO, REL
constexpr uint16_t kMaxByteCount = 0xfffe;

// MMC-3 profiles (5.3.1) and features (5.3).
constexpr uint16_t kProfileCdRom = 0x0008;
constexpr uint16_t kProfileDvdRom = 0x0010;
constexpr uint16_t kFeatureProfileList = 0x0000;
constexpr uint16_t kFeatureCore = 0x0001;
// Mode pages (MMC-3, 6.3): read error recovery and the CD/DVD capabilities page.
constexpr uint8_t kPageErrorRecovery = 0x01;
constexpr uint8_t kPageCapabilities = 0x2a;
constexpr uint8_t kPageAll = 0x3f;
constexpr uint8_t kPageControlSaved = 3;
// GET EVENT STATUS NOTIFICATION (MMC-3, 6.5): the media class.
constexpr uint8_t kEventClassMedia = 0x10;
constexpr uint8_t kEventNoneAvailable = 0x80;
// READ TOC: the lead-out's track number, and control/ADR of a data track (ADR 1, control 4).
constexpr uint8_t kLeadOut = 0xaa;
constexpr uint8_t kDataTrackControl = 0x14;

uint16_t be16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t be32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
void put16(std::vector<uint8_t>& out, uint16_t value) {
    out.push_back(static_cast<uint8_t>(value >> 8));
    out.push_back(static_cast<uint8_t>(value));
}
void put32(std::vector<uint8_t>& out, uint32_t value) {
    put16(out, static_cast<uint16_t>(value >> 16));
    put16(out, static_cast<uint16_t>(value));
}
void set16(std::vector<uint8_t>& out, size_t at, uint16_t value) {
    out[at] = static_cast<uint8_t>(value >> 8);
    out[at + 1] = static_cast<uint8_t>(value);
}
void putText(std::vector<uint8_t>& out, const char* text, size_t width) {
    const std::string_view view(text);
    for (size_t i = 0; i < width; ++i)
        out.push_back(static_cast<uint8_t>(i < view.size() ? view[i] : ' '));
}
// A TOC address: a logical block address, or minutes/seconds/frames with the 2-second
// pre-gap (MMC-3, table 237: MSF = LBA + 150 frames of 1/75 s).
void putAddress(std::vector<uint8_t>& out, uint64_t lba, bool msf) {
    if (!msf) {
        put32(out, static_cast<uint32_t>(lba));
        return;
    }
    const uint64_t frames = lba + 150;
    out.push_back(0);
    out.push_back(static_cast<uint8_t>(std::min<uint64_t>(frames / (75 * 60), 0xff)));
    out.push_back(static_cast<uint8_t>(frames / 75 % 60));
    out.push_back(static_cast<uint8_t>(frames % 75));
}

} // namespace

AtapiCdrom::AtapiCdrom(storage::DiskImage& image, TaskFile& registers, IdeBus& bus,
                       std::string serial)
    : IdeDrive(image, registers, bus, std::move(serial)) {
    reset();
}

uint64_t AtapiCdrom::blocks() const {
    return image_.size() / kBlockSize;
}

void AtapiCdrom::reset() {
    IdeDrive::reset();
    packetTransfer_ = false;
    regs_.setSignature(kAtapiSignatureMid, kAtapiSignatureHigh);
    // A packet device leaves DRDY clear after a reset (ATA/ATAPI-6, 9.12) until it takes a
    // command; firmware and Linux read the signature instead.
    regs_.status = 0;
}

std::vector<uint8_t> AtapiCdrom::identify() const {
    // ATA/ATAPI-6, 8.16 "IDENTIFY PACKET DEVICE", table 21.
    std::array<uint16_t, 256> words{};
    // A packet device (15-14 = 10b) of type 5 (CD-ROM), removable, DRQ within 50 us of PACKET
    // (6-5 = 10b), 12-byte packets.
    words[0] = 0x85c0;
    words[49] = 0x0b00; // IORDY, LBA, DMA
    words[50] = 0x4000;
    words[82] = 0x4010; // NOP and the PACKET command feature set
    words[83] = 0x4000;
    words[84] = 0x4000;
    words[85] = 0x4010;
    words[86] = 0x0000;
    words[87] = 0x4000;
    fillSharedIdentify(words);
    return identifyBytes(words);
}

void AtapiCdrom::execute(uint8_t opcode) {
    packetTransfer_ = false;
    if (executeShared(opcode))
        return;
    switch (opcode) {
    case kCmdIdentifyPacket:
        startReply(identify(), 512);
        return;
    case kCmdPacket:
        startPacket();
        return;
    case kCmdDeviceReset:
        // 8.10: the drive resets itself and shows the signature; no interrupt.
        reset();
        return;
    case kCmdIdentify:
        // 8.15: a packet device aborts IDENTIFY DEVICE and shows its signature, which is how
        // drivers tell it from a disk.
        fail(kErrorAborted);
        regs_.setSignature(kAtapiSignatureMid, kAtapiSignatureHigh);
        return;
    default:
        fail(kErrorAborted);
        return;
    }
}

void AtapiCdrom::startPacket() {
    // 9.11: the byte count limit is what the host wrote to LBA mid/high; 0 and FFFFh are not
    // valid limits, and an odd one cannot split a transfer into words.
    uint16_t limit = static_cast<uint16_t>(regs_.lbaMid | regs_.lbaHigh << 8);
    if (limit == 0 || limit > kMaxByteCount)
        limit = kMaxByteCount;
    byteCountLimit_ = static_cast<uint16_t>(limit & ~1u);
    packetDma_ = (regs_.features & kPacketDma) != 0;
    buffer_.assign(kAtapiPacketSize, 0);
    position_ = 0;
    phase_ = Phase::Packet;
    regs_.count = static_cast<uint8_t>((regs_.count & ~kReasonMask) | kReasonCommand);
    regs_.status = kStatusDone | kStatusDataRequest; // no interrupt before the packet
}

void AtapiCdrom::blockWritten() {
    if (phase_ != Phase::Packet)
        return;
    std::copy_n(buffer_.begin(), kAtapiPacketSize, packet_.begin());
    phase_ = Phase::Idle;
    packetTransfer_ = true;
    runPacket();
}

void AtapiCdrom::announceBlock() {
    if (packetTransfer_) {
        // 9.11: the block's size in LBA mid/high, IO set and CoD clear, DRQ, an interrupt.
        regs_.lbaMid = static_cast<uint8_t>(buffer_.size());
        regs_.lbaHigh = static_cast<uint8_t>(buffer_.size() >> 8);
        regs_.count = static_cast<uint8_t>((regs_.count & ~kReasonMask) | kReasonToHost);
    }
    regs_.status = kStatusDone | kStatusDataRequest;
    bus_.interrupt();
}

void AtapiCdrom::dataInDone() {
    if (packetTransfer_)
        good();
    else
        complete(false); // IDENTIFY PACKET DEVICE: PIO data-in, no interrupt at the end
}

void AtapiCdrom::mediumError() {
    checkCondition(kSenseMediumError, kAscIoError);
}

void AtapiCdrom::dmaDone() {
    good();
}

void AtapiCdrom::dmaFailed(bool interrupt) {
    senseKey_ = kSenseAbortedCommand;
    asc_ = ascq_ = 0;
    regs_.count = static_cast<uint8_t>((regs_.count & ~kReasonMask) | kReasonStatus);
    IdeDrive::dmaFailed(interrupt);
    regs_.error = static_cast<uint8_t>(kSenseAbortedCommand << 4 | kErrorAborted);
}

void AtapiCdrom::good() {
    senseKey_ = kSenseNone;
    asc_ = ascq_ = 0;
    packetTransfer_ = false;
    regs_.count = static_cast<uint8_t>((regs_.count & ~kReasonMask) | kReasonStatus);
    complete();
}

void AtapiCdrom::checkCondition(uint8_t key, uint8_t asc, uint8_t ascq) {
    senseKey_ = key;
    asc_ = asc;
    ascq_ = ascq;
    packetTransfer_ = false;
    fail(static_cast<uint8_t>(key << 4));
    regs_.count = static_cast<uint8_t>((regs_.count & ~kReasonMask) | kReasonStatus);
}

void AtapiCdrom::sendReply(std::vector<uint8_t> reply, uint32_t allocation) {
    if (reply.size() > allocation)
        reply.resize(allocation);
    if (reply.empty())
        return good();
    if (packetDma_)
        startReplyDma(std::move(reply));
    else
        startReply(std::move(reply), byteCountLimit_);
}

void AtapiCdrom::sendBlocks(uint64_t lba, uint64_t count) {
    if (lba > blocks() || count > blocks() - lba)
        return checkCondition(kSenseIllegalRequest, kAscLbaOutOfRange);
    if (count == 0)
        return good();
    if (packetDma_)
        startDma(lba * kBlockSize, count * kBlockSize, true);
    else
        startDataIn(lba * kBlockSize, count * kBlockSize, byteCountLimit_);
}

void AtapiCdrom::runPacket() {
    const uint8_t* cdb = packet_.data();
    std::vector<uint8_t> reply;
    switch (cdb[0]) {
    case kScsiTestUnitReady:
    case kScsiSetCdSpeed:
        return good(); // the medium is always there and always spinning
    case kScsiRequestSense:
        return sendReply(requestSense(), cdb[4]);
    case kScsiInquiry:
        if (cdb[1] & 0x01) // EVPD: no vital product data pages
            return checkCondition(kSenseIllegalRequest, kAscInvalidFieldInCdb);
        return sendReply(inquiry(), be16(cdb + 3));
    case kScsiReadCapacity10:
        return sendReply(readCapacity(), 8);
    case kScsiRead10:
        return sendBlocks(be32(cdb + 2), be16(cdb + 7));
    case kScsiRead12:
        return sendBlocks(be32(cdb + 2), be32(cdb + 6));
    case kScsiSeek10:
        if (be32(cdb + 2) >= blocks())
            return checkCondition(kSenseIllegalRequest, kAscLbaOutOfRange);
        return good();
    case kScsiReadToc:
        if (!readToc(reply))
            return checkCondition(kSenseIllegalRequest, kAscInvalidFieldInCdb);
        return sendReply(std::move(reply), be16(cdb + 7));
    case kScsiGetConfiguration:
        if (!getConfiguration(reply))
            return checkCondition(kSenseIllegalRequest, kAscInvalidFieldInCdb);
        return sendReply(std::move(reply), be16(cdb + 7));
    case kScsiModeSense10:
        if ((cdb[2] >> 6) == kPageControlSaved)
            return checkCondition(kSenseIllegalRequest, kAscSavingNotSupported);
        if (!modeSense(reply))
            return checkCondition(kSenseIllegalRequest, kAscInvalidFieldInCdb);
        return sendReply(std::move(reply), be16(cdb + 7));
    case kScsiGetEventStatus:
        if (!eventStatus(reply))
            return checkCondition(kSenseIllegalRequest, kAscInvalidFieldInCdb);
        return sendReply(std::move(reply), be16(cdb + 7));
    case kScsiPreventAllowRemoval:
        removalPrevented_ = (cdb[4] & 0x01) != 0;
        return good();
    case kScsiStartStopUnit:
        // LoEj with Start clear ejects: refused while removal is prevented (MMC-3, 6.35),
        // otherwise accepted without an effect (the medium stays).
        if ((cdb[4] & 0x03) == 0x02 && removalPrevented_)
            return checkCondition(kSenseIllegalRequest, kAscRemovalPrevented, 0x02);
        return good();
    default:
        return checkCondition(kSenseIllegalRequest, kAscInvalidOpcode);
    }
}

std::vector<uint8_t> AtapiCdrom::requestSense() {
    // SPC-3, 4.5.3: fixed format, current errors; reading the sense data clears it.
    std::vector<uint8_t> sense(18, 0);
    sense[0] = 0x70;
    sense[2] = senseKey_;
    sense[7] = 10; // additional sense length
    sense[12] = asc_;
    sense[13] = ascq_;
    senseKey_ = kSenseNone;
    asc_ = ascq_ = 0;
    return sense;
}

std::vector<uint8_t> AtapiCdrom::inquiry() const {
    // SPC-3, 6.4.2: standard INQUIRY data, 36 bytes.
    std::vector<uint8_t> data = {0x05, // peripheral device type 5: CD/DVD
                                 0x80, // removable medium
                                 0x05, // SPC-3
                                 0x02, // response data format 2
                                 31,   // additional length
                                 0,    0, 0};
    putText(data, "KVMSCOPE", 8);
    putText(data, "CD-ROM", 16);
    putText(data, "1.0", 4);
    return data;
}

std::vector<uint8_t> AtapiCdrom::readCapacity() const {
    // MMC-3, 6.23: the last block's address and the block size.
    std::vector<uint8_t> data;
    put32(data, static_cast<uint32_t>(std::min<uint64_t>(blocks() ? blocks() - 1 : 0, 0xffffffff)));
    put32(data, kBlockSize);
    return data;
}

bool AtapiCdrom::readToc(std::vector<uint8_t>& reply) const {
    // MMC-3, 6.25: formats 0 (the TOC) and 1 (session information); one data track.
    const uint8_t* cdb = packet_.data();
    const bool msf = (cdb[1] & 0x02) != 0;
    uint8_t format = cdb[2] & 0x0f;
    if (format == 0)
        format = cdb[9] >> 6; // the older place of the format (SFF-8020i)
    const uint8_t track = cdb[6];
    reply = {0, 0, 1, 1}; // length, first and last track (or session)
    if (format == 0) {
        if (track > 1 && track != kLeadOut)
            return false;
        if (track <= 1) {
            reply.insert(reply.end(), {0, kDataTrackControl, 1, 0});
            putAddress(reply, 0, msf);
        }
        reply.insert(reply.end(), {0, kDataTrackControl, kLeadOut, 0});
        putAddress(reply, blocks(), msf);
    } else if (format == 1) {
        reply.insert(reply.end(), {0, kDataTrackControl, 1, 0});
        putAddress(reply, 0, msf);
    } else {
        return false;
    }
    set16(reply, 0, static_cast<uint16_t>(reply.size() - 2));
    return true;
}

bool AtapiCdrom::getConfiguration(std::vector<uint8_t>& reply) const {
    // MMC-3, 6.6: a header with the current profile, then the profile list and core features.
    const uint8_t* cdb = packet_.data();
    const uint8_t requestType = cdb[1] & 0x03;
    const uint16_t start = be16(cdb + 2);
    if (requestType == 3)
        return false;
    const bool dvd = blocks() > kCdMaxBlocks;
    reply.assign(8, 0);
    set16(reply, 6, dvd ? kProfileDvdRom : kProfileCdRom);
    auto wanted = [&](uint16_t feature) {
        return requestType == 2 ? feature == start : feature >= start;
    };
    if (wanted(kFeatureProfileList)) {
        put16(reply, kFeatureProfileList);
        reply.insert(reply.end(), {0x03, 8}); // persistent, current; two descriptors
        put16(reply, kProfileDvdRom);
        reply.insert(reply.end(), {uint8_t(dvd ? 1 : 0), 0});
        put16(reply, kProfileCdRom);
        reply.insert(reply.end(), {uint8_t(dvd ? 0 : 1), 0});
    }
    if (wanted(kFeatureCore)) {
        put16(reply, kFeatureCore);
        reply.insert(reply.end(), {0x0b, 8}); // version 2, persistent, current
        put32(reply, 2);                      // physical interface: ATAPI
        put32(reply, 0);
    }
    const auto length = static_cast<uint32_t>(reply.size() - 4);
    reply[0] = static_cast<uint8_t>(length >> 24);
    reply[1] = static_cast<uint8_t>(length >> 16);
    reply[2] = static_cast<uint8_t>(length >> 8);
    reply[3] = static_cast<uint8_t>(length);
    return true;
}

bool AtapiCdrom::modeSense(std::vector<uint8_t>& reply) const {
    // SPC-3, 6.10 (MODE SENSE(10)): an 8-byte header without block descriptors, then pages.
    const uint8_t page = packet_[2] & 0x3f;
    if (page != kPageErrorRecovery && page != kPageCapabilities && page != kPageAll)
        return false;
    reply.assign(8, 0);
    reply[2] = 0x70; // medium type: door closed, no disc type given (MMC-3)
    if (page == kPageErrorRecovery || page == kPageAll)
        reply.insert(reply.end(), {kPageErrorRecovery, 6, 0x00, 5, 0, 0, 0, 0});
    if (page == kPageCapabilities || page == kPageAll) {
        // MMC-3, 6.3.11: reads CD-R, CD-RW and DVD-ROM; mode 2 form 1 and multi-session;
        // lock, eject, tray; 4x speed; 512 KiB buffer.
        reply.insert(reply.end(), {kPageCapabilities, 18, 0x3b, 0x00, 0x71, 0x60,
                                   uint8_t(0x29 | (removalPrevented_ ? 0x02 : 0)), 0x00});
        put16(reply, 704); // maximum read speed (KB/s)
        put16(reply, 2);   // volume levels
        put16(reply, 512); // buffer size (KiB)
        put16(reply, 704); // current read speed
        reply.insert(reply.end(), {0, 0, 0, 0});
    }
    set16(reply, 0, static_cast<uint16_t>(reply.size() - 2));
    return true;
}

bool AtapiCdrom::eventStatus(std::vector<uint8_t>& reply) const {
    // MMC-3, 6.5: only polled operation; the media class, with the medium present and unchanged.
    const uint8_t* cdb = packet_.data();
    if (!(cdb[1] & 0x01))
        return false;
    if (cdb[4] & kEventClassMedia) {
        reply = {0, 6, 0x04, kEventClassMedia, 0x00, 0x02, 0, 0};
    } else {
        reply = {0, 2, kEventNoneAvailable, kEventClassMedia};
    }
    return true;
}

void AtapiCdrom::describeOwnState(StateVisitor& state) {
    state.byteField("packet", packet_, AttrAccess::Read, "the last command packet (SCSI CDB)");
    state.field("sense key", senseKey_, AttrAccess::Read,
                "the sense data REQUEST SENSE returns next: sense key (SPC-3, table 27)");
    state.field("ASC", asc_, AttrAccess::Read, "additional sense code");
    state.field("ASCQ", ascq_, AttrAccess::Read, "additional sense code qualifier");
    state.field("removal prevented", removalPrevented_, AttrAccess::Read,
                "PREVENT ALLOW MEDIUM REMOVAL's last word");
    state.hidden("packet DMA", packetDma_);
    state.hidden("packet transfer", packetTransfer_);
    state.hidden("byte count limit", byteCountLimit_);
}

} // namespace kvmscope::ide
