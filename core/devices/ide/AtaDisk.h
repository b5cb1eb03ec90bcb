#pragma once
// An ATA hard disk over a raw image (ATA/ATAPI-6, the general and 48-bit address feature sets):
// IDENTIFY DEVICE; READ/WRITE SECTORS, MULTIPLE and DMA in their 28- and 48-bit forms, with CHS
// or LBA addresses; READ VERIFY; FLUSH CACHE (the image is flushed before the command ends); SET
// MULTIPLE MODE, SET FEATURES, INITIALIZE DEVICE PARAMETERS; the power commands as no-ops.
// Anything else ends with ABRT, as do writes to a read-only image; an address past the image's
// end ends with IDNF.
#include "devices/ide/IdeDrive.h"

namespace kvmscope::ide {

class AtaDisk : public IdeDrive {
public:
    static constexpr uint8_t kMaxMultiple = 16; // sectors per DRQ block in multiple mode

    AtaDisk(storage::DiskImage& image, TaskFile& registers, IdeBus& bus, std::string serial);

    DriveKind kind() const override { return DriveKind::Disk; }
    std::string model() const override { return "kvmscope ATA disk"; }
    void reset() override;

    // The identify data as IDENTIFY DEVICE returns it.
    std::vector<uint8_t> identify() const;

protected:
    void execute(uint8_t opcode) override;
    void describeOwnState(StateVisitor& state) override;
    void announceBlock() override;
    void dataInDone() override;
    void blockWritten() override;
    void mediumError() override;
    void dmaDone() override;
    uint32_t sectorSize() const override { return 512; }

private:
    // The command's first sector and count from the task file, or false (IDNF reported) when
    // the address is not on the disk.
    bool address(bool ext, uint64_t& lba, uint32_t& count);
    void readWrite(uint8_t opcode);
    void flush();

    // The default geometry (identify words 1, 3, 6) and the one INITIALIZE DEVICE PARAMETERS set.
    uint16_t cylinders_ = 0;
    uint8_t heads_ = 0;
    uint8_t sectorsPerTrack_ = 0;
    uint8_t currentHeads_ = 0;
    uint8_t currentSectorsPerTrack_ = 0;
    uint8_t multiple_ = 0; // sectors per block for READ/WRITE MULTIPLE; 0: not set
};

} // namespace kvmscope::ide
