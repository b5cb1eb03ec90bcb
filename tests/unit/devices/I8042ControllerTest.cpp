// The 8042 keyboard controller at ports 0x60-0x64 as a guest driver sees it: its registers
// (status, command byte, output port), its own commands on port 0x64, where the bytes written to
// port 0x60 go, and its attributes and saved state. What the guest reads back through the output
// buffer, and in which order, is I8042OutputBufferTest's; the keyboard's and mouse's own commands
// are Ps2KeyboardTest's and Ps2MouseTest's.
#include "I8042TestFixture.h"

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
using namespace kvmscope::testing::i8042;

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

    // A byte on port 0x60 is the keyboard's, one after 0xd4 the mouse's; each device's state
    // shows in its group of the controller's attributes.
    void dataBytesReachTheirDevice() {
        Fixture f;
        f.setCommandByte(CB_SYS | CB_KBD_INT); // translation off: the keyboard's own bytes
        for (uint8_t byte : {0xf5, 0xed, 0x06, 0xf0, 0x01})
            outb(f.i8042, DATA, byte);
        QCOMPARE(f.drain(), (Bytes{0xfa, 0xfa, 0xfa, 0xfa, 0xfa}));
        QCOMPARE(f.attr(I8042Controller::kKeyboardGroup, attrId("scanning enabled")), uint64_t(0));
        QCOMPARE(f.attr(I8042Controller::kKeyboardGroup, attrId("LEDs")), uint64_t(0x06));
        QCOMPARE(f.attr(I8042Controller::kKeyboardGroup, attrId("scancode set")), uint64_t(1));
        const uint8_t a[] = {0x1c};
        f.i8042.keyboardInput(a); // scanning is off
        QVERIFY(f.drain().empty());

        for (uint8_t byte : {0xf3, 40, 0xe8, 3, 0xf4})
            f.toMouse(byte);
        for (int i = 0; i < 5; ++i) {
            QCOMPARE(uint8_t(inb(f.i8042, STATUS) & ST_AUXB), ST_AUXB);
            QCOMPARE(inb(f.i8042, DATA), uint8_t(0xfa));
        }
        QCOMPARE(f.attr(I8042Controller::kMouseGroup, attrId("sample rate")), uint64_t(40));
        QCOMPARE(f.attr(I8042Controller::kMouseGroup, attrId("resolution")), uint64_t(3));
        QCOMPARE(f.attr(I8042Controller::kMouseGroup, attrId("enabled")), uint64_t(1));
        f.i8042.mouseInput(5, -3, 0x01);
        QCOMPARE(f.drain(), (Bytes{0x29, 0x05, 0xfd}));
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

    // The attributes' names and order, and the saved state's fields, are what a user and a saved
    // machine know the controller by: the keyboard's and mouse's fields stay in their groups.
    void attributeNamesAreStable() {
        Fixture f;
        QString names;
        for (const auto& info : f.i8042.attributes())
            names += QString::fromStdString(info.groupName + "/" + info.name + "; ");
        QCOMPARE(names, QStringLiteral(
                            "controller/status; controller/command byte; controller/output port; "
                            "controller/A20; controller/last command; "
                            "keyboard/scanning enabled; keyboard/scancode set; keyboard/LEDs; "
                            "keyboard/queued bytes; "
                            "mouse/enabled; mouse/sample rate; mouse/resolution; "
                            "mouse/queued bytes; "
                            "statistics/bytes read; statistics/resets requested; "
                            "statistics/bytes dropped; "));
    }

    void savedStateFieldsAreStable() {
        Fixture f;
        QString fields;
        for (const auto& field : f.i8042.saveState())
            fields += QString::fromStdString(field.group + "/" + field.name + "; ");
        QCOMPARE(fields,
                 QStringLiteral("controller/output port; controller/last command; controller/RAM; "
                                "controller/queue; controller/output full; "
                                "controller/output is the mouse's; controller/output; "
                                "controller/last read; controller/break prefix pending; "
                                "controller/pending command; controller/last write was a command; "
                                "controller/keyboard IRQ level; controller/mouse IRQ level; "
                                "keyboard/scanning enabled; keyboard/scancode set; keyboard/LEDs; "
                                "keyboard/pending command; keyboard/typematic; "
                                "mouse/enabled; mouse/sample rate; mouse/resolution; "
                                "mouse/pending command; mouse/2:1 scaling; mouse/buttons; "
                                "statistics/bytes read; statistics/resets requested; "
                                "statistics/bytes dropped; "));
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
