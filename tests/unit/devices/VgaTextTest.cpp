// The VGA CRTC at 0x3D4/0x3D5 (cursor, start address, protection) and input status 1 at 0x3DA.
#include "devices/VgaText.h"

#include "DeviceTestSupport.h"

#include <QTest>

using namespace kvmscope;
using kvmscope::testing::inb;
using kvmscope::testing::outb;
using kvmscope::testing::outw;

namespace {

constexpr uint64_t kIndex = VgaText::kCrtcIndexOffset;
constexpr uint64_t kData = VgaText::kCrtcDataOffset;

void writeCrtc(VgaText& vga, uint8_t index, uint8_t value) {
    outb(vga, kIndex, index);
    outb(vga, kData, value);
}

uint8_t readCrtc(VgaText& vga, uint8_t index) {
    outb(vga, kIndex, index);
    return inb(vga, kData);
}

} // namespace

class VgaTextTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void startsInMode3WithAnUnderlineCursor() {
        VgaText vga;
        const VgaTextState state = vga.state();
        QCOMPARE(state.startAddress, uint16_t(0));
        QCOMPARE(state.cursorLocation, uint16_t(0));
        QVERIFY(state.cursorEnabled);
        QCOMPARE(state.cursorStart, uint8_t(13));
        QCOMPARE(state.cursorEnd, uint8_t(14));
        QCOMPARE(state.characterHeight, uint8_t(16));
        QCOMPARE(readCrtc(vga, 0x01), uint8_t(0x4F)); // horizontal display end: 80 columns
    }

    void cursorLocationComesFromRegisters0Eand0F() {
        VgaText vga;
        const uint16_t cell = 4 * 80 + 49;
        writeCrtc(vga, VgaText::kCursorLocationHigh, uint8_t(cell >> 8));
        writeCrtc(vga, VgaText::kCursorLocationLow, uint8_t(cell));
        QCOMPARE(vga.state().cursorLocation, cell);
        QCOMPARE(vga.getAttr(VgaText::kCursorGroup, attrId("row")).scalar, uint64_t(4));
        QCOMPARE(vga.getAttr(VgaText::kCursorGroup, attrId("column")).scalar, uint64_t(49));
        QCOMPARE(vga.getAttr(VgaText::kCursorGroup, attrId("visible")).scalar, uint64_t(1));
        QCOMPARE(readCrtc(vga, VgaText::kCursorLocationLow), uint8_t(cell));
    }

    void wordWriteSetsIndexAndData() {
        // outw(0x3D4, value << 8 | index): the idiom of vgacon and most hobby kernels.
        VgaText vga;
        outw(vga, kIndex, uint16_t(0x12 << 8 | VgaText::kCursorLocationHigh));
        outw(vga, kIndex, uint16_t(0x34 << 8 | VgaText::kCursorLocationLow));
        QCOMPARE(vga.state().cursorLocation, uint16_t(0x1234));
        QCOMPARE(inb(vga, kIndex), uint8_t(VgaText::kCursorLocationLow));
    }

    void cursorStartBit5HidesTheCursor() {
        VgaText vga;
        writeCrtc(vga, VgaText::kCursorStart, VgaText::kCursorDisable | 0x0E);
        writeCrtc(vga, VgaText::kCursorEnd, 0x0F);
        const VgaTextState state = vga.state();
        QVERIFY(!state.cursorEnabled);
        QCOMPARE(state.cursorStart, uint8_t(14));
        QCOMPARE(state.cursorEnd, uint8_t(15));
        QCOMPARE(vga.getAttr(VgaText::kCursorGroup, attrId("visible")).scalar, uint64_t(0));
    }

    void cursorRowIsCountedFromTheStartAddress() {
        VgaText vga;
        writeCrtc(vga, VgaText::kStartAddressHigh, 0);
        writeCrtc(vga, VgaText::kStartAddressLow, 80); // scrolled by one row
        writeCrtc(vga, VgaText::kCursorLocationHigh, 0);
        writeCrtc(vga, VgaText::kCursorLocationLow, 80 + 5);
        QCOMPARE(vga.state().startAddress, uint16_t(80));
        QCOMPARE(vga.getAttr(VgaText::kCursorGroup, attrId("row")).scalar, uint64_t(0));
        QCOMPARE(vga.getAttr(VgaText::kCursorGroup, attrId("column")).scalar, uint64_t(5));
        // Above the start: not on the screen.
        writeCrtc(vga, VgaText::kCursorLocationLow, 3);
        QCOMPARE(vga.getAttr(VgaText::kCursorGroup, attrId("visible")).scalar, uint64_t(0));
    }

    void protectBitGuardsRegisters0To7() {
        VgaText vga;
        // Mode 3 leaves register 0x11 with bit 7 set: registers 0-7 are read-only.
        QVERIFY(readCrtc(vga, VgaText::kVerticalRetraceEndProtect) & VgaText::kProtectRegisters);
        writeCrtc(vga, 0x00, 0x12);
        QCOMPARE(readCrtc(vga, 0x00), uint8_t(0x5F));
        writeCrtc(vga, VgaText::kOverflow, 0x00); // only the line-compare bit goes through
        QCOMPARE(readCrtc(vga, VgaText::kOverflow), uint8_t(0x1F & ~VgaText::kLineCompareBit8));
        QCOMPARE(vga.getAttr(VgaText::kStatisticsGroup, attrId("ignored writes")).scalar,
                 uint64_t(2));
        writeCrtc(vga, VgaText::kVerticalRetraceEndProtect, 0x0E);
        writeCrtc(vga, 0x00, 0x12);
        QCOMPARE(readCrtc(vga, 0x00), uint8_t(0x12));
    }

    void inputStatusTogglesRetraceSoPollingLoopsEnd() {
        VgaText vga;
        // Wait for a retrace to start, then to end, as a guest synchronising to vsync does.
        int reads = 0;
        while (!(inb(vga, VgaText::kInputStatusOffset) & VgaText::kVerticalRetrace) && reads < 10)
            ++reads;
        QVERIFY(reads < 10);
        reads = 0;
        while ((inb(vga, VgaText::kInputStatusOffset) & VgaText::kVerticalRetrace) && reads < 10)
            ++reads;
        QVERIFY(reads < 10);
        QVERIFY(vga.getAttr(VgaText::kStatisticsGroup, attrId("status reads")).scalar >= 2);
    }

    void unknownPortsAndIndicesAreCounted() {
        VgaText vga;
        QCOMPARE(inb(vga, 2), uint8_t(0xFF)); // 0x3D6
        QCOMPARE(readCrtc(vga, 0x40), uint8_t(0xFF));
        writeCrtc(vga, 0x40, 1);
        QCOMPARE(vga.getAttr(VgaText::kStatisticsGroup, attrId("unknown accesses")).scalar,
                 uint64_t(2));
        QCOMPARE(vga.getAttr(VgaText::kStatisticsGroup, attrId("ignored writes")).scalar,
                 uint64_t(1));
    }

    void attributesWriteThroughTheCrtc() {
        VgaText vga;
        vga.setAttr(VgaText::kCrtcGroup, attrId("CR0F"), AttrValue::of(7));
        QCOMPARE(vga.state().cursorLocation, uint16_t(7));
        QVERIFY_THROWS_EXCEPTION(
            AttributeError, vga.setAttr(VgaText::kCursorGroup, attrId("row"), AttrValue::of(1)));
    }
};

QTEST_APPLESS_MAIN(VgaTextTest)
#include "VgaTextTest.moc"
