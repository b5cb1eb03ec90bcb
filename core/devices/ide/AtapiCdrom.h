#pragma once
// An ATAPI CD-ROM over a read-only image of 2048-byte blocks (an ISO 9660 file), as SeaBIOS's El
// Torito boot and Linux's sr driver use one: the packet signature after a reset, IDENTIFY PACKET
// DEVICE, and PACKET (ATA/ATAPI-6, 8.21 and 9.11) with its 12-byte command in PIO and the data
// by PIO (in DRQ blocks of at most the byte count limit) or DMA. The packets are the SCSI
// commands of SPC-3 and MMC-3 such a driver sends; the rest end with CHECK CONDITION (ERR, the
// sense key in the error register's bits 7-4) and ILLEGAL REQUEST / INVALID COMMAND OPERATION
// CODE in the sense data. The medium never changes and is never ejected.
#include "devices/ide/IdeDrive.h"

#include <array>

namespace kvmscope::ide {

class AtapiCdrom : public IdeDrive {
public:
    static constexpr uint32_t kBlockSize = 2048;
    // A medium larger than 80 minutes of CD is reported as a DVD-ROM (MMC-3 profiles).
    static constexpr uint64_t kCdMaxBlocks = 80 * 60 * 75;

    AtapiCdrom(storage::DiskImage& image, TaskFile& registers, IdeBus& bus, std::string serial);

    DriveKind kind() const override { return DriveKind::Cdrom; }
    std::string model() const override { return "kvmscope CD-ROM"; }
    void reset() override;
    void dmaFailed(bool interrupt) override;

    std::vector<uint8_t> identify() const;
    uint64_t blocks() const;
    uint8_t senseKey() const { return senseKey_; }
    uint8_t additionalSenseCode() const { return asc_; }

protected:
    void execute(uint8_t opcode) override;
    void describeOwnState(StateVisitor& state) override;
    void announceBlock() override;
    void dataInDone() override;
    void blockWritten() override;
    void mediumError() override;
    void dmaDone() override;
    uint32_t sectorSize() const override { return kBlockSize; }

private:
    void startPacket();
    void runPacket();
    // The packet's ends: GOOD status, or CHECK CONDITION with the sense data to keep.
    void good();
    void checkCondition(uint8_t key, uint8_t asc, uint8_t ascq = 0);
    // Sends `reply`, cut to the allocation length, by PIO or DMA as the packet asked.
    void sendReply(std::vector<uint8_t> reply, uint32_t allocation);
    void sendBlocks(uint64_t lba, uint64_t count);

    std::vector<uint8_t> requestSense();
    std::vector<uint8_t> inquiry() const;
    std::vector<uint8_t> readCapacity() const;
    bool readToc(std::vector<uint8_t>& reply) const;
    bool getConfiguration(std::vector<uint8_t>& reply) const;
    bool modeSense(std::vector<uint8_t>& reply) const;
    bool eventStatus(std::vector<uint8_t>& reply) const;

    std::array<uint8_t, kAtapiPacketSize> packet_{}; // the last command packet
    bool packetDma_ = false;        // the packet's data goes by DMA (features bit 0)
    bool packetTransfer_ = false;   // the DataIn transfer belongs to a packet (not IDENTIFY)
    uint16_t byteCountLimit_ = 0;   // LBA mid/high at PACKET: the largest PIO DRQ block
    uint8_t senseKey_ = kSenseNone; // the sense data REQUEST SENSE returns
    uint8_t asc_ = 0;
    uint8_t ascq_ = 0;
    bool removalPrevented_ = false; // PREVENT ALLOW MEDIUM REMOVAL
};

} // namespace kvmscope::ide
