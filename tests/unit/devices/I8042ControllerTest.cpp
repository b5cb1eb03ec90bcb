// The 8042 keyboard controller at ports 0x60-0x64 as a guest driver sees it: controller
// commands on port 0x64, keyboard and mouse commands and their replies through port 0x60, the
// status bits and the IRQ 1 / IRQ 12 edges, and the set 2 -> set 1 translation.
#include "devices/I8042Controller.h"

#include "DeviceTestSupport.h"

#include <QTest>
#include <set>
#include <utility>
#include <vector>

using kvmscope::AttributeError;
using kvmscope::attrId;
using kvmscope::AttrValue;
using kvmscope::I8042Controller;
using kvmscope::testing::inb;
using kvmscope::testing::inw;
using kvmscope::testing::outb;
using kvmscope::testing::RecordingIrqLine;

namespace {

// Offsets and bits written out here rather than taken from the device, so that a wrong constant
// in the device shows up as a failure.
constexpr uint64_t DATA = 0, PORT_B = 1, STATUS = 4, COMMAND = 4;
constexpr uint8_t ST_OBF = 0x01, ST_IBF = 0x02, ST_SYS = 0x04, ST_A2 = 0x08, ST_AUXB = 0x20;
constexpr uint8_t CB_KBD_INT = 0x01, CB_AUX_INT = 0x02, CB_SYS = 0x04, CB_TRANSLATE = 0x40;

struct Fixture {
    RecordingIrqLine keyboardIrq;
    RecordingIrqLine mouseIrq;
    int resets = 0;
    I8042Controller i8042{keyboardIrq, mouseIrq, [this] { ++resets; }};

    void command(uint8_t value) { outb(i8042, COMMAND, value); }
    void commandWithData(uint8_t value, uint8_t data) {
        outb(i8042, COMMAND, value);
        outb(i8042, DATA, data);
    }
    void setCommandByte(uint8_t value) { commandWithData(0x60, value); }
    void toMouse(uint8_t value) { commandWithData(0xd4, value); }
    // Reads the output buffer while OBF says there is something, as a polling driver does.
    std::vector<uint8_t> drain() {
        std::vector<uint8_t> bytes;
        while (inb(i8042, STATUS) & ST_OBF)
            bytes.push_back(inb(i8042, DATA));
        return bytes;
    }
    uint64_t attr(uint32_t group, uint64_t attr) const { return i8042.getAttr(group, attr).scalar; }
};

using Bytes = std::vector<uint8_t>;

} // namespace

class I8042ControllerTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void startsAsABiosLeavesIt() {
        Fixture f;
        // No output, system flag set (POST passed), keyboard interrupt and translation on.
        QCOMPARE(uint8_t(inb(f.i8042, STATUS) & (ST_OBF | ST_IBF | ST_SYS | ST_AUXB)), ST_SYS);
        f.command(0x20);
        QCOMPARE(f.drain(), (Bytes{0x45}));
        QVERIFY(f.keyboardIrq.levels().size() == 2); // the reply itself raised IRQ 1, once
    }

    void selfTestAnswers0x55WithOutputFull() {
        Fixture f;
        f.command(0xaa);
        const uint8_t status = inb(f.i8042, STATUS);
        QVERIFY(status & ST_OBF);
        QVERIFY(!(status & ST_AUXB));
        QVERIFY(!(status & ST_IBF)); // commands complete at once
        QVERIFY(status & ST_A2);     // the last write went to port 0x64
        QCOMPARE(inb(f.i8042, DATA), uint8_t(0x55));
        QVERIFY(!(inb(f.i8042, STATUS) & ST_OBF));
        QCOMPARE(inb(f.i8042, DATA), uint8_t(0x55)); // an empty buffer reads its last byte
        f.command(0xab);
        QCOMPARE(f.drain(), (Bytes{0x00}));
        f.command(0xa9);
        QCOMPARE(f.drain(), (Bytes{0x00}));
        QCOMPARE(f.attr(I8042Controller::kStatisticsGroup, attrId("bytes read")), uint64_t(3));
    }

    void commandByteReadsBackWhatWasWritten() {
        Fixture f;
        f.setCommandByte(0x43);
        QVERIFY(!(inb(f.i8042, STATUS) & ST_A2));  // the data byte went to port 0x60
        QVERIFY(!(inb(f.i8042, STATUS) & ST_SYS)); // SYS follows command byte bit 2
        f.command(0x20);
        QCOMPARE(f.drain(), (Bytes{0x43}));
        QCOMPARE(f.attr(I8042Controller::kControllerGroup, attrId("command byte")), uint64_t(0x43));
        // 0xad/0xae and 0xa7/0xa8 flip the interface-disable bits 4 and 5.
        f.command(0xad);
        f.command(0xa7);
        f.command(0x20);
        QCOMPARE(f.drain(), (Bytes{0x43 | 0x10 | 0x20}));
        f.command(0xae);
        f.command(0xa8);
        f.command(0x20);
        QCOMPARE(f.drain(), (Bytes{0x43}));
        QCOMPARE(f.attr(I8042Controller::kControllerGroup, attrId("last command")), uint64_t(0x20));
        // The attribute write has the guest's effect.
        f.i8042.setAttr(I8042Controller::kControllerGroup, attrId("command byte"),
                        AttrValue::of(0x47));
        QVERIFY(inb(f.i8042, STATUS) & ST_SYS);
        f.command(0x20);
        QCOMPARE(f.drain(), (Bytes{0x47}));
    }

    void pulseCommandResets() {
        Fixture f;
        f.command(0xfe);
        QCOMPARE(f.resets, 1);
        f.command(0xff); // pulses nothing
        f.command(0xfd); // pulses bit 1 only, wired to nothing
        QCOMPARE(f.resets, 1);
        QCOMPARE(f.attr(I8042Controller::kStatisticsGroup, attrId("resets requested")),
                 uint64_t(1));
        QVERIFY(!(inb(f.i8042, STATUS) & ST_OBF)); // no reply
    }

    void outputPortTracksA20AndResets() {
        Fixture f;
        QCOMPARE(f.attr(I8042Controller::kControllerGroup, attrId("A20")), uint64_t(1));
        f.commandWithData(0xd1, 0x01); // A20 off, reset line high
        QCOMPARE(f.resets, 0);
        QCOMPARE(f.attr(I8042Controller::kControllerGroup, attrId("A20")), uint64_t(0));
        f.command(0xd0);
        QCOMPARE(f.drain(), (Bytes{0x01}));
        f.commandWithData(0xd1, 0x03);
        QCOMPARE(f.attr(I8042Controller::kControllerGroup, attrId("A20")), uint64_t(1));
        QCOMPARE(f.resets, 0);
        f.commandWithData(0xd1, 0x02); // bit 0 clear: the CPU is held in reset
        QCOMPARE(f.resets, 1);
        QCOMPARE(f.attr(I8042Controller::kControllerGroup, attrId("A20")), uint64_t(1));
        // The data byte was the output port's, not a keyboard command: no reply came.
        QVERIFY(!(inb(f.i8042, STATUS) & ST_OBF));
    }

    void keyboardResetRepliesInOrderWithIrqEdges() {
        Fixture f;
        outb(f.i8042, DATA, 0xff);
        QVERIFY(f.keyboardIrq.level());
        QCOMPARE(f.keyboardIrq.risingEdges(), 1);
        QCOMPARE(inb(f.i8042, DATA), uint8_t(0xfa));
        // The read dropped the line and the next byte raised it again: a second edge.
        QCOMPARE(f.keyboardIrq.risingEdges(), 2);
        QVERIFY(f.keyboardIrq.level());
        QCOMPARE(inb(f.i8042, DATA), uint8_t(0xaa));
        QVERIFY(!f.keyboardIrq.level());
        QCOMPARE(f.keyboardIrq.levels(), std::vector<bool>({true, false, true, false}));
        QVERIFY(!(inb(f.i8042, STATUS) & ST_OBF));
        QVERIFY(f.mouseIrq.levels().empty());
    }

    void noKeyboardIrqWithoutCommandByteBit0() {
        Fixture f;
        f.setCommandByte(CB_SYS);
        outb(f.i8042, DATA, 0xf4);
        QVERIFY(inb(f.i8042, STATUS) & ST_OBF);
        QVERIFY(f.keyboardIrq.levels().empty());
        // Enabling the interrupt with a byte waiting raises the line.
        f.setCommandByte(CB_SYS | CB_KBD_INT);
        QVERIFY(f.keyboardIrq.level());
        QCOMPARE(inb(f.i8042, DATA), uint8_t(0xfa));
        QVERIFY(!f.keyboardIrq.level());
    }

    void identifyTranslatedAndRaw() {
        Fixture f;
        f.setCommandByte(CB_SYS | CB_KBD_INT); // translation off: the keyboard's own bytes
        outb(f.i8042, DATA, 0xf2);
        QCOMPARE(f.drain(), (Bytes{0xfa, 0xab, 0x83}));
        // With translation the 8042 turns the ID's 0x83 (set 2 F7) into 0x41.
        f.setCommandByte(CB_SYS | CB_KBD_INT | CB_TRANSLATE);
        outb(f.i8042, DATA, 0xf2);
        QCOMPARE(f.drain(), (Bytes{0xfa, 0xab, 0x41}));
    }

    void ledsTakeTwoSteps() {
        Fixture f;
        outb(f.i8042, DATA, 0xed);
        QCOMPARE(f.drain(), (Bytes{0xfa}));
        outb(f.i8042, DATA, 0x06); // Num Lock and Caps Lock
        QCOMPARE(f.drain(), (Bytes{0xfa}));
        QCOMPARE(f.attr(I8042Controller::kKeyboardGroup, attrId("LEDs")), uint64_t(0x06));
        // The argument was not taken as a command: a real command works as before.
        outb(f.i8042, DATA, 0xee);
        QCOMPARE(f.drain(), (Bytes{0xee}));
    }

    void echoAndUnknownCommands() {
        Fixture f;
        outb(f.i8042, DATA, 0xee);
        QCOMPARE(f.drain(), (Bytes{0xee}));
        outb(f.i8042, DATA, 0x42);
        QCOMPARE(f.drain(), (Bytes{0xfe}));
    }

    void scancodeSetAndTypematic() {
        Fixture f;
        f.setCommandByte(CB_SYS | CB_KBD_INT);
        outb(f.i8042, DATA, 0xf0);
        outb(f.i8042, DATA, 0x00);
        QCOMPARE(f.drain(), (Bytes{0xfa, 0xfa, 0x02}));
        outb(f.i8042, DATA, 0xf0);
        outb(f.i8042, DATA, 0x01);
        QCOMPARE(f.drain(), (Bytes{0xfa, 0xfa}));
        QCOMPARE(f.attr(I8042Controller::kKeyboardGroup, attrId("scancode set")), uint64_t(1));
        // A set-1 keyboard converts the host's set 2 itself.
        const uint8_t breakA[] = {0xf0, 0x1c};
        f.i8042.keyboardInput(breakA);
        QCOMPARE(f.drain(), (Bytes{0x9e}));
        outb(f.i8042, DATA, 0xf3);
        outb(f.i8042, DATA, 0x20);
        QCOMPARE(f.drain(), (Bytes{0xfa, 0xfa}));
    }

    void scanningDisabledDropsHostKeys() {
        Fixture f;
        outb(f.i8042, DATA, 0xf5);
        QCOMPARE(f.drain(), (Bytes{0xfa}));
        QCOMPARE(f.attr(I8042Controller::kKeyboardGroup, attrId("scanning enabled")), uint64_t(0));
        const uint8_t a[] = {0x1c};
        f.i8042.keyboardInput(a);
        QVERIFY(f.drain().empty());
        outb(f.i8042, DATA, 0xf4);
        QCOMPARE(f.drain(), (Bytes{0xfa}));
        f.i8042.keyboardInput(a);
        QCOMPARE(f.drain(), (Bytes{0x1e}));
    }

    void mouseResetThroughD4() {
        Fixture f;
        // Command byte bit 1 clear (the default): the bytes come, IRQ 12 does not.
        f.toMouse(0xff);
        QVERIFY(f.mouseIrq.levels().empty());
        for (uint8_t expected : {0xfa, 0xaa, 0x00}) {
            QCOMPARE(uint8_t(inb(f.i8042, STATUS) & (ST_OBF | ST_AUXB)), uint8_t(ST_OBF | ST_AUXB));
            QCOMPARE(inb(f.i8042, DATA), expected);
        }
        QVERIFY(!(inb(f.i8042, STATUS) & ST_OBF));
        QVERIFY(f.mouseIrq.levels().empty());
        QVERIFY(f.keyboardIrq.levels().empty()); // mouse bytes never raise IRQ 1

        f.setCommandByte(0x47); // mouse interrupt on
        f.toMouse(0xff);
        QVERIFY(f.mouseIrq.level());
        QCOMPARE(f.drain(), (Bytes{0xfa, 0xaa, 0x00}));
        QCOMPARE(f.mouseIrq.risingEdges(), 3); // one per byte
        QVERIFY(!f.mouseIrq.level());
        QVERIFY(f.keyboardIrq.levels().empty());
    }

    void mouseCommandsAndPackets() {
        Fixture f;
        f.toMouse(0xf2);
        QCOMPARE(f.drain(), (Bytes{0xfa, 0x00}));
        f.toMouse(0xf3);
        f.toMouse(40);
        f.toMouse(0xe8);
        f.toMouse(3);
        f.toMouse(0xe7);
        QCOMPARE(f.drain(), (Bytes{0xfa, 0xfa, 0xfa, 0xfa, 0xfa}));
        QCOMPARE(f.attr(I8042Controller::kMouseGroup, attrId("sample rate")), uint64_t(40));
        QCOMPARE(f.attr(I8042Controller::kMouseGroup, attrId("resolution")), uint64_t(3));
        // Not reporting yet: movement is not queued.
        f.i8042.mouseInput(5, 5, 0);
        QVERIFY(f.drain().empty());
        f.toMouse(0xf4);
        QCOMPARE(f.drain(), (Bytes{0xfa}));
        f.i8042.mouseInput(5, -3, 0x01); // left button
        QCOMPARE(f.drain(), (Bytes{0x29, 0x05, 0xfd}));
        f.i8042.mouseInput(-300, 2, 0x06); // right and middle, x overflowed
        QCOMPARE(f.drain(), (Bytes{0x5e, 0x00, 0x02}));
        f.toMouse(0xe9); // status: middle + right (0x03), 2:1 (0x10), reporting (0x20)
        QCOMPARE(f.drain(), (Bytes{0xfa, 0x33, 0x03, 40}));
        f.toMouse(0xf6);
        QCOMPARE(f.drain(), (Bytes{0xfa}));
        QCOMPARE(f.attr(I8042Controller::kMouseGroup, attrId("enabled")), uint64_t(0));
        QCOMPARE(f.attr(I8042Controller::kMouseGroup, attrId("sample rate")), uint64_t(100));
    }

    void auxDisabledHoldsMouseBytes() {
        Fixture f;
        f.command(0xa7);
        f.toMouse(0xf2);
        QVERIFY(!(inb(f.i8042, STATUS) & ST_OBF));
        QCOMPARE(f.attr(I8042Controller::kMouseGroup, attrId("queued bytes")), uint64_t(2));
        f.command(0xa8);
        QCOMPARE(f.drain(), (Bytes{0xfa, 0x00}));
    }

    void loopbackCommands() {
        Fixture f;
        f.setCommandByte(0x47);
        f.commandWithData(0xd2, 0x1c); // keyboard loopback: not translated
        QCOMPARE(uint8_t(inb(f.i8042, STATUS) & (ST_OBF | ST_AUXB)), ST_OBF);
        QVERIFY(f.keyboardIrq.level());
        QCOMPARE(inb(f.i8042, DATA), uint8_t(0x1c));
        f.commandWithData(0xd3, 0x5a);
        QCOMPARE(uint8_t(inb(f.i8042, STATUS) & (ST_OBF | ST_AUXB)), uint8_t(ST_OBF | ST_AUXB));
        QVERIFY(f.mouseIrq.level());
        QCOMPARE(inb(f.i8042, DATA), uint8_t(0x5a));
        QVERIFY(!f.mouseIrq.level());
    }

    void hostKeysAreTranslatedToSetOne() {
        Fixture f;
        const std::pair<Bytes, Bytes> cases[] = {
            {{0x1c}, {0x1e}},                               // A
            {{0x5a}, {0x1c}},                               // Enter
            {{0x76}, {0x01}},                               // Esc
            {{0x05}, {0x3b}},                               // F1
            {{0xf0, 0x1c}, {0x9e}},                         // A released
            {{0xe0, 0x75}, {0xe0, 0x48}},                   // up arrow
            {{0xe0, 0xf0, 0x75}, {0xe0, 0xc8}},             // up arrow released
            {{0x83}, {0x41}},                               // F7
            {{0x12, 0x29, 0xf0, 0x29}, {0x2a, 0x39, 0xb9}}, // shift, space, space released
        };
        for (const auto& [setTwo, setOne] : cases) {
            f.i8042.keyboardInput(setTwo);
            QCOMPARE(f.drain(), setOne);
        }
    }

    void translationOffPassesSetTwo() {
        Fixture f;
        f.setCommandByte(CB_SYS | CB_KBD_INT);
        const Bytes codes = {0x1c, 0xf0, 0x1c, 0xe0, 0x75};
        f.i8042.keyboardInput(codes);
        QCOMPARE(f.drain(), codes);
    }

    void keyboardDisabledHoldsKeysButNotReplies() {
        Fixture f;
        f.command(0xad);
        const uint8_t a[] = {0x1c};
        f.i8042.keyboardInput(a);
        f.command(0xaa); // the controller's own reply still comes
        QCOMPARE(f.drain(), (Bytes{0x55}));
        f.command(0xae);
        QCOMPARE(f.drain(), (Bytes{0x1e}));
    }

    void queueIsBounded() {
        Fixture f;
        const Bytes many(100, 0x1c);
        f.i8042.keyboardInput(many);
        QCOMPARE(f.attr(I8042Controller::kKeyboardGroup, attrId("queued bytes")),
                 uint64_t(I8042Controller::kQueueCapacity));
        QCOMPARE(f.attr(I8042Controller::kStatisticsGroup, attrId("bytes dropped")),
                 uint64_t(100 - I8042Controller::kQueueCapacity));
        QCOMPARE(f.drain().size(), I8042Controller::kQueueCapacity);
    }

    // Port 0x61 (offset 1) is KVM's in-kernel PIT's; like 0x62 and 0x63 nothing here answers it.
    void unclaimedOffsetsReadAllOnes() {
        Fixture f;
        QCOMPARE(inb(f.i8042, PORT_B), uint8_t(0xff));
        outb(f.i8042, PORT_B, 0x03);
        QCOMPARE(inb(f.i8042, PORT_B), uint8_t(0xff));
        QCOMPARE(inb(f.i8042, 2), uint8_t(0xff));
        QCOMPARE(inb(f.i8042, 3), uint8_t(0xff));
        QCOMPARE(inw(f.i8042, 2), uint16_t(0xffff));
        outb(f.i8042, 2, 0xfe);
        outb(f.i8042, 3, 0xfe);
        QCOMPARE(f.resets, 0);
        QVERIFY(!(inb(f.i8042, STATUS) & ST_OBF));
        QCOMPARE(inw(f.i8042, STATUS) & 0xff00, 0); // zero-extended
    }

    void attributesAreConsistent() {
        Fixture f;
        const auto list = f.i8042.attributes();
        QCOMPARE(list.size(), size_t(16));
        std::set<std::pair<uint32_t, uint64_t>> seen;
        for (const auto& info : list) {
            QVERIFY(seen.insert({info.group, info.attr}).second);
            QVERIFY(f.i8042.hasAttr(info.group, info.attr));
            QVERIFY(!info.name.empty());
            QVERIFY(!info.description.empty());
            f.i8042.getAttr(info.group, info.attr); // every listed attribute can be read
        }
        QVERIFY(!f.i8042.hasAttr(I8042Controller::kStatisticsGroup, 99));
        QVERIFY_THROWS_EXCEPTION(AttributeError, f.i8042.setAttr(I8042Controller::kControllerGroup,
                                                                 attrId("A20"), AttrValue::of(0)));
        QVERIFY_THROWS_EXCEPTION(AttributeError, f.i8042.setAttr(I8042Controller::kKeyboardGroup,
                                                                 attrId("LEDs"), AttrValue::of(1)));
        QVERIFY_THROWS_EXCEPTION(AttributeError,
                                 f.i8042.setAttr(I8042Controller::kControllerGroup,
                                                 attrId("command byte"), AttrValue::of(0x100)));
        QVERIFY_THROWS_EXCEPTION(AttributeError,
                                 f.i8042.setAttr(I8042Controller::kControllerGroup,
                                                 attrId("command byte"), AttrValue::of(0x80)));
        QVERIFY_THROWS_EXCEPTION(AttributeError, f.i8042.getAttr(7, 0));
    }
};

QTEST_APPLESS_MAIN(I8042ControllerTest)
#include "I8042ControllerTest.moc"
