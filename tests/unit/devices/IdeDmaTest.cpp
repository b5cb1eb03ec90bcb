// The PIIX3 bus master of an IDE channel (devices/ide/IdeChannel.h, PrdTable.h): READ and WRITE
// DMA through PRD tables in a GuestMemory, in both orders libata and SeaBIOS use (command then
// start, start then command), and every way a table can be wrong: longer or shorter than the
// transfer, outside RAM, without an end; each with the BMIS bits and the drive status the PIIX3
// datasheet gives, and no crash. Also the hostile port sequences: commands while busy, data
// port reads past the block, and a storm of random accesses.
#include "IdeTestDriver.h"
#include "devices/ide/PrdTable.h"

#include <QTest>
#include <random>

using namespace kvmscope;
using namespace kvmscope::ide;
using namespace kvmscope::testing;

namespace {

constexpr uint64_t kSectors = 1024;
constexpr uint64_t kRam = 16 << 20;
constexpr uint8_t kDone = kStatusReady | kStatusSeekComplete;
constexpr uint32_t kTable = 0x1000;

struct DmaFixture {
    QTemporaryDir dir;
    std::unique_ptr<storage::DiskImage> image;
    std::unique_ptr<storage::DiskImage> iso;
    RecordingIrqLine irq;
    GuestMemory memory{kRam};
    std::unique_ptr<IdeChannel> channel;
    std::unique_ptr<IdeTestDriver> driver;

    DmaFixture() {
        image = makeImage(dir, "disk.img", diskBytes(kSectors));
        iso = makeImage(dir, "cd.iso", isoBytes(24), true);
        channel = std::make_unique<IdeChannel>("IDE primary", irq, &memory,
                                               DriveSpec{DriveKind::Disk, image.get(), "KS-DISK"},
                                               DriveSpec{DriveKind::Cdrom, iso.get(), "KS-CD"});
        driver = std::make_unique<IdeTestDriver>(*channel);
        driver->control(0);
    }
    std::vector<uint8_t> ram(uint64_t address, uint64_t length) {
        std::vector<uint8_t> bytes(length);
        memory.read(address, bytes.data(), length);
        return bytes;
    }
    uint64_t stat(const char* name) {
        return channel->getAttr(IdeChannel::kStatisticsGroup, attrId(name)).scalar;
    }
};

} // namespace

class IdeDmaTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void prdWalkFollowsTheDatasheet() {
        GuestMemory memory(kRam);
        writePrdTable(memory, kTable, {{0x10000, 1024, false}, {0x20001, 0, true}});
        PrdWalk walk = walkPrdTable(memory, kTable, 1024 + 65536);
        QCOMPARE(walk.end, PrdEnd::Exact);
        QCOMPARE(walk.regions.size(), size_t(2));
        QCOMPARE(walk.regions[1].iov_len, size_t(65536)); // a count of 0 is 64 KiB
        QCOMPARE(walk.regions[1].iov_base, static_cast<void*>(memory.span(0x20000, 1).data()));
        QCOMPARE(walkPrdTable(memory, kTable, 512).end, PrdEnd::TableLonger);
        QCOMPARE(walkPrdTable(memory, kTable, 1024).end, PrdEnd::TableLonger);
        QCOMPARE(walkPrdTable(memory, kTable, 1024 + 65538).end, PrdEnd::TableShorter);
        QVERIFY(walkPrdTable(memory, kTable, 1024 + 65538).regions.empty());
        writePrdTable(memory, kTable, {{uint32_t(kRam - 512), 1024, true}});
        QCOMPARE(walkPrdTable(memory, kTable, 1024).end, PrdEnd::OutsideRam);
        QCOMPARE(walkPrdTable(memory, uint32_t(kRam - 4), 1024).end, PrdEnd::OutsideRam);
        // A table of 2-byte entries without EOT over all of the first 64 KiB.
        for (uint32_t i = 0; i < kMaxPrdEntries; ++i)
            writePrdTable(memory, 0x100000 + 8 * i, {{0x300000, 2, false}});
        const PrdWalk endless = walkPrdTable(memory, 0x100000, 1 << 20);
        QCOMPARE(endless.end, PrdEnd::NoEnd);
        QCOMPARE(endless.entries, kMaxPrdEntries);
    }

    void dmaReadLandsInTheRegions() {
        DmaFixture f;
        IdeTestDriver& d = *f.driver;
        writePrdTable(f.memory, kTable, {{0x100000, 1024, false}, {0x200000, 1536, true}});
        d.setupDma(kTable, true);
        d.command28(kCmdReadDma, 10, 5);
        QCOMPARE(d.altStatus() & kStatusBusy, int(kStatusBusy));
        QVERIFY(!f.irq.level());
        d.startDma(true);
        QCOMPARE(d.bmis() & 7, int(kBmisInterrupt)); // Active clear: the regions fit exactly
        QVERIFY(f.irq.level());
        d.stopDma();
        QCOMPARE(d.status(), kDone);
        QVERIFY(!f.irq.level());
        QVERIFY(holdsSectors(f.ram(0x100000, 1024), 10));
        QVERIFY(holdsSectors(f.ram(0x200000, 1536), 12));
        outb(f.channel->busMaster(), kBusMasterStatus, kBmisInterrupt); // write 1 to clear
        QCOMPARE(d.bmis() & 7, 0);
        QCOMPARE(f.channel->getAttr(IdeChannel::kMasterGroup, attrId("DMA transfers")).scalar,
                 uint64_t(1));
    }

    void dmaWriteWithTheBusMasterStartedFirst() {
        DmaFixture f;
        IdeTestDriver& d = *f.driver;
        f.memory.fill(0x400000, 0x5a, 2048);
        writePrdTable(f.memory, kTable, {{0x400000, 2048, true}});
        d.setupDma(kTable, false);
        d.startDma(false);
        QCOMPARE(d.bmis() & kBmisActive, int(kBmisActive));
        d.command48(kCmdWriteDmaExt, 500, 4);
        QCOMPARE(d.bmis() & 7, int(kBmisInterrupt));
        d.stopDma();
        QCOMPARE(d.status(), kDone);
        d.command28(kCmdReadSectors, 499, 6);
        const auto bytes = d.readWords(6 * 512);
        QVERIFY(holdsSectors({bytes.begin(), bytes.begin() + 512}, 499));
        QVERIFY(std::all_of(bytes.begin() + 512, bytes.begin() + 5 * 512,
                            [](uint8_t b) { return b == 0x5a; }));
        QVERIFY(holdsSectors({bytes.begin() + 5 * 512, bytes.end()}, 504));
    }

    void aLongerTableLeavesActiveSet() {
        DmaFixture f;
        IdeTestDriver& d = *f.driver;
        writePrdTable(f.memory, kTable, {{0x100000, 4096, true}});
        d.setupDma(kTable, true);
        d.command28(kCmdReadDma, 0, 2);
        d.startDma(true);
        QCOMPARE(d.bmis() & 7, int(kBmisActive | kBmisInterrupt));
        d.stopDma();
        QCOMPARE(d.bmis() & 7, int(kBmisInterrupt));
        QCOMPARE(d.status(), kDone);
    }

    void aShorterTableEndsWithoutAnInterrupt() {
        DmaFixture f;
        IdeTestDriver& d = *f.driver;
        writePrdTable(f.memory, kTable, {{0x100000, 512, true}});
        d.setupDma(kTable, true);
        d.command28(kCmdReadDma, 0, 2);
        d.startDma(true);
        QCOMPARE(d.bmis() & 7, 0); // the datasheet's error case: neither Active nor Interrupt
        QVERIFY(!f.irq.level());
        d.stopDma();
        QCOMPARE(d.status(), uint8_t(kDone | kStatusError));
        QCOMPARE(d.error(), kErrorAborted);
        QCOMPARE(f.stat("DMA errors"), uint64_t(1));
    }

    void regionsOrTablesOutsideRamAreMasterAborts() {
        DmaFixture f;
        IdeTestDriver& d = *f.driver;
        writePrdTable(f.memory, kTable, {{0xfffff000, 1024, true}});
        d.setupDma(kTable, true);
        d.command28(kCmdReadDma, 0, 2);
        d.startDma(true);
        QCOMPARE(d.bmis() & 7, int(kBmisError | kBmisInterrupt));
        QVERIFY(f.irq.level());
        d.stopDma();
        QCOMPARE(d.status(), uint8_t(kDone | kStatusError));
        // The table itself outside RAM, writing.
        d.setupDma(0xfffffff0, false);
        QCOMPARE(d.bmis() & 7, 0);
        d.command28(kCmdWriteDma, 0, 1);
        d.startDma(false);
        QCOMPARE(d.bmis() & 7, int(kBmisError | kBmisInterrupt));
        d.stopDma();
        QCOMPARE(d.status(), uint8_t(kDone | kStatusError));
        QCOMPARE(f.stat("DMA errors"), uint64_t(2));
        // The channel works on.
        writePrdTable(f.memory, kTable, {{0x100000, 512, true}});
        d.setupDma(kTable, true);
        d.command28(kCmdReadDma, 9, 1);
        d.startDma(true);
        d.stopDma();
        QCOMPARE(d.status(), kDone);
        QVERIFY(holdsSectors(f.ram(0x100000, 512), 9));
    }

    void aTableWithoutAnEndStopsAtTheCap() {
        DmaFixture f;
        IdeTestDriver& d = *f.driver;
        for (uint32_t i = 0; i < kMaxPrdEntries; ++i)
            writePrdTable(f.memory, 0x100000 + 8 * i, {{0x300000, 2, false}});
        d.setupDma(0x100000, true);
        d.command28(kCmdReadDma, 0, 64); // 32 KiB: more than 8192 entries of 2 bytes
        d.startDma(true);
        QCOMPARE(d.bmis() & 7, int(kBmisError | kBmisInterrupt));
        d.stopDma();
        QCOMPARE(d.status(), uint8_t(kDone | kStatusError));
    }

    void zeroLengthPrdsMean64KiB() {
        DmaFixture f;
        IdeTestDriver& d = *f.driver;
        writePrdTable(f.memory, kTable, {{0x100000, 0, true}});
        d.setupDma(kTable, true);
        d.command28(kCmdReadDma, 0, 128);
        d.startDma(true);
        QCOMPARE(d.bmis() & 7, int(kBmisInterrupt));
        d.stopDma();
        QCOMPARE(d.status(), kDone);
        QVERIFY(holdsSectors(f.ram(0x100000, 65536), 0));
    }

    void dmaWithoutGuestMemoryIsAMasterAbort() {
        QTemporaryDir dir;
        auto image = makeImage(dir, "disk.img", diskBytes(16));
        RecordingIrqLine irq;
        IdeChannel channel("IDE", irq, nullptr, DriveSpec{DriveKind::Disk, image.get(), "S"});
        IdeTestDriver d(channel);
        d.setupDma(kTable, true);
        d.command28(kCmdReadDma, 0, 1);
        d.startDma(true);
        QCOMPARE(d.bmis() & 7, int(kBmisError | kBmisInterrupt));
        QCOMPARE(d.status(), uint8_t(kDone | kStatusError));
    }

    void commandsWhileBusyAreIgnored() {
        DmaFixture f;
        IdeTestDriver& d = *f.driver;
        d.setupDma(kTable, true);
        d.command28(kCmdReadDma, 0, 1); // BSY until the bus master starts
        d.command28(kCmdIdentify);
        QCOMPARE(d.altStatus() & kStatusBusy, int(kStatusBusy));
        d.command28(kCmdReadSectors, 0, 1);
        QCOMPARE(f.stat("ignored commands"), uint64_t(2));
        // DRQ counts as busy too.
        d.softReset();
        d.command28(kCmdReadSectors, 3, 1);
        d.command28(kCmdReadSectors, 4, 1);
        QVERIFY(holdsSectors(d.readWords(512), 3));
        QCOMPARE(f.stat("ignored commands"), uint64_t(3));
    }

    void dataReadsPastTheBlockReturnZero() {
        DmaFixture f;
        IdeTestDriver& d = *f.driver;
        d.command28(kCmdIdentify);
        d.readWords(512);
        QCOMPARE(d.status(), kDone);
        const auto extra = d.readWords(88);
        QVERIFY(std::all_of(extra.begin(), extra.end(), [](uint8_t b) { return b == 0; }));
        d.writeWords(std::vector<uint8_t>(16, 0xee));
        QCOMPARE(f.stat("stray data accesses"), uint64_t(44 + 8));
        QCOMPARE(d.status(), kDone);
    }

    void aCommandStormLeavesAWorkingChannel() {
        DmaFixture f;
        IdeTestDriver& d = *f.driver;
        std::mt19937 random(16);
        writePrdTable(f.memory, kTable, {{0x100000, 0, true}});
        for (int i = 0; i < 200000; ++i) {
            const uint32_t r = random();
            const uint64_t which = r % 3;
            const uint64_t ports = which == kCommand ? 8 : which == kControl ? 1 : 8;
            const uint64_t offset = (r >> 2) % ports;
            const size_t size = size_t(1) << ((r >> 5) % 3);
            uint8_t bytes[4] = {uint8_t(r >> 8), uint8_t(r >> 16), uint8_t(r >> 24), 0};
            // Keep the PRD table where it is most of the time, so that transfers happen.
            if (which == kBusMaster && offset >= kBusMasterTable && (r & 0x300))
                continue;
            if (r & 0x80)
                d.block(which).read(offset, std::span<uint8_t>(bytes, size));
            else
                d.block(which).write(offset, std::span<const uint8_t>(bytes, size));
        }
        // Levels alternate: the channel never reports the level it already had.
        const auto levels = f.irq.levels();
        for (size_t i = 1; i < levels.size(); ++i)
            QVERIFY(levels[i] != levels[i - 1]);
        d.stopDma();
        d.softReset();
        d.command28(kCmdReadSectors, 77, 1);
        QVERIFY(holdsSectors(d.readWords(512), 77));
        QCOMPARE(d.status(), kDone);
        QVERIFY(f.stat("interrupts") > 0);
    }
};

QTEST_APPLESS_MAIN(IdeDmaTest)
#include "IdeDmaTest.moc"
