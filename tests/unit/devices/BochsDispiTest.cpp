// The Bochs VBE dispi registers at 0x1CE/0x1CF and the scanout they give the framebuffer.
#include "devices/BochsDispi.h"

#include "DeviceTestSupport.h"
#include "devices/Framebuffer.h"

#include <QTest>

using namespace kvmscope;
using kvmscope::testing::inb;
using kvmscope::testing::inw;
using kvmscope::testing::outb;
using kvmscope::testing::outw;

namespace {

constexpr uint64_t kIndex = 0;
constexpr uint64_t kData = 1;

uint16_t readRegister(BochsDispi& dispi, uint16_t index) {
    outw(dispi, kIndex, index);
    return inw(dispi, kData);
}

void writeRegister(BochsDispi& dispi, uint16_t index, uint16_t value) {
    outw(dispi, kIndex, index);
    outw(dispi, kData, value);
}

void setMode(BochsDispi& dispi, uint16_t width, uint16_t height, uint16_t bpp,
             uint16_t enableFlags = BochsDispi::kLfbEnabled) {
    writeRegister(dispi, BochsDispi::kIndexEnable, 0);
    writeRegister(dispi, BochsDispi::kIndexXres, width);
    writeRegister(dispi, BochsDispi::kIndexYres, height);
    writeRegister(dispi, BochsDispi::kIndexBpp, bpp);
    writeRegister(dispi, BochsDispi::kIndexEnable, BochsDispi::kEnabled | enableFlags);
}

uint64_t refused(const BochsDispi& dispi) {
    return dispi.getAttr(BochsDispi::kStatisticsGroup, attrId("refused writes")).scalar;
}

} // namespace

class BochsDispiTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void idReadsBackTheVersionTheGuestSpeaks() {
        Framebuffer framebuffer(Framebuffer::kDefaultMemorySize);
        BochsDispi dispi(framebuffer, 1024, 768, 32);
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexId), BochsDispi::kId5);
        writeRegister(dispi, BochsDispi::kIndexId, 0xB0C2);
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexId), uint16_t(0xB0C2));
        writeRegister(dispi, BochsDispi::kIndexId, 0xB0C6); // unknown: refused, kept
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexId), uint16_t(0xB0C2));
        QCOMPARE(refused(dispi), uint64_t(1));
        QCOMPARE(inw(dispi, kIndex), uint16_t(BochsDispi::kIndexId));
    }

    void startsDisabledWithTheConfiguredModeInItsRegisters() {
        Framebuffer framebuffer(Framebuffer::kDefaultMemorySize);
        BochsDispi dispi(framebuffer, 800, 600, 16);
        QVERIFY(!framebuffer.scanout().enabled);
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexXres), uint16_t(800));
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexYres), uint16_t(600));
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexBpp), uint16_t(16));
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexVideoMemory64K), uint16_t(256));
        // ENABLE alone switches that mode on.
        writeRegister(dispi, BochsDispi::kIndexEnable, BochsDispi::kEnabled);
        const ScanoutMode mode = framebuffer.scanout();
        QVERIFY(mode.enabled);
        QCOMPARE(mode.width, 800u);
        QCOMPARE(mode.stride, 1600u);
        QCOMPARE(mode.format(), PixelFormat::Rgb565);
    }

    void enablingSetsTheScanoutAndClearsTheScreen() {
        Framebuffer framebuffer(Framebuffer::kDefaultMemorySize);
        BochsDispi dispi(framebuffer, 1024, 768, 32);
        std::fill_n(framebuffer.memory().data(), 640 * 480 * 4 + 16, uint8_t(0xAB));
        setMode(dispi, 640, 480, 32);
        const ScanoutMode mode = framebuffer.scanout();
        QCOMPARE(mode, (ScanoutMode{true, 640, 480, 32, 2560, 0}));
        QCOMPARE(framebuffer.memory()[0], uint8_t(0));
        QCOMPARE(framebuffer.memory()[640 * 480 * 4 - 1], uint8_t(0));
        QCOMPARE(framebuffer.memory()[640 * 480 * 4], uint8_t(0xAB)); // only the visible rows
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexVirtWidth), uint16_t(640));
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexVirtHeight),
                 uint16_t(Framebuffer::kDefaultMemorySize / 2560));
        QCOMPARE(dispi.getAttr(BochsDispi::kStatisticsGroup, attrId("mode sets")).scalar,
                 uint64_t(1));
    }

    void noClearMemKeepsVideoMemory() {
        Framebuffer framebuffer(Framebuffer::kDefaultMemorySize);
        BochsDispi dispi(framebuffer, 1024, 768, 32);
        framebuffer.memory()[100] = 0x5A;
        setMode(dispi, 320, 200, 24, BochsDispi::kLfbEnabled | BochsDispi::kNoClearMem);
        QCOMPARE(framebuffer.memory()[100], uint8_t(0x5A));
        QCOMPARE(framebuffer.scanout().format(), PixelFormat::Rgb888);
        QCOMPARE(framebuffer.scanout().stride, 960u);
    }

    void modeSwitchesChangeTheScanoutGeneration() {
        Framebuffer framebuffer(Framebuffer::kDefaultMemorySize);
        BochsDispi dispi(framebuffer, 1024, 768, 32);
        const uint64_t start = framebuffer.scanoutAndGeneration().second;
        setMode(dispi, 640, 480, 32);
        const uint64_t first = framebuffer.scanoutAndGeneration().second;
        QVERIFY(first > start);
        setMode(dispi, 800, 600, 15);
        const auto [mode, second] = framebuffer.scanoutAndGeneration();
        QVERIFY(second > first);
        QCOMPARE(mode, (ScanoutMode{true, 800, 600, 15, 1600, 0}));
        QCOMPARE(mode.format(), PixelFormat::Xrgb1555);
        // Disabling goes back to text.
        writeRegister(dispi, BochsDispi::kIndexEnable, 0);
        QVERIFY(!framebuffer.scanout().enabled);
        QVERIFY(framebuffer.scanoutAndGeneration().second > second);
    }

    void resolutionAndDepthCannotChangeWhileEnabled() {
        Framebuffer framebuffer(Framebuffer::kDefaultMemorySize);
        BochsDispi dispi(framebuffer, 1024, 768, 32);
        setMode(dispi, 640, 480, 32);
        writeRegister(dispi, BochsDispi::kIndexXres, 800);
        writeRegister(dispi, BochsDispi::kIndexBpp, 16);
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexXres), uint16_t(640));
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexBpp), uint16_t(32));
        QCOMPARE(framebuffer.scanout().width, 640u);
        QCOMPARE(refused(dispi), uint64_t(2));
    }

    void paletteDepthsAndOversizedModesAreRefused() {
        Framebuffer framebuffer(Framebuffer::kDefaultMemorySize);
        BochsDispi dispi(framebuffer, 1024, 768, 32);
        writeRegister(dispi, BochsDispi::kIndexBpp, 8);
        writeRegister(dispi, BochsDispi::kIndexBpp, 4);
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexBpp), uint16_t(32));
        writeRegister(dispi, BochsDispi::kIndexXres, BochsDispi::kMaxXres + 8);
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexXres), uint16_t(1024));
        QCOMPARE(refused(dispi), uint64_t(3));

        // A mode the video memory cannot hold leaves the display off.
        Framebuffer small(1 << 20);
        BochsDispi smallDispi(small, 1024, 768, 32);
        writeRegister(smallDispi, BochsDispi::kIndexEnable, BochsDispi::kEnabled);
        QVERIFY(!small.scanout().enabled);
        QCOMPARE(readRegister(smallDispi, BochsDispi::kIndexEnable) & BochsDispi::kEnabled, 0);
        QCOMPARE(refused(smallDispi), uint64_t(1));
    }

    void getCapsReportsTheMaximums() {
        Framebuffer framebuffer(Framebuffer::kDefaultMemorySize);
        BochsDispi dispi(framebuffer, 1024, 768, 32);
        writeRegister(dispi, BochsDispi::kIndexEnable, BochsDispi::kGetCaps);
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexXres), BochsDispi::kMaxXres);
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexYres), BochsDispi::kMaxYres);
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexBpp), BochsDispi::kMaxBpp);
        writeRegister(dispi, BochsDispi::kIndexEnable, 0);
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexXres), uint16_t(1024));
    }

    void virtualWidthAndOffsetsPanTheScanout() {
        Framebuffer framebuffer(Framebuffer::kDefaultMemorySize);
        BochsDispi dispi(framebuffer, 1024, 768, 32);
        setMode(dispi, 640, 480, 32);
        writeRegister(dispi, BochsDispi::kIndexVirtWidth, 1024);
        QCOMPARE(framebuffer.scanout().stride, 4096u);
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexVirtHeight), uint16_t(4096));
        // Page flipping: the second buffer starts 480 rows down.
        writeRegister(dispi, BochsDispi::kIndexYOffset, 480);
        writeRegister(dispi, BochsDispi::kIndexXOffset, 8);
        QCOMPARE(framebuffer.scanout().offset, uint64_t(480 * 4096 + 8 * 4));
        // Past the end of video memory: refused, the offset stays.
        writeRegister(dispi, BochsDispi::kIndexYOffset, 4000);
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexYOffset), uint16_t(480));
        QCOMPARE(refused(dispi), uint64_t(1));
        // A virtual width narrower than the screen is widened to it.
        writeRegister(dispi, BochsDispi::kIndexVirtWidth, 100);
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexVirtWidth), uint16_t(640));
        // VIRT_HEIGHT is computed: writes are refused.
        writeRegister(dispi, BochsDispi::kIndexVirtHeight, 5);
        QCOMPARE(refused(dispi), uint64_t(2));
        // Re-enabling starts from the top left again.
        writeRegister(dispi, BochsDispi::kIndexEnable, 0);
        writeRegister(dispi, BochsDispi::kIndexEnable, BochsDispi::kEnabled);
        QCOMPARE(framebuffer.scanout().offset, uint64_t(0));
        QCOMPARE(framebuffer.scanout().stride, 2560u);
    }

    void byteAccessesReachTheLowByte() {
        Framebuffer framebuffer(Framebuffer::kDefaultMemorySize);
        BochsDispi dispi(framebuffer, 1024, 768, 32);
        outb(dispi, kIndex, BochsDispi::kIndexXres);
        QCOMPARE(inb(dispi, kData), uint8_t(1024 & 0xFF));
        outb(dispi, kData, 200);
        QCOMPARE(readRegister(dispi, BochsDispi::kIndexXres), uint16_t(200));
    }

    void unknownRegistersAreCounted() {
        Framebuffer framebuffer(Framebuffer::kDefaultMemorySize);
        BochsDispi dispi(framebuffer, 1024, 768, 32);
        QCOMPARE(readRegister(dispi, 0x20), uint16_t(0));
        writeRegister(dispi, 0x20, 1);
        QCOMPARE(dispi.getAttr(BochsDispi::kStatisticsGroup, attrId("unknown accesses")).scalar,
                 uint64_t(2));
    }

    void attributesGoThroughTheGuestsPath() {
        Framebuffer framebuffer(Framebuffer::kDefaultMemorySize);
        BochsDispi dispi(framebuffer, 1024, 768, 32);
        dispi.setAttr(BochsDispi::kRegistersGroup, attrId("ENABLE"),
                      AttrValue::of(BochsDispi::kEnabled));
        QVERIFY(framebuffer.scanout().enabled);
        QCOMPARE(framebuffer.getAttr(Framebuffer::kScanoutGroup, attrId("stride")).scalar,
                 uint64_t(4096));
        // Not mapped anywhere: only the VGA function's BAR0 places it (FramebufferSlot).
        QCOMPARE(framebuffer.getAttr(Framebuffer::kMemoryGroup, attrId("address")).scalar,
                 ~uint64_t(0));
        framebuffer.setGuestAddress(0xE0000000);
        QCOMPARE(framebuffer.getAttr(Framebuffer::kMemoryGroup, attrId("address")).scalar,
                 uint64_t(0xE0000000));
        QVERIFY_THROWS_EXCEPTION(
            AttributeError,
            dispi.setAttr(BochsDispi::kRegistersGroup, attrId("VIRT_HEIGHT"), AttrValue::of(1)));
        QVERIFY_THROWS_EXCEPTION(
            AttributeError,
            framebuffer.setAttr(Framebuffer::kScanoutGroup, attrId("width"), AttrValue::of(1)));
    }

    void setModeActsAsFirmware() {
        Framebuffer framebuffer(Framebuffer::kDefaultMemorySize);
        BochsDispi dispi(framebuffer, 1024, 768, 32);
        dispi.setMode(1280, 1024, 16);
        QCOMPARE(framebuffer.scanout(), (ScanoutMode{true, 1280, 1024, 16, 2560, 0}));
        QVERIFY_THROWS_EXCEPTION(InputError, dispi.setMode(1024, 768, 8));
    }
};

QTEST_APPLESS_MAIN(BochsDispiTest)
#include "BochsDispiTest.moc"
