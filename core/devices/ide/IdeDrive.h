#pragma once
// What the two kinds of IDE drive share (ATA/ATAPI-6): the task file they answer with, PIO data
// blocks through the data port (DRQ), transfers waiting for the bus master, SET FEATURES and the
// power commands, the parts of the identify data that describe the interface, and their
// counters. A drive has no lock of its own: its channel (devices/ide/IdeChannel.h) calls it with
// the channel's lock held, and it raises INTRQ through the channel (IdeBus).
#include "devices/DeviceState.h"
#include "devices/ide/Ata.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <sys/uio.h>
#include <vector>

namespace kvmscope::storage {
class DiskImage;
}

namespace kvmscope::ide {

// One drive's registers (ATA/ATAPI-6, 7.1). Writes to the command block go to both drives of a
// channel; the "previous" bytes are what the register held before its last write, which 48-bit
// commands take as their high-order bytes and which HOB in device control reads back.
struct TaskFile {
    uint8_t features = 0, featuresPrevious = 0;
    uint8_t count = 0, countPrevious = 0;
    uint8_t lbaLow = 0, lbaLowPrevious = 0;
    uint8_t lbaMid = 0, lbaMidPrevious = 0;
    uint8_t lbaHigh = 0, lbaHighPrevious = 0;
    uint8_t device = 0;
    uint8_t status = 0;
    uint8_t error = 0;
    uint8_t command = 0; // the last command the drive took

    uint64_t lba28() const;
    uint64_t lba48() const;
    uint32_t count28() const { return count ? count : 256u; }
    uint32_t count48() const;
    void setSignature(uint8_t mid, uint8_t high); // count 1, LBA low 1, mid, high
};

// The channel as a drive sees it.
class IdeBus {
public:
    virtual ~IdeBus() = default;
    virtual void interrupt() = 0; // the drive asserts INTRQ
};

enum class DriveKind : uint8_t { Disk, Cdrom };
const char* toString(DriveKind kind);

// Where a drive's command stands.
enum class Phase : uint8_t {
    Idle,
    DataIn,  // DRQ: the host reads the buffer
    DataOut, // DRQ: the host fills the buffer
    Packet,  // DRQ: the host writes an ATAPI command packet
    DmaWait, // BSY: waiting for the bus master to move the data
};

class IdeDrive {
public:
    IdeDrive(storage::DiskImage& image, TaskFile& registers, IdeBus& bus, std::string serial);
    virtual ~IdeDrive() = default;

    virtual DriveKind kind() const = 0;
    virtual std::string model() const = 0;
    storage::DiskImage& image() { return image_; }
    Phase phase() const { return phase_; }

    // A command the host wrote; the channel has checked that the drive may take one.
    void command(uint8_t opcode);
    // Power-on, the end of SRST, or DEVICE RESET: the transfer is dropped, the signature set.
    virtual void reset();
    // SRST asserted: the transfer is dropped and the drive is busy until SRST ends.
    void holdInReset();

    // The data port: `data` is 1, 2 or 4 bytes. Outside DRQ a read returns zeroes, a write is
    // dropped; both return false then (the channel counts them).
    bool readData(std::span<uint8_t> data);
    bool writeData(std::span<const uint8_t> data);

    // A transfer waiting for the bus master (phase DmaWait): its size and direction.
    uint64_t dmaBytes() const { return remaining_; }
    bool dmaToMemory() const { return dmaToMemory_; }
    // Moves the data between the drive and `regions` (host views of guest RAM, dmaBytes() in
    // all) and ends the command, raising INTRQ.
    void dmaTransfer(const std::vector<iovec>& regions);
    // The bus master could not move the data: the command ends with ABRT, raising INTRQ when
    // `interrupt` (a master abort) and not when the regions were merely too short.
    virtual void dmaFailed(bool interrupt);

    // The drive's own fields, into the group the channel opened for it.
    void describeState(StateVisitor& state);
    // After a restore: puts back what a saved state may hold inconsistently (a position past the
    // buffer, a block limit of 0), so that no later access can misbehave.
    void sanitize();

protected:
    virtual void execute(uint8_t opcode) = 0;
    virtual void describeOwnState(StateVisitor& state) = 0;
    // A DataIn block is in the buffer: tell the host (DRQ, INTRQ).
    virtual void announceBlock() = 0;
    // The host read the last block of a DataIn transfer.
    virtual void dataInDone() = 0;
    // The host filled the buffer (DataOut, Packet).
    virtual void blockWritten() = 0;
    // The image could not be read: the command fails as the drive's kind reports that.
    virtual void mediumError() = 0;
    // The bus master moved everything.
    virtual void dmaDone() = 0;
    virtual uint32_t sectorSize() const = 0;

    // Commands both kinds take: SET FEATURES, the power commands. False when not one of them.
    bool executeShared(uint8_t opcode);
    void setFeatures();

    // Ends the command: DRDY (and DSC), INTRQ when `interrupt`.
    void complete(bool interrupt = true);
    // Ends the command with ERR and `error` in the error register, INTRQ raised.
    void fail(uint8_t error);

    // Data for the host: from the image at `offset`, or from `reply_` (replyFromBuffer).
    void startDataIn(uint64_t offset, uint64_t bytes, uint32_t blockLimit);
    void startReply(std::vector<uint8_t> reply, uint32_t blockLimit);
    // Loads the next block of a DataIn transfer into the buffer; false (and the command failed
    // through mediumError) when the image cannot be read.
    bool loadBlock();

    // Data from the host, to the image at `offset`, in blocks of at most `blockLimit` bytes.
    void startDataOut(uint64_t offset, uint64_t bytes, uint32_t blockLimit);
    // The same transfers by DMA: the drive waits (BSY, DRQ) for the bus master.
    void startDma(uint64_t offset, uint64_t bytes, bool toMemory);
    void startReplyDma(std::vector<uint8_t> reply);

    // Identify data words both kinds fill alike: strings, transfer modes and timings, versions.
    void fillSharedIdentify(std::array<uint16_t, 256>& words) const;
    static void putString(std::array<uint16_t, 256>& words, unsigned first, unsigned count,
                          const std::string& text);
    static std::vector<uint8_t> identifyBytes(std::array<uint16_t, 256>& words); // + checksum

    storage::DiskImage& image_;
    TaskFile& regs_;
    IdeBus& bus_;
    std::string serial_;

    // The transfer in progress (saved, so that a snapshot can resume a drive mid-command).
    Phase phase_ = Phase::Idle;
    std::vector<uint8_t> buffer_; // the DRQ block
    uint32_t position_ = 0;       // next byte of buffer_ the data port moves
    bool fromReply_ = false;      // DataIn / DMA data comes from reply_, not the image
    std::vector<uint8_t> reply_;  // a command's answer (identify data, SCSI replies)
    uint32_t replyPosition_ = 0;
    uint64_t offset_ = 0;     // the image byte offset of the next block
    uint64_t remaining_ = 0;  // bytes not yet in a block (DMA: the whole transfer)
    uint32_t blockLimit_ = 0; // largest DRQ block
    bool dmaToMemory_ = false;

    // SET FEATURES state.
    uint8_t pioMode_ = 0; // 0-4
    uint8_t dmaMode_ = 0; // kModeMultiwordDma | n, kModeUltraDma | n, or 0: none chosen
    bool writeCacheEnabled_ = true;

    // Counters.
    uint64_t commands_ = 0;
    uint64_t sectorsRead_ = 0;
    uint64_t sectorsWritten_ = 0;
    uint64_t dmaTransfers_ = 0;
    uint64_t errors_ = 0;
};

} // namespace kvmscope::ide
