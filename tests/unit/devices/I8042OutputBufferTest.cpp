// The 8042's output buffer as a guest driver sees it: the controller's replies and the keyboard's
// and mouse's bytes reach port 0x60 one at a time, in the order they were produced, with OBF and
// AUXB and an IRQ 1 or IRQ 12 edge each; a disabled interface holds its device's bytes; the queue
// in front of the buffer is bounded; and keyboard bytes are translated from set 2 to set 1.
#include "I8042TestFixture.h"

#include <QTest>
#include <utility>
#include <vector>

using kvmscope::attrId;
using kvmscope::I8042Controller;
using kvmscope::testing::inb;
using kvmscope::testing::outb;
using namespace kvmscope::testing::i8042;

class I8042OutputBufferTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
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

    // Controller replies, keyboard bytes and mouse bytes reach the guest in the order they were
    // produced, each marked as its port's.
    void bytesLeaveInTheOrderTheyWereProduced() {
        Fixture f;
        f.setCommandByte(CB_SYS); // no IRQs, no translation
        f.toMouse(0xf2);          // FA 00 from the mouse
        const uint8_t a[] = {0x1c};
        f.i8042.keyboardInput(a);
        f.command(0xaa); // 55 from the controller
        f.toMouse(0xee); // FE: not a mouse command
        const std::pair<uint8_t, bool> expected[] = {
            {0xfa, true}, {0x00, true}, {0x1c, false}, {0x55, false}, {0xfe, true}};
        for (const auto& [value, mouse] : expected) {
            const uint8_t status = inb(f.i8042, STATUS);
            QVERIFY(status & ST_OBF);
            QCOMPARE(bool(status & ST_AUXB), mouse);
            QCOMPARE(inb(f.i8042, DATA), value);
        }
        QVERIFY(!(inb(f.i8042, STATUS) & ST_OBF));
    }

    // A keyboard reset empties the keyboard's buffer: its waiting keys go, the controller's
    // replies and the mouse's bytes stay.
    void keyboardResetDropsOnlyTheKeyboardsWaitingBytes() {
        Fixture f;
        f.setCommandByte(CB_SYS); // no IRQs, no translation
        f.command(0xad);          // keys wait in the keyboard
        f.command(0xa7);          // and mouse bytes in the mouse
        const uint8_t keys[] = {0x1c, 0x32};
        f.i8042.keyboardInput(keys);
        f.toMouse(0xf2);
        f.command(0x20); // the command byte, into the output buffer at once
        outb(f.i8042, DATA, 0xff);
        QCOMPARE(f.attr(I8042Controller::kKeyboardGroup, attrId("queued bytes")), uint64_t(3));
        QCOMPARE(f.attr(I8042Controller::kMouseGroup, attrId("queued bytes")), uint64_t(2));
        QCOMPARE(f.drain(), (Bytes{CB_SYS | 0x10 | 0x20}));
        f.setCommandByte(CB_SYS); // both interfaces at once: the bytes leave in their order
        QCOMPARE(f.drain(), (Bytes{0xfa, 0x00, 0xfa, 0xaa}));
    }

    // A mouse packet that does not fit in the mouse's side of the queue is dropped whole.
    void mousePacketIsDroppedWholeWhenItDoesNotFit() {
        Fixture f;
        f.toMouse(0xf4);
        QCOMPARE(f.drain(), (Bytes{0xfa}));
        f.command(0xa7); // packets wait in the mouse
        const size_t packets = I8042Controller::kQueueCapacity / 3;
        for (size_t i = 0; i < packets + 1; ++i)
            f.i8042.mouseInput(1, 1, 0);
        QCOMPARE(f.attr(I8042Controller::kMouseGroup, attrId("queued bytes")),
                 uint64_t(packets * 3));
        QCOMPARE(f.attr(I8042Controller::kStatisticsGroup, attrId("bytes dropped")), uint64_t(3));
        f.command(0xa8);
        const Bytes bytes = f.drain();
        QCOMPARE(bytes.size(), packets * 3);
        for (size_t i = 0; i < bytes.size(); i += 3)
            QCOMPARE(bytes[i], uint8_t(0x08)); // every packet starts where it should
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
};

QTEST_APPLESS_MAIN(I8042OutputBufferTest)
#include "I8042OutputBufferTest.moc"
