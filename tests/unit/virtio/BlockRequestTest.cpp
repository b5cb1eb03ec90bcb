// virtio-blk requests (virtio/BlockRequest.h) served against a raw image in a temporary file,
// without /dev/kvm: data moves between the chain's buffers and the image at the right sector,
// whatever way the driver split the header and the data; every request ends with the status the
// specification gives it (VIRTIO 1.2, 5.2.6); and a chain that cannot carry a request is a
// QueueError.
#include "virtio/BlockRequest.h"

#include "TestDriver.h"
#include "storage/DiskImage.h"

#include <QTemporaryDir>
#include <QTest>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <memory>
#include <unistd.h>

using namespace kvmscope;
using kvmscope::testing::TestDriver;
using virtio::BlockOutcome;
using virtio::BlockRequestHandler;
using virtio::Chain;

namespace {

constexpr uint64_t kRam = 16 << 20;
constexpr uint64_t kHeader = 0x100000, kData = 0x110000, kStatus = 0x120000;
constexpr uint64_t kSectors = 64;

struct Fixture {
    QTemporaryDir dir;
    std::string path;
    GuestMemory memory{kRam};
    std::unique_ptr<storage::DiskImage> image;
    std::unique_ptr<BlockRequestHandler> handler;

    explicit Fixture(bool readOnly = false) {
        path = dir.filePath(QStringLiteral("disk.img")).toStdString();
        std::vector<uint8_t> bytes(kSectors * 512);
        for (size_t i = 0; i < bytes.size(); ++i)
            bytes[i] = static_cast<uint8_t>(i / 512); // each sector holds its number
        const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        QVERIFY(fd >= 0 && ::write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size()));
        ::close(fd);
        storage::DiskSpec spec;
        spec.path = path;
        spec.readOnly = readOnly;
        image = std::make_unique<storage::DiskImage>(spec);
        virtio::BlockLimits limits;
        limits.serial = "kvmscope-disk-0";
        limits.maxDiscardSectors = 32;
        limits.maxDiscardSegments = 2;
        limits.maxZeroesSectors = 32;
        limits.maxZeroesSegments = 2;
        handler = std::make_unique<BlockRequestHandler>(memory, *image, limits);
    }
    void header(uint32_t type, uint64_t sector) {
        virtio_blk_outhdr h{type, 0, sector};
        memory.writeValue(kHeader, h);
    }
    uint8_t status() const { return memory.readValue<uint8_t>(kStatus); }
    uint8_t sectorByteOnDisk(uint64_t sector) const {
        uint8_t byte = 0;
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        [[maybe_unused]] const auto got = ::pread(fd, &byte, 1, off_t(sector * 512));
        ::close(fd);
        return byte;
    }
    BlockOutcome serve(std::vector<virtio::Buffer> buffers) {
        Chain chain;
        chain.head = 0;
        chain.buffers = std::move(buffers);
        return handler->serve(chain);
    }
};

virtio::Buffer readable(uint64_t address, uint32_t length) {
    return {address, length, false};
}
virtio::Buffer writable(uint64_t address, uint32_t length) {
    return {address, length, true};
}

} // namespace

class BlockRequestTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void readsSectorsIntoTheBuffers() {
        Fixture f;
        f.header(VIRTIO_BLK_T_IN, 5);
        const BlockOutcome done = f.serve({readable(kHeader, 16), writable(kData, 512),
                                           writable(kData + 0x1000, 512), writable(kStatus, 1)});
        QCOMPARE(done.status, uint8_t{VIRTIO_BLK_S_OK});
        QCOMPARE(done.written, 1025u);
        QCOMPARE(done.bytes, uint64_t{1024});
        QCOMPARE(f.memory.readValue<uint8_t>(kData + 511), uint8_t{5});
        QCOMPARE(f.memory.readValue<uint8_t>(kData + 0x1000), uint8_t{6});
        QCOMPARE(f.status(), uint8_t{VIRTIO_BLK_S_OK});
    }

    // 2.6.4: the header may arrive in pieces, and the status may share a buffer with the data.
    void headerSplitAndStatusSharingTheDataBuffer() {
        Fixture f;
        f.header(VIRTIO_BLK_T_IN, 7);
        const BlockOutcome done =
            f.serve({readable(kHeader, 3), readable(kHeader + 3, 13), writable(kData, 513)});
        QCOMPARE(done.status, uint8_t{VIRTIO_BLK_S_OK});
        QCOMPARE(f.memory.readValue<uint8_t>(kData), uint8_t{7});
        QCOMPARE(f.memory.readValue<uint8_t>(kData + 512), uint8_t{VIRTIO_BLK_S_OK});
    }

    void writesReachTheImage() {
        Fixture f;
        f.header(VIRTIO_BLK_T_OUT, 9);
        f.memory.fill(kData, 0xab, 512);
        const BlockOutcome done =
            f.serve({readable(kHeader, 16), readable(kData, 512), writable(kStatus, 1)});
        QCOMPARE(done.status, uint8_t{VIRTIO_BLK_S_OK});
        QCOMPARE(done.written, 1u); // only the status
        QCOMPARE(f.sectorByteOnDisk(9), uint8_t{0xab});
        QCOMPARE(f.sectorByteOnDisk(10), uint8_t{10});
    }

    void flushSucceeds() {
        Fixture f;
        f.header(VIRTIO_BLK_T_FLUSH, 0);
        QCOMPARE(f.serve({readable(kHeader, 16), writable(kStatus, 1)}).status,
                 uint8_t{VIRTIO_BLK_S_OK});
    }

    void getIdWritesTheSerial() {
        Fixture f;
        f.header(VIRTIO_BLK_T_GET_ID, 0);
        f.memory.fill(kData, 0xff, 20);
        const BlockOutcome done =
            f.serve({readable(kHeader, 16), writable(kData, 20), writable(kStatus, 1)});
        QCOMPARE(done.status, uint8_t{VIRTIO_BLK_S_OK});
        QCOMPARE(done.written, 21u);
        char id[21] = {};
        f.memory.read(kData, id, 20);
        QCOMPARE(QByteArray(id), QByteArray("kvmscope-disk-0"));
        QCOMPARE(id[19], '\0'); // padded
    }

    void outOfRangeAndPartialSectorsAreIoErrors() {
        Fixture f;
        f.header(VIRTIO_BLK_T_IN, kSectors - 1);
        QCOMPARE(
            f.serve({readable(kHeader, 16), writable(kData, 1024), writable(kStatus, 1)}).status,
            uint8_t{VIRTIO_BLK_S_IOERR});
        f.header(VIRTIO_BLK_T_IN, ~uint64_t{0});
        QCOMPARE(
            f.serve({readable(kHeader, 16), writable(kData, 512), writable(kStatus, 1)}).status,
            uint8_t{VIRTIO_BLK_S_IOERR});
        f.header(VIRTIO_BLK_T_OUT, 0);
        QCOMPARE(
            f.serve({readable(kHeader, 16), readable(kData, 100), writable(kStatus, 1)}).status,
            uint8_t{VIRTIO_BLK_S_IOERR});
        QCOMPARE(f.status(), uint8_t{VIRTIO_BLK_S_IOERR});
    }

    void readOnlyDisksRefuseWritesAndWriteNothing() {
        Fixture f(true);
        f.header(VIRTIO_BLK_T_OUT, 2);
        f.memory.fill(kData, 0xcd, 512);
        QCOMPARE(
            f.serve({readable(kHeader, 16), readable(kData, 512), writable(kStatus, 1)}).status,
            uint8_t{VIRTIO_BLK_S_IOERR});
        QCOMPARE(f.sectorByteOnDisk(2), uint8_t{2});
        f.header(VIRTIO_BLK_T_IN, 2);
        QCOMPARE(
            f.serve({readable(kHeader, 16), writable(kData, 512), writable(kStatus, 1)}).status,
            uint8_t{VIRTIO_BLK_S_OK});
    }

    void unknownTypesAreUnsupported() {
        Fixture f;
        f.header(VIRTIO_BLK_T_SCSI_CMD, 0);
        QCOMPARE(f.serve({readable(kHeader, 16), writable(kStatus, 1)}).status,
                 uint8_t{VIRTIO_BLK_S_UNSUPP});
    }

    void writeZeroesAndDiscard() {
        Fixture f;
        const virtio_blk_discard_write_zeroes segments[2] = {{3, 2, 0}, {20, 1, 0}};
        f.memory.write(kData, segments, sizeof segments);
        f.header(VIRTIO_BLK_T_WRITE_ZEROES, 0);
        QCOMPARE(
            f.serve({readable(kHeader, 16), readable(kData, sizeof segments), writable(kStatus, 1)})
                .status,
            uint8_t{VIRTIO_BLK_S_OK});
        QCOMPARE(f.sectorByteOnDisk(3), uint8_t{0});
        QCOMPARE(f.sectorByteOnDisk(4), uint8_t{0});
        QCOMPARE(f.sectorByteOnDisk(5), uint8_t{5});
        QCOMPARE(f.sectorByteOnDisk(20), uint8_t{0});
        // A discard: done (a hole where the file system can make one), and unmap is not a
        // discard's flag.
        f.header(VIRTIO_BLK_T_DISCARD, 0);
        QCOMPARE(f.serve({readable(kHeader, 16), readable(kData, 16), writable(kStatus, 1)}).status,
                 uint8_t{VIRTIO_BLK_S_OK});
        const virtio_blk_discard_write_zeroes unmap{3, 1, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP};
        f.memory.writeValue(kData, unmap);
        QCOMPARE(f.serve({readable(kHeader, 16), readable(kData, 16), writable(kStatus, 1)}).status,
                 uint8_t{VIRTIO_BLK_S_UNSUPP});
        // Too many segments, too many sectors, out of range.
        const virtio_blk_discard_write_zeroes three[3] = {{0, 1, 0}, {1, 1, 0}, {2, 1, 0}};
        f.memory.write(kData, three, sizeof three);
        QCOMPARE(
            f.serve({readable(kHeader, 16), readable(kData, sizeof three), writable(kStatus, 1)})
                .status,
            uint8_t{VIRTIO_BLK_S_UNSUPP});
        const virtio_blk_discard_write_zeroes big{0, 33, 0};
        f.memory.writeValue(kData, big);
        QCOMPARE(f.serve({readable(kHeader, 16), readable(kData, 16), writable(kStatus, 1)}).status,
                 uint8_t{VIRTIO_BLK_S_UNSUPP});
        const virtio_blk_discard_write_zeroes past{kSectors - 1, 2, 0};
        f.memory.writeValue(kData, past);
        QCOMPARE(f.serve({readable(kHeader, 16), readable(kData, 16), writable(kStatus, 1)}).status,
                 uint8_t{VIRTIO_BLK_S_IOERR});
    }

    void chainsWithoutHeaderOrStatusAreQueueErrors() {
        Fixture f;
        f.header(VIRTIO_BLK_T_IN, 0);
        QVERIFY_THROWS_EXCEPTION(virtio::QueueError,
                                 f.serve({readable(kHeader, 8), writable(kStatus, 1)}));
        QVERIFY_THROWS_EXCEPTION(virtio::QueueError, f.serve({readable(kHeader, 16)}));
        QVERIFY_THROWS_EXCEPTION(virtio::QueueError,
                                 f.serve({readable(kHeader, 16), writable(kStatus, 0)}));
    }
};

QTEST_GUILESS_MAIN(BlockRequestTest)
#include "BlockRequestTest.moc"
