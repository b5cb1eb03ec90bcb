#pragma once
// A test driver for an IDE channel (devices/ide/IdeChannel.h) that makes the port accesses
// SeaBIOS's src/hw/ata.c and Linux's libata-sff make: soft reset and signature, task-file
// writes (the high-order bytes first for 48-bit commands), PIO blocks of words through the data
// port, ATAPI packets, and bus-master DMA through a PRD table in a GuestMemory. The images are
// temporary files; each disk sector holds its number in every byte pair, each CD block its
// number in its first bytes (blocks 16-18 form an ISO 9660 volume with an El Torito record).
#include "DeviceTestSupport.h"
#include "devices/ide/IdeChannel.h"
#include "machine/GuestMemory.h"
#include "storage/DiskImage.h"

#include <QTemporaryDir>
#include <QTest>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

namespace kvmscope::testing {

using namespace kvmscope::ide;

constexpr uint64_t kCommand = 0, kControl = 1, kBusMaster = 2; // which block

// A raw image file in `dir` with `bytes`, opened as a DiskImage.
inline std::unique_ptr<storage::DiskImage> makeImage(QTemporaryDir& dir, const char* name,
                                                     const std::vector<uint8_t>& bytes,
                                                     bool readOnly = false) {
    const std::string path = dir.filePath(QString::fromLatin1(name)).toStdString();
    const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0 || ::write(fd, bytes.data(), bytes.size()) != ssize_t(bytes.size()))
        qFatal("cannot write %s", path.c_str());
    ::close(fd);
    storage::DiskSpec spec;
    spec.path = path;
    spec.formatGiven = true;
    spec.readOnly = readOnly;
    return std::make_unique<storage::DiskImage>(spec);
}

// A sparse image of `size` zero bytes, opened read-only.
inline std::unique_ptr<storage::DiskImage> makeSparseImage(QTemporaryDir& dir, const char* name,
                                                           uint64_t size) {
    const std::string path = dir.filePath(QString::fromLatin1(name)).toStdString();
    const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0 || ::ftruncate(fd, off_t(size)) != 0)
        qFatal("cannot make %s", path.c_str());
    ::close(fd);
    storage::DiskSpec spec;
    spec.path = path;
    spec.formatGiven = true;
    spec.readOnly = true;
    return std::make_unique<storage::DiskImage>(spec);
}

// Disk sector N: the 16-bit word N everywhere (N & 0xffff).
inline std::vector<uint8_t> diskBytes(uint64_t sectors) {
    std::vector<uint8_t> bytes(sectors * 512);
    for (uint64_t i = 0; i < bytes.size(); i += 2) {
        bytes[i] = static_cast<uint8_t>(i / 512);
        bytes[i + 1] = static_cast<uint8_t>(i / 512 >> 8);
    }
    return bytes;
}

// A made-up ISO 9660 image of `blocks` 2048-byte blocks: block N starts with "BLOCK" and N (32
// bits); block 16 is a primary volume descriptor, 17 the El Torito boot record (boot catalog at
// block 19), 18 the set terminator.
inline std::vector<uint8_t> isoBytes(uint32_t blocks) {
    std::vector<uint8_t> bytes(uint64_t{blocks} * 2048, 0);
    for (uint32_t n = 0; n < blocks; ++n) {
        uint8_t* block = bytes.data() + uint64_t{n} * 2048;
        std::memcpy(block, "BLOCK", 5);
        std::memcpy(block + 5, &n, 4);
    }
    auto descriptor = [&](uint32_t n, uint8_t type) {
        uint8_t* block = bytes.data() + uint64_t{n} * 2048;
        std::memset(block, 0, 2048);
        block[0] = type;
        std::memcpy(block + 1, "CD001", 5);
        block[6] = 1;
        return block;
    };
    uint8_t* pvd = descriptor(16, 1);
    std::memcpy(pvd + 40, "KVMSCOPE_TEST                   ", 32); // volume identifier
    uint8_t* boot = descriptor(17, 0);
    std::memcpy(boot + 7, "EL TORITO SPECIFICATION", 23);
    const uint32_t catalog = 19;
    std::memcpy(boot + 0x47, &catalog, 4);
    descriptor(18, 0xff);
    return bytes;
}

class IdeTestDriver {
public:
    explicit IdeTestDriver(IdeChannel& channel) : channel_(channel) {}

    BusDevice& block(uint64_t which) {
        return which == kCommand   ? channel_.commandBlock()
               : which == kControl ? channel_.controlBlock()
                                   : channel_.busMaster();
    }
    uint8_t in(uint64_t reg) { return inb(channel_.commandBlock(), reg); }
    void out(uint64_t reg, uint8_t value) { outb(channel_.commandBlock(), reg, value); }
    uint8_t status() { return in(kStatusCommand); }
    uint8_t altStatus() { return inb(channel_.controlBlock(), 0); }
    uint8_t error() { return in(kErrorFeatures); }
    void control(uint8_t value) { outb(channel_.controlBlock(), 0, value); }

    // SeaBIOS's ata_reset: SRST with nIEN (and the obsolete "HD15" bit 3), released, then the
    // drive selected.
    void softReset() {
        control(0x08 | kControlInterruptDisable | kControlSoftReset);
        control(0x08 | kControlInterruptDisable);
    }
    void select(unsigned slot, uint8_t extra = 0) {
        out(kDevice, static_cast<uint8_t>((slot ? 0xb0 : 0xa0) | extra));
    }

    // A 28-bit command as SeaBIOS's send_cmd writes it.
    void command28(uint8_t opcode, uint64_t lba = 0, uint8_t count = 0, uint8_t features = 0,
                   unsigned slot = 0) {
        out(kErrorFeatures, features);
        out(kSectorCount, count);
        out(kLbaLow, static_cast<uint8_t>(lba));
        out(kLbaMid, static_cast<uint8_t>(lba >> 8));
        out(kLbaHigh, static_cast<uint8_t>(lba >> 16));
        out(kDevice, static_cast<uint8_t>((slot ? 0xb0 : 0xa0) | kDeviceLba | ((lba >> 24) & 0xf)));
        out(kStatusCommand, opcode);
    }
    // A 48-bit command: the previous (high-order) bytes first, as libata's tf_load does.
    void command48(uint8_t opcode, uint64_t lba, uint16_t count, unsigned slot = 0) {
        out(kErrorFeatures, 0);
        out(kSectorCount, static_cast<uint8_t>(count >> 8));
        out(kLbaLow, static_cast<uint8_t>(lba >> 24));
        out(kLbaMid, static_cast<uint8_t>(lba >> 32));
        out(kLbaHigh, static_cast<uint8_t>(lba >> 40));
        out(kErrorFeatures, 0);
        out(kSectorCount, static_cast<uint8_t>(count));
        out(kLbaLow, static_cast<uint8_t>(lba));
        out(kLbaMid, static_cast<uint8_t>(lba >> 8));
        out(kLbaHigh, static_cast<uint8_t>(lba >> 16));
        out(kDevice, static_cast<uint8_t>((slot ? 0xb0 : 0xa0) | kDeviceLba));
        out(kStatusCommand, opcode);
    }
    // CHS: cylinder, head, sector (1-based).
    void commandChs(uint8_t opcode, uint16_t cylinder, uint8_t head, uint8_t sector,
                    uint8_t count) {
        out(kSectorCount, count);
        out(kLbaLow, sector);
        out(kLbaMid, static_cast<uint8_t>(cylinder));
        out(kLbaHigh, static_cast<uint8_t>(cylinder >> 8));
        out(kDevice, static_cast<uint8_t>(0xa0 | head));
        out(kStatusCommand, opcode);
    }

    // `count` bytes through the data port in 16-bit words (insw).
    std::vector<uint8_t> readWords(size_t count) {
        std::vector<uint8_t> bytes(count);
        for (size_t i = 0; i < count; i += 2) {
            const uint16_t word = inw(channel_.commandBlock(), kData);
            bytes[i] = static_cast<uint8_t>(word);
            if (i + 1 < count)
                bytes[i + 1] = static_cast<uint8_t>(word >> 8);
        }
        return bytes;
    }
    // The same in 32-bit accesses (insl, SeaBIOS's CONFIG_ATA_PIO32).
    std::vector<uint8_t> readDwords(size_t count) {
        std::vector<uint8_t> bytes(count);
        for (size_t i = 0; i < count; i += 4) {
            const uint32_t value = inl(channel_.commandBlock(), kData);
            std::memcpy(bytes.data() + i, &value, std::min<size_t>(4, count - i));
        }
        return bytes;
    }
    void writeWords(const std::vector<uint8_t>& bytes) {
        for (size_t i = 0; i < bytes.size(); i += 2)
            outw(channel_.commandBlock(), kData,
                 static_cast<uint16_t>(bytes[i] | (i + 1 < bytes.size() ? bytes[i + 1] << 8 : 0)));
    }

    // ATAPI: PACKET with `byteCount` as the limit, the 12 bytes of `cdb` written once DRQ shows.
    // False when the drive did not ask for the packet.
    bool packet(const std::vector<uint8_t>& cdb, uint16_t byteCount = 2048, bool dma = false,
                unsigned slot = 1) {
        select(slot);
        out(kErrorFeatures, dma ? kPacketDma : 0);
        out(kLbaMid, static_cast<uint8_t>(byteCount));
        out(kLbaHigh, static_cast<uint8_t>(byteCount >> 8));
        out(kStatusCommand, kCmdPacket);
        if ((altStatus() & (kStatusBusy | kStatusDataRequest)) != kStatusDataRequest ||
            (in(kSectorCount)&3) != kReasonCommand)
            return false;
        std::vector<uint8_t> padded = cdb;
        padded.resize(kAtapiPacketSize, 0);
        writeWords(padded);
        return true;
    }
    // The data of a PIO data-in packet, DRQ block by DRQ block (each announced in LBA mid/high),
    // until the status phase; empty when the packet ended with CHECK CONDITION.
    std::vector<uint8_t> packetData(int* blocks = nullptr) {
        std::vector<uint8_t> data;
        int count = 0;
        while ((altStatus() & kStatusDataRequest) && (in(kSectorCount)&3) == kReasonToHost) {
            const size_t size = in(kLbaMid) | in(kLbaHigh) << 8;
            const auto block = readWords(size);
            data.insert(data.end(), block.begin(), block.end());
            ++count;
            if (count > 1000)
                break;
        }
        if (blocks)
            *blocks = count;
        return data;
    }

    // Bus master: the PRD table address, the direction, Interrupt and Error cleared (libata's
    // bmdma_setup), then started (bmdma_start).
    void setupDma(uint32_t table, bool toMemory) {
        outl(channel_.busMaster(), kBusMasterTable, table);
        outb(channel_.busMaster(), kBusMasterCommand, toMemory ? kBmicToMemory : 0);
        outb(channel_.busMaster(), kBusMasterStatus, kBmisInterrupt | kBmisError);
    }
    void startDma(bool toMemory) {
        outb(channel_.busMaster(), kBusMasterCommand,
             static_cast<uint8_t>((toMemory ? kBmicToMemory : 0) | kBmicStart));
    }
    void stopDma() { outb(channel_.busMaster(), kBusMasterCommand, 0); }
    uint8_t bmis() { return inb(channel_.busMaster(), kBusMasterStatus); }

private:
    IdeChannel& channel_;
};

// Writes PRD entries at `table`: (address, byte count with 0 = 64 KiB, end of table).
struct Prd {
    uint32_t address;
    uint32_t count;
    bool last;
};
inline void writePrdTable(GuestMemory& memory, uint64_t table, const std::vector<Prd>& entries) {
    for (size_t i = 0; i < entries.size(); ++i) {
        memory.writeValue<uint32_t>(table + 8 * i, entries[i].address);
        memory.writeValue<uint32_t>(table + 8 * i + 4, (entries[i].count & 0xffff) |
                                                           (entries[i].last ? 0x80000000 : 0));
    }
}

// Every disk sector word in `bytes` is `first`, `first + 1`, ... sector by sector.
inline bool holdsSectors(const std::vector<uint8_t>& bytes, uint64_t first) {
    for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
        const uint16_t word = static_cast<uint16_t>(bytes[i] | bytes[i + 1] << 8);
        if (word != static_cast<uint16_t>(first + i / 512))
            return false;
    }
    return true;
}

} // namespace kvmscope::testing
