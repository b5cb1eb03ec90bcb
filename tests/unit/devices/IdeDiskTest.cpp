// An IDE channel with an ATA disk (devices/ide/IdeChannel.h, AtaDisk.h), driven by the port
// sequences SeaBIOS and Linux use: reset and signatures, drive selection with a missing slave,
// IDENTIFY DEVICE, PIO reads and writes with CHS, 28- and 48-bit addresses, multiple mode,
// HOB reads, and the errors (IDNF, ABRT) a driver must see.
#include "IdeTestDriver.h"
#include "devices/ide/AtaDisk.h"

#include <QTest>

using namespace kvmscope;
using namespace kvmscope::ide;
using namespace kvmscope::testing;

namespace {

constexpr uint64_t kSectors = 2 * 16 * 63 + 100; // two cylinders and a bit
constexpr uint8_t kDone = kStatusReady | kStatusSeekComplete;

struct DiskFixture {
    QTemporaryDir dir;
    std::unique_ptr<storage::DiskImage> image;
    RecordingIrqLine irq;
    std::unique_ptr<IdeChannel> channel;
    std::unique_ptr<IdeTestDriver> driver;

    explicit DiskFixture(bool readOnly = false, uint64_t sectors = kSectors) {
        image = makeImage(dir, "disk.img", diskBytes(sectors), readOnly);
        channel = std::make_unique<IdeChannel>(
            "IDE primary", irq, nullptr, DriveSpec{DriveKind::Disk, image.get(), "KS-DISK-0"});
        driver = std::make_unique<IdeTestDriver>(*channel);
    }
    uint16_t sectorWordOnDisk(uint64_t sector) const {
        uint16_t word = 0;
        const int fd = ::open(image->path().c_str(), O_RDONLY | O_CLOEXEC);
        [[maybe_unused]] const auto got = ::pread(fd, &word, 2, off_t(sector * 512));
        ::close(fd);
        return word;
    }
    std::vector<uint16_t> identify() {
        driver->command28(kCmdIdentify);
        const auto bytes = driver->readWords(512);
        std::vector<uint16_t> words(256);
        std::memcpy(words.data(), bytes.data(), 512);
        return words;
    }
};

std::string ataString(const std::vector<uint16_t>& words, unsigned first, unsigned count) {
    std::string text;
    for (unsigned i = 0; i < count; ++i) {
        text += static_cast<char>(words[first + i] >> 8);
        text += static_cast<char>(words[first + i] & 0xff);
    }
    while (!text.empty() && text.back() == ' ')
        text.pop_back();
    return text;
}

} // namespace

class IdeDiskTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void softResetShowsTheDiskSignatureAndReady() {
        DiskFixture f;
        IdeTestDriver& d = *f.driver;
        d.out(kSectorCount, 0x55);
        d.softReset();
        d.select(0);
        QCOMPARE(d.in(kSectorCount), uint8_t(1));
        QCOMPARE(d.in(kLbaLow), uint8_t(1));
        QCOMPARE(d.in(kLbaMid), uint8_t(0));
        QCOMPARE(d.in(kLbaHigh), uint8_t(0));
        QCOMPARE(d.error(), kErrorDiagnosticPassed);
        QCOMPARE(d.status(), kDone);
    }

    void srstHoldsTheDriveBusyAndIgnoresCommands() {
        DiskFixture f;
        IdeTestDriver& d = *f.driver;
        d.control(kControlSoftReset);
        QCOMPARE(d.altStatus(), kStatusBusy);
        d.out(kStatusCommand, kCmdIdentify);
        QCOMPARE(d.altStatus(), kStatusBusy);
        d.control(0);
        QCOMPARE(d.altStatus(), kDone);
        QCOMPARE(
            f.channel->getAttr(IdeChannel::kStatisticsGroup, attrId("ignored commands")).scalar,
            uint64_t(1));
    }

    void missingSlaveReadsStatusZeroAndKeepsShadowRegisters() {
        DiskFixture f;
        IdeTestDriver& d = *f.driver;
        // SeaBIOS's ata_detect: select, write 55h/AAh, read them and the device register back.
        d.select(1);
        d.out(kSectorCount, 0x55);
        d.out(kLbaLow, 0xaa);
        QCOMPARE(d.in(kSectorCount), uint8_t(0x55));
        QCOMPARE(d.in(kLbaLow), uint8_t(0xaa));
        QCOMPARE(d.in(kDevice), uint8_t(0xb0));
        QCOMPARE(d.status(), uint8_t(0));
        QCOMPARE(d.altStatus(), uint8_t(0));
        // IDENTIFY PACKET DEVICE then IDENTIFY DEVICE: neither is taken, no DRQ, no interrupt.
        d.out(kStatusCommand, kCmdIdentifyPacket);
        d.out(kStatusCommand, kCmdIdentify);
        QCOMPARE(d.status(), uint8_t(0));
        QVERIFY(f.irq.levels().empty());
        // The master saw the same register writes.
        d.select(0);
        QCOMPARE(d.in(kSectorCount), uint8_t(0x55));
        QCOMPARE(d.status(), kDone);
    }

    void identifyDeviceDescribesTheDisk() {
        DiskFixture f;
        IdeTestDriver& d = *f.driver;
        d.control(0x08); // interrupts on
        const auto words = f.identify();
        QCOMPARE(f.irq.risingEdges(), 1);
        QCOMPARE(d.status(), kDone);
        QVERIFY(!f.irq.level());
        QCOMPARE(words[0], uint16_t(0x0040));
        QCOMPARE(ataString(words, 27, 20), std::string("kvmscope ATA disk"));
        QCOMPARE(ataString(words, 10, 10), std::string("KS-DISK-0"));
        QCOMPARE(ataString(words, 23, 4), std::string("1.0"));
        QCOMPARE(words[1], uint16_t(kSectors / (16 * 63)));
        QCOMPARE(words[3], uint16_t(16));
        QCOMPARE(words[6], uint16_t(63));
        QCOMPARE(words[47] & 0xff, 16);
        QVERIFY(words[49] & (1 << 9)); // LBA
        QVERIFY(words[49] & (1 << 8)); // DMA
        QCOMPARE(words[53] & 0x7, 0x7);
        QCOMPARE(uint32_t(words[60] | words[61] << 16), uint32_t(kSectors));
        QVERIFY(words[83] & (1 << 10)); // 48-bit
        QVERIFY(words[86] & (1 << 10));
        QVERIFY(words[83] & (1 << 13)); // FLUSH CACHE EXT
        QCOMPARE(uint64_t(words[100]) | uint64_t(words[101]) << 16, kSectors);
        QCOMPARE(words[63] & 0x7, 0x7);
        QCOMPARE(words[88] & 0x3f, 0x3f);
        uint8_t sum = 0;
        for (uint16_t word : words)
            sum = static_cast<uint8_t>(sum + (word & 0xff) + (word >> 8));
        QCOMPARE(sum, uint8_t(0));
        QCOMPARE(words[255] & 0xff, 0xa5);
    }

    void nIenKeepsTheLineLow() {
        DiskFixture f;
        f.driver->control(kControlInterruptDisable);
        f.identify();
        QVERIFY(f.irq.levels().empty());
    }

    void pioReadLba28AnnouncesEachBlock() {
        DiskFixture f;
        IdeTestDriver& d = *f.driver;
        d.control(0);
        d.command28(kCmdReadSectors, 1000, 3);
        for (int block = 0; block < 3; ++block) {
            QCOMPARE(d.altStatus(), uint8_t(kDone | kStatusDataRequest));
            QVERIFY(f.irq.level());
            QCOMPARE(d.status(), uint8_t(kDone | kStatusDataRequest)); // acknowledges
            QVERIFY(!f.irq.level());
            QVERIFY(holdsSectors(d.readWords(512), 1000 + block));
        }
        QCOMPARE(d.status(), kDone);
        QCOMPARE(f.irq.risingEdges(), 3); // one per block, none after the last
        QCOMPARE(f.channel->getAttr(IdeChannel::kMasterGroup, attrId("sectors read")).scalar,
                 uint64_t(3));
    }

    void pioReadWithDwordAccesses() {
        DiskFixture f;
        f.driver->command28(kCmdReadSectors, 7, 2);
        QVERIFY(holdsSectors(f.driver->readDwords(1024), 7));
        QCOMPARE(f.driver->status(), kDone);
    }

    void pioReadChsUsesTheDefaultGeometry() {
        DiskFixture f;
        // Cylinder 1, head 2, sector 5: (1 * 16 + 2) * 63 + 4.
        f.driver->commandChs(kCmdReadSectors, 1, 2, 5, 1);
        QVERIFY(holdsSectors(f.driver->readWords(512), (1 * 16 + 2) * 63 + 4));
        // Sector 0 does not exist in CHS.
        f.driver->commandChs(kCmdReadSectors, 0, 0, 0, 1);
        QCOMPARE(f.driver->status(), uint8_t(kDone | kStatusError));
        QCOMPARE(f.driver->error(), kErrorIdNotFound);
    }

    void initializeDeviceParametersChangesTheChsMapping() {
        DiskFixture f;
        IdeTestDriver& d = *f.driver;
        d.out(kSectorCount, 32);
        d.out(kDevice, 0xa0 | 3); // 4 heads
        d.out(kStatusCommand, kCmdInitializeParameters);
        QCOMPARE(d.status(), kDone);
        d.commandChs(kCmdReadSectors, 2, 1, 1, 1);
        QVERIFY(holdsSectors(d.readWords(512), (2 * 4 + 1) * 32));
        const auto words = f.identify();
        QCOMPARE(words[55], uint16_t(4));
        QCOMPARE(words[56], uint16_t(32));
    }

    void pioReadLba48TakesTheHighOrderBytes() {
        DiskFixture f;
        f.driver->command48(kCmdReadSectorsExt, 0x123, 0x0102);
        QCOMPARE(f.driver->altStatus(), uint8_t(kDone | kStatusDataRequest));
        QVERIFY(holdsSectors(f.driver->readWords(512 * 4), 0x123));
        // A 48-bit address past the end.
        DiskFixture g;
        g.driver->command48(kCmdReadSectorsExt, 1ull << 32, 1);
        QCOMPARE(g.driver->status(), uint8_t(kDone | kStatusError));
        QCOMPARE(g.driver->error(), kErrorIdNotFound);
    }

    void hobReadsThePreviousBytes() {
        DiskFixture f;
        IdeTestDriver& d = *f.driver;
        d.out(kLbaLow, 0x11);
        d.out(kLbaLow, 0x22);
        d.out(kSectorCount, 0x33);
        d.out(kSectorCount, 0x44);
        d.control(kControlHighOrderByte);
        QCOMPARE(d.in(kLbaLow), uint8_t(0x11));
        QCOMPARE(d.in(kSectorCount), uint8_t(0x33));
        d.control(0);
        QCOMPARE(d.in(kLbaLow), uint8_t(0x22));
        // A command block write clears HOB.
        d.control(kControlHighOrderByte);
        d.out(kLbaMid, 0x55);
        QCOMPARE(d.in(kLbaLow), uint8_t(0x22));
    }

    void pioWriteReachesTheImage() {
        DiskFixture f;
        IdeTestDriver& d = *f.driver;
        d.control(0);
        d.command28(kCmdWriteSectors, 40, 2);
        // The first block is asked for without an interrupt.
        QCOMPARE(d.altStatus(), uint8_t(kDone | kStatusDataRequest));
        QVERIFY(f.irq.levels().empty());
        std::vector<uint8_t> block(512, 0xab);
        d.writeWords(block);
        QVERIFY(f.irq.level()); // the second block
        QCOMPARE(d.status(), uint8_t(kDone | kStatusDataRequest));
        std::fill(block.begin(), block.end(), 0xcd);
        d.writeWords(block);
        QVERIFY(f.irq.level()); // the end
        QCOMPARE(d.status(), kDone);
        QCOMPARE(f.sectorWordOnDisk(40), uint16_t(0xabab));
        QCOMPARE(f.sectorWordOnDisk(41), uint16_t(0xcdcd));
        QCOMPARE(f.sectorWordOnDisk(42), uint16_t(42));
        d.command28(kCmdFlushCache);
        QCOMPARE(d.status(), kDone);
        d.command48(kCmdFlushCacheExt, 0, 0);
        QCOMPARE(d.status(), kDone);
        QCOMPARE(f.channel->getAttr(IdeChannel::kMasterGroup, attrId("sectors written")).scalar,
                 uint64_t(2));
    }

    void multipleModeMovesBlocksOfSectors() {
        DiskFixture f;
        IdeTestDriver& d = *f.driver;
        d.control(0);
        d.command28(kCmdReadMultiple, 0, 8);
        QCOMPARE(d.status(), uint8_t(kDone | kStatusError)); // SET MULTIPLE MODE first
        QCOMPARE(d.error(), kErrorAborted);
        d.command28(kCmdSetMultipleMode, 0, 3);
        QCOMPARE(d.status(), uint8_t(kDone | kStatusError)); // not a power of two
        d.command28(kCmdSetMultipleMode, 0, 4);
        QCOMPARE(d.status(), kDone);
        QCOMPARE(f.identify()[59], uint16_t(0x0104));
        const auto interrupts = [&] {
            return f.channel->getAttr(IdeChannel::kStatisticsGroup, attrId("interrupts")).scalar;
        };
        const uint64_t before = interrupts();
        d.command28(kCmdReadMultiple, 20, 10); // blocks of 4, 4 and 2
        QVERIFY(holdsSectors(d.readWords(512 * 10), 20));
        QCOMPARE(interrupts() - before, uint64_t(3));
        QCOMPARE(d.status(), kDone);
        d.command48(kCmdWriteMultipleExt, 100, 5);
        d.writeWords(std::vector<uint8_t>(512 * 5, 0x77));
        QCOMPARE(d.status(), kDone);
        QCOMPARE(f.sectorWordOnDisk(104), uint16_t(0x7777));
    }

    void errorsAbortOrReportIdNotFound() {
        DiskFixture f;
        IdeTestDriver& d = *f.driver;
        d.command28(kCmdReadSectors, kSectors - 1, 2);
        QCOMPARE(d.status(), uint8_t(kDone | kStatusError));
        QCOMPARE(d.error(), kErrorIdNotFound);
        d.command28(0xfe); // not a command
        QCOMPARE(d.status(), uint8_t(kDone | kStatusError));
        QCOMPARE(d.error(), kErrorAborted);
        d.command28(kCmdNop);
        QCOMPARE(d.error(), kErrorAborted);
        d.command28(kCmdPacket);
        QCOMPARE(d.error(), kErrorAborted);
        d.command28(kCmdIdentifyPacket);
        QCOMPARE(d.error(), kErrorAborted);
        d.command28(kCmdReadSectors, kSectors - 1, 1); // the last sector is fine
        QVERIFY(holdsSectors(d.readWords(512), kSectors - 1));
        QCOMPARE(f.channel->getAttr(IdeChannel::kMasterGroup, attrId("errors")).scalar,
                 uint64_t(5));
    }

    void writesToAReadOnlyImageAreAborted() {
        DiskFixture f(true);
        IdeTestDriver& d = *f.driver;
        d.command28(kCmdWriteSectors, 0, 1);
        QCOMPARE(d.status(), uint8_t(kDone | kStatusError));
        QCOMPARE(d.error(), kErrorAborted);
        d.command48(kCmdWriteDmaExt, 0, 1);
        QCOMPARE(d.error(), kErrorAborted);
        d.command28(kCmdReadSectors, 3, 1);
        QVERIFY(holdsSectors(d.readWords(512), 3));
        d.command28(kCmdFlushCache);
        QCOMPARE(d.status(), kDone);
    }

    void setFeaturesSelectsTransferModes() {
        DiskFixture f;
        IdeTestDriver& d = *f.driver;
        d.command28(kCmdSetFeatures, 0, kModeMultiwordDma | 2, kFeatureSetTransferMode);
        QCOMPARE(d.status(), kDone);
        QCOMPARE(f.identify()[63], uint16_t(0x0407));
        d.command28(kCmdSetFeatures, 0, kModeUltraDma | 5, kFeatureSetTransferMode);
        QCOMPARE(f.identify()[88], uint16_t(0x203f));
        d.command28(kCmdSetFeatures, 0, kModeUltraDma | 7, kFeatureSetTransferMode);
        QCOMPARE(d.status(), uint8_t(kDone | kStatusError));
        d.command28(kCmdSetFeatures, 0, 0, kFeatureDisableWriteCache);
        QCOMPARE(d.status(), kDone);
        QCOMPARE(f.identify()[85] & 0x20, 0);
        d.command28(kCmdSetFeatures, 0, 0, 0x99);
        QCOMPARE(d.error(), kErrorAborted);
    }

    void powerCommandsComplete() {
        DiskFixture f;
        IdeTestDriver& d = *f.driver;
        for (uint8_t opcode : {kCmdIdle, kCmdIdleImmediate, kCmdStandby, kCmdStandbyImmediate,
                               kCmdSeek, kCmdRecalibrate}) {
            d.command28(opcode);
            QCOMPARE(d.status(), kDone);
        }
        d.command28(kCmdCheckPowerMode);
        QCOMPARE(d.in(kSectorCount), uint8_t(0xff));
        d.command28(kCmdReadVerify, 5, 4);
        QCOMPARE(d.status(), kDone);
    }

    void executeDeviceDiagnosticShowsSignatures() {
        DiskFixture f;
        IdeTestDriver& d = *f.driver;
        d.control(0);
        d.out(kLbaMid, 0x42);
        d.out(kStatusCommand, kCmdExecuteDiagnostic);
        QVERIFY(f.irq.level());
        QCOMPARE(d.error(), kErrorDiagnosticPassed);
        QCOMPARE(d.in(kLbaMid), uint8_t(0));
        QCOMPARE(d.in(kSectorCount), uint8_t(1));
        QCOMPARE(d.status(), kDone);
    }

    void attributesShowTheTaskFileAndImage() {
        DiskFixture f;
        f.driver->command28(kCmdReadSectors, 0x403, 2);
        const auto get = [&](const char* name) {
            return f.channel->getAttr(IdeChannel::kMasterGroup, attrId(name));
        };
        QCOMPARE(get("command").scalar, uint64_t(kCmdReadSectors));
        QCOMPARE(get("LBA low").scalar, uint64_t(0x03));
        QCOMPARE(get("LBA mid").scalar, uint64_t(0x04));
        QCOMPARE(get("status").scalar, uint64_t(kDone | kStatusDataRequest));
        QCOMPARE(get("image size").scalar, kSectors * 512);
        const auto path = get("image").bytes;
        QCOMPARE(std::string(path.begin(), path.end()), f.image->path());
        QCOMPARE(get("PIO buffer").bytes.size(), size_t(512));
        QCOMPARE(get("commands").scalar, uint64_t(1));
        QCOMPARE(f.channel->getAttr(IdeChannel::kSlaveGroup, attrId("present")).scalar,
                 uint64_t(0));
    }

    void snapshotResumesAPioReadMidBlock() {
        DiskFixture f;
        IdeTestDriver& d = *f.driver;
        d.control(0);
        d.command28(kCmdReadSectors, 300, 3);
        (void)d.status();
        QVERIFY(holdsSectors(d.readWords(512), 300));
        const auto firstHalf = d.readWords(200);
        const SavedDeviceState state = f.channel->saveState();

        RecordingIrqLine irq;
        IdeChannel copy("IDE primary", irq, nullptr,
                        DriveSpec{DriveKind::Disk, f.image.get(), "KS-DISK-0"});
        copy.restoreState(state);
        IdeTestDriver e(copy);
        auto rest = e.readWords(312);
        rest.insert(rest.begin(), firstHalf.begin(), firstHalf.end());
        QVERIFY(holdsSectors(rest, 301));
        QCOMPARE(e.status(), uint8_t(kDone | kStatusDataRequest));
        QVERIFY(holdsSectors(e.readWords(512), 302));
        QCOMPARE(e.status(), kDone);
        QCOMPARE(copy.saveState().size(), state.size());
    }

    void restoreRefusesAPhaseThatDoesNotExist() {
        DiskFixture f;
        SavedDeviceState state = f.channel->saveState();
        for (SavedField& field : state)
            if (field.name == "phase")
                field.scalar = 9;
        QVERIFY_THROWS_EXCEPTION(AttributeError, f.channel->restoreState(state));
    }
};

QTEST_APPLESS_MAIN(IdeDiskTest)
#include "IdeDiskTest.moc"
