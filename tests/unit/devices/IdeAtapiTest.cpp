// An ATAPI CD-ROM as the slave of an IDE channel with a disk as master (devices/ide/
// AtapiCdrom.h), driven as SeaBIOS's El Torito boot and Linux's sr driver drive it: the packet
// signature, IDENTIFY PACKET DEVICE, packets in PIO with their interrupt reasons and byte
// counts, the SCSI commands' replies, and CHECK CONDITION with the sense data kept.
#include "IdeTestDriver.h"
#include "devices/ide/AtapiCdrom.h"

#include <QTest>

using namespace kvmscope;
using namespace kvmscope::ide;
using namespace kvmscope::testing;

namespace {

constexpr uint32_t kBlocks = 40;
constexpr uint8_t kDone = kStatusReady | kStatusSeekComplete;

struct CdFixture {
    QTemporaryDir dir;
    std::unique_ptr<storage::DiskImage> disk;
    std::unique_ptr<storage::DiskImage> iso;
    RecordingIrqLine irq;
    GuestMemory memory{16 << 20};
    std::unique_ptr<IdeChannel> channel;
    std::unique_ptr<IdeTestDriver> driver;

    explicit CdFixture(uint32_t blocks = kBlocks) {
        disk = makeImage(dir, "disk.img", diskBytes(64));
        iso = blocks > AtapiCdrom::kCdMaxBlocks
                  ? makeSparseImage(dir, "dvd.iso", uint64_t{blocks} * 2048)
                  : makeImage(dir, "cd.iso", isoBytes(blocks), true);
        channel = std::make_unique<IdeChannel>("IDE secondary", irq, &memory,
                                               DriveSpec{DriveKind::Disk, disk.get(), "KS-DISK"},
                                               DriveSpec{DriveKind::Cdrom, iso.get(), "KS-CD"});
        driver = std::make_unique<IdeTestDriver>(*channel);
        driver->control(0);
    }
    // The packet's data by PIO; fails the test when the packet did not start.
    std::vector<uint8_t> run(const std::vector<uint8_t>& cdb, uint16_t byteCount = 2048,
                             int* blocks = nullptr) {
        if (!driver->packet(cdb, byteCount))
            qFatal("the drive did not take the packet");
        return driver->packetData(blocks);
    }
    // REQUEST SENSE's key, ASC and ASCQ.
    std::array<uint8_t, 3> sense() {
        const auto data = run({kScsiRequestSense, 0, 0, 0, 18});
        if (data.size() != 18)
            qFatal("REQUEST SENSE returned %zu bytes", data.size());
        return {data[2], data[12], data[13]};
    }
};

std::vector<uint8_t> read10(uint32_t lba, uint16_t count) {
    return {kScsiRead10,  0, uint8_t(lba >> 24),  uint8_t(lba >> 16), uint8_t(lba >> 8),
            uint8_t(lba), 0, uint8_t(count >> 8), uint8_t(count)};
}

uint32_t be32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

} // namespace

class IdeAtapiTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void resetShowsThePacketSignature() {
        CdFixture f;
        IdeTestDriver& d = *f.driver;
        d.softReset();
        d.select(1);
        QCOMPARE(d.in(kSectorCount), uint8_t(1));
        QCOMPARE(d.in(kLbaLow), uint8_t(1));
        QCOMPARE(d.in(kLbaMid), kAtapiSignatureMid);
        QCOMPARE(d.in(kLbaHigh), kAtapiSignatureHigh);
        QCOMPARE(d.status(), uint8_t(0)); // DRDY clear until a command
        d.select(0);
        QCOMPARE(d.in(kLbaMid), uint8_t(0));
        QCOMPARE(d.status(), kDone);
    }

    void identifyDeviceIsAbortedWithTheSignature() {
        CdFixture f;
        IdeTestDriver& d = *f.driver;
        d.select(1);
        d.out(kLbaMid, 0);
        d.out(kLbaHigh, 0);
        d.out(kStatusCommand, kCmdIdentify);
        QCOMPARE(d.status() & (kStatusError | kStatusDataRequest), int(kStatusError));
        QCOMPARE(d.error(), kErrorAborted);
        QCOMPARE(d.in(kLbaMid), kAtapiSignatureMid);
        QCOMPARE(d.in(kLbaHigh), kAtapiSignatureHigh);
        QCOMPARE(d.in(kDevice)&kDeviceSlave, int(kDeviceSlave));
    }

    void identifyPacketDeviceDescribesACdRom() {
        CdFixture f;
        IdeTestDriver& d = *f.driver;
        d.select(1);
        d.out(kStatusCommand, kCmdIdentifyPacket);
        QCOMPARE(d.altStatus(), uint8_t(kDone | kStatusDataRequest));
        const auto bytes = d.readWords(512);
        QCOMPARE(d.status(), kDone);
        std::vector<uint16_t> words(256);
        std::memcpy(words.data(), bytes.data(), 512);
        QCOMPARE(words[0] >> 14, 2);         // packet device
        QCOMPARE((words[0] >> 8) & 0x1f, 5); // CD-ROM
        QVERIFY(words[0] & 0x80);            // removable
        QCOMPARE(words[0] & 3, 0);           // 12-byte packets
        QVERIFY(words[49] & (1 << 8));       // DMA
        QVERIFY(words[82] & (1 << 4));       // PACKET feature set
        QCOMPARE(char(words[27] >> 8), 'k');
    }

    void inquiryReportsACdDevice() {
        CdFixture f;
        const auto data = f.run({kScsiInquiry, 0, 0, 0, 36});
        QCOMPARE(data.size(), size_t(36));
        QCOMPARE(data[0], uint8_t(0x05));
        QCOMPARE(data[1], uint8_t(0x80));
        QCOMPARE(std::string(data.begin() + 8, data.begin() + 16), std::string("KVMSCOPE"));
        // The status phase: IO and CoD, DRDY, an interrupt.
        QCOMPARE(f.driver->in(kSectorCount)&3, int(kReasonCommand | kReasonToHost));
        QVERIFY(f.irq.level());
        QCOMPARE(f.driver->status(), kDone);
        // The allocation length cuts the reply.
        QCOMPARE(f.run({kScsiInquiry, 0, 0, 0, 5}).size(), size_t(5));
    }

    void readCapacityGivesTheLastBlock() {
        CdFixture f;
        const auto data = f.run({kScsiReadCapacity10});
        QCOMPARE(data.size(), size_t(8));
        QCOMPARE(be32(data.data()), kBlocks - 1);
        QCOMPARE(be32(data.data() + 4), uint32_t(2048));
    }

    void readsTheVolumeAndBootRecordDescriptors() {
        CdFixture f;
        // SeaBIOS's cdrom_boot reads block 17 (the boot record), then the catalog.
        auto pvd = f.run(read10(16, 1));
        QCOMPARE(pvd.size(), size_t(2048));
        QCOMPARE(pvd[0], uint8_t(1));
        QCOMPARE(std::string(pvd.begin() + 1, pvd.begin() + 6), std::string("CD001"));
        auto boot = f.run(read10(17, 1));
        QCOMPARE(std::string(boot.begin() + 1, boot.begin() + 6), std::string("CD001"));
        QCOMPARE(std::string(boot.begin() + 7, boot.begin() + 30),
                 std::string("EL TORITO SPECIFICATION"));
        QCOMPARE(boot[0x47], uint8_t(19));
        QCOMPARE(f.driver->status(), kDone);
    }

    void longReadsComeInBlocksOfTheByteCountLimit() {
        CdFixture f;
        int blocks = 0;
        const auto data = f.run(read10(20, 3), 2048, &blocks);
        QCOMPARE(blocks, 3);
        QCOMPARE(data.size(), size_t(3 * 2048));
        QCOMPARE(std::string(data.begin() + 2048, data.begin() + 2053), std::string("BLOCK"));
        uint32_t n = 0;
        std::memcpy(&n, data.data() + 2048 + 5, 4);
        QCOMPARE(n, uint32_t(21));
        // A larger limit takes them in one block; READ(12) too.
        const auto one = f.run({kScsiRead12, 0, 0, 0, 0, 22, 0, 0, 0, 2}, 0xfffe, &blocks);
        QCOMPARE(blocks, 1);
        QCOMPARE(one.size(), size_t(4096));
        QCOMPARE(f.channel->getAttr(IdeChannel::kSlaveGroup, attrId("sectors read")).scalar,
                 uint64_t(5));
    }

    void outOfRangeReadLeavesSenseData() {
        CdFixture f;
        IdeTestDriver& d = *f.driver;
        QVERIFY(d.packet(read10(kBlocks - 1, 2)));
        QVERIFY(d.packetData().empty());
        QCOMPARE(d.altStatus() & kStatusError, int(kStatusError));
        QCOMPARE(d.error() >> 4, int(kSenseIllegalRequest));
        QCOMPARE(d.in(kSectorCount)&3, int(kReasonCommand | kReasonToHost));
        QVERIFY(f.irq.level());
        QCOMPARE(f.channel->getAttr(IdeChannel::kSlaveGroup, attrId("ASC")).scalar,
                 uint64_t(kAscLbaOutOfRange));
        const auto sense = f.sense();
        QCOMPARE(sense[0], kSenseIllegalRequest);
        QCOMPARE(sense[1], kAscLbaOutOfRange);
        QCOMPARE(sense[2], uint8_t(0));
        QCOMPARE(f.sense()[0], kSenseNone); // reading it cleared it
    }

    void unknownCommandsAreIllegalRequests() {
        CdFixture f;
        QVERIFY(f.run({0xff}).empty());
        auto sense = f.sense();
        QCOMPARE(sense[0], kSenseIllegalRequest);
        QCOMPARE(sense[1], kAscInvalidOpcode);
        QVERIFY(f.run({kScsiInquiry, 1, 0x80, 0, 36}).empty()); // EVPD
        QCOMPARE(f.sense()[1], kAscInvalidFieldInCdb);
        QVERIFY(f.run({kScsiModeSense10, 0, 0xea, 0, 0, 0, 0, 0, 64}).empty()); // saved values
        QCOMPARE(f.sense()[1], kAscSavingNotSupported);
        QVERIFY(f.run({kScsiGetEventStatus, 0, 0, 0, 0x10, 0, 0, 0, 8}).empty()); // not polled
        QCOMPARE(f.sense()[1], kAscInvalidFieldInCdb);
    }

    void testUnitReadyAndFriendsSucceedWithoutData() {
        CdFixture f;
        for (const std::vector<uint8_t>& cdb :
             std::vector<std::vector<uint8_t>>{{kScsiTestUnitReady},
                                               {kScsiPreventAllowRemoval, 0, 0, 0, 0},
                                               {kScsiStartStopUnit, 0, 0, 0, 1},
                                               {kScsiSetCdSpeed, 0, 0xff, 0xff},
                                               read10(3, 0)}) {
            QVERIFY(f.driver->packet(cdb));
            QVERIFY(f.driver->packetData().empty());
            QCOMPARE(f.driver->status(), kDone);
            QCOMPARE(f.driver->in(kSectorCount)&3, int(kReasonCommand | kReasonToHost));
        }
        // Ejecting while removal is prevented is refused.
        f.run({kScsiPreventAllowRemoval, 0, 0, 0, 1});
        QVERIFY(f.run({kScsiStartStopUnit, 0, 0, 0, 2}).empty());
        QCOMPARE(f.sense()[1], kAscRemovalPrevented);
    }

    void readTocInLbaAndMsf() {
        CdFixture f;
        auto toc = f.run({kScsiReadToc, 0, 0, 0, 0, 0, 0, 0, 100});
        QCOMPARE(toc.size(), size_t(20));
        QCOMPARE(toc[1], uint8_t(18)); // data length
        QCOMPARE(toc[2], uint8_t(1));
        QCOMPARE(toc[3], uint8_t(1));
        QCOMPARE(toc[6], uint8_t(1)); // track 1
        QCOMPARE(be32(&toc[8]), uint32_t(0));
        QCOMPARE(toc[14], uint8_t(0xaa)); // lead-out
        QCOMPARE(be32(&toc[16]), kBlocks);
        auto msf = f.run({kScsiReadToc, 0x02, 0, 0, 0, 0, 0, 0, 100});
        QCOMPARE(msf[8 + 1], uint8_t(0)); // track 1 at 00:02:00
        QCOMPARE(msf[8 + 2], uint8_t(2));
        QCOMPARE(msf[8 + 3], uint8_t(0));
        QCOMPARE(msf[16 + 2], uint8_t((kBlocks + 150) / 75 % 60));
        QCOMPARE(msf[16 + 3], uint8_t((kBlocks + 150) % 75));
        auto session = f.run({kScsiReadToc, 0, 1, 0, 0, 0, 0, 0, 12});
        QCOMPARE(session.size(), size_t(12));
        QCOMPARE(session[1], uint8_t(10));
        QVERIFY(f.run({kScsiReadToc, 0, 0, 0, 0, 0, 5, 0, 100}).empty()); // no track 5
    }

    void getConfigurationAndModeSenseAndEvents() {
        CdFixture f;
        auto config = f.run({kScsiGetConfiguration, 0, 0, 0, 0, 0, 0, 0, 64});
        QVERIFY(config.size() >= 8);
        QCOMPARE(config[6] << 8 | config[7], 0x0008); // CD-ROM profile current
        QCOMPARE(be32(config.data()), uint32_t(config.size() - 4));
        auto one = f.run({kScsiGetConfiguration, 2, 0, 1, 0, 0, 0, 0, 64});
        QCOMPARE(one.size(), size_t(8 + 12));
        QCOMPARE(one[8] << 8 | one[9], 0x0001);
        auto caps = f.run({kScsiModeSense10, 0, 0x2a, 0, 0, 0, 0, 0, 128});
        QCOMPARE(caps[8], uint8_t(0x2a));
        QCOMPARE(size_t(caps[0] << 8 | caps[1]), caps.size() - 2);
        auto all = f.run({kScsiModeSense10, 0, 0x3f, 0, 0, 0, 0, 0, 128});
        QCOMPARE(all[8], uint8_t(0x01));
        auto event = f.run({kScsiGetEventStatus, 1, 0, 0, 0x10, 0, 0, 0, 8});
        QCOMPARE(event.size(), size_t(8));
        QCOMPARE(event[2], uint8_t(4));    // media class
        QCOMPARE(event[5], uint8_t(0x02)); // media present
    }

    void packetWithDmaGoesThroughTheBusMaster() {
        CdFixture f;
        IdeTestDriver& d = *f.driver;
        writePrdTable(f.memory, 0x2000, {{0x300000, 4096, true}});
        d.setupDma(0x2000, true);
        QVERIFY(d.packet(read10(16, 2), 0, true));
        QCOMPARE(d.altStatus() & kStatusBusy, int(kStatusBusy));
        d.startDma(true);
        QCOMPARE(d.bmis() & (kBmisActive | kBmisInterrupt), int(kBmisInterrupt));
        d.stopDma();
        QCOMPARE(d.status(), kDone);
        QCOMPARE(d.in(kSectorCount)&3, int(kReasonCommand | kReasonToHost));
        char text[6] = {};
        f.memory.read(0x300001, text, 5);
        QCOMPARE(std::string(text), std::string("CD001"));
        f.memory.read(0x300000 + 2048 + 7, text, 5);
        QCOMPARE(std::string(text), std::string("EL TO"));
        // A reply by DMA (INQUIRY).
        writePrdTable(f.memory, 0x2000, {{0x310000, 36, true}});
        d.setupDma(0x2000, true);
        QVERIFY(d.packet({kScsiInquiry, 0, 0, 0, 36}, 0, true));
        d.startDma(true);
        d.stopDma();
        QCOMPARE(d.status(), kDone);
        QCOMPARE(f.memory.readValue<uint8_t>(0x310000), uint8_t(5));
    }

    void deviceResetWorksEvenWhileBusy() {
        CdFixture f;
        IdeTestDriver& d = *f.driver;
        d.setupDma(0x2000, true);
        QVERIFY(d.packet(read10(16, 1), 0, true)); // waits for the bus master: BSY
        QCOMPARE(d.altStatus() & kStatusBusy, int(kStatusBusy));
        d.out(kStatusCommand, kCmdDeviceReset);
        QCOMPARE(d.altStatus(), uint8_t(0));
        QCOMPARE(d.in(kLbaMid), kAtapiSignatureMid);
        QCOMPARE(f.channel->drive(1)->phase(), Phase::Idle);
    }

    void aLargeImageIsADvd() {
        CdFixture f(AtapiCdrom::kCdMaxBlocks + 1);
        auto config = f.run({kScsiGetConfiguration, 0, 0, 0, 0, 0, 0, 0, 8});
        QCOMPARE(config[6] << 8 | config[7], 0x0010);
    }

    void snapshotResumesBetweenDrqBlocks() {
        CdFixture f;
        IdeTestDriver& d = *f.driver;
        QVERIFY(d.packet(read10(16, 2)));
        const auto first = d.readWords(2048);
        (void)first;
        const SavedDeviceState state = f.channel->saveState();
        RecordingIrqLine irq;
        IdeChannel copy("IDE secondary", irq, &f.memory,
                        DriveSpec{DriveKind::Disk, f.disk.get(), "KS-DISK"},
                        DriveSpec{DriveKind::Cdrom, f.iso.get(), "KS-CD"});
        copy.restoreState(state);
        IdeTestDriver e(copy);
        QCOMPARE(e.altStatus(), uint8_t(kDone | kStatusDataRequest));
        const auto second = e.packetData();
        QCOMPARE(second.size(), size_t(2048));
        QCOMPARE(std::string(second.begin() + 7, second.begin() + 16), std::string("EL TORITO"));
        QCOMPARE(e.status(), kDone);
    }
};

QTEST_APPLESS_MAIN(IdeAtapiTest)
#include "IdeAtapiTest.moc"
