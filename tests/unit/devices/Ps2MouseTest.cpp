// The PS/2 mouse on its own, without a controller: the guest's commands go straight to it and its
// replies and movement packets are read from a recording port.
#include "devices/Ps2Mouse.h"

#include "DeviceTestSupport.h"

#include <QTest>
#include <initializer_list>
#include <vector>

using kvmscope::Ps2Mouse;
using kvmscope::testing::RecordingPs2Port;

namespace {

// Replies and bits written out here rather than taken from the device, so that a wrong constant
// in the device shows up as a failure.
constexpr uint8_t ACK = 0xfa, RESEND = 0xfe, BAT_OK = 0xaa, MOUSE_ID = 0x00;
constexpr uint8_t LEFT = 0x01, RIGHT = 0x02, MIDDLE = 0x04;

using Bytes = std::vector<uint8_t>;

struct Fixture {
    RecordingPs2Port port;
    Ps2Mouse mouse{port};

    // Sends the guest's bytes one by one and returns what the mouse answered.
    Bytes command(std::initializer_list<uint8_t> bytes) {
        for (uint8_t byte : bytes)
            mouse.receive(byte);
        return port.take();
    }
    Bytes move(int dx, int dy, uint8_t buttons) {
        mouse.movement(dx, dy, buttons);
        return port.take();
    }
};

} // namespace

class Ps2MouseTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void startsWithReportingOffAndTheDefaults() {
        Fixture f;
        QVERIFY(!f.mouse.reporting());
        QCOMPARE(f.mouse.sampleRate(), uint8_t(100));
        QCOMPARE(f.mouse.resolution(), uint8_t(2));
        QVERIFY(!f.mouse.scaling21());
        QVERIFY(f.move(5, 5, LEFT).empty()); // no packets until the guest enables reporting
    }

    void resetEmptiesItsBufferAndAnswersWithItsId() {
        Fixture f;
        f.command({0xf3, 40, 0xe8, 0, 0xe7, 0xf4});
        f.mouse.movement(1, 1, 0); // waiting for the guest
        f.mouse.receive(0xff);
        QCOMPARE(f.port.discards(), 1);
        QCOMPARE(f.port.take(), (Bytes{ACK, BAT_OK, MOUSE_ID})); // the packet is gone
        QVERIFY(!f.mouse.reporting());
        QCOMPARE(f.mouse.sampleRate(), uint8_t(100));
        QCOMPARE(f.mouse.resolution(), uint8_t(2));
        QVERIFY(!f.mouse.scaling21());
    }

    void sampleRateAndResolutionTakeAnArgument() {
        Fixture f;
        QCOMPARE(f.command({0xf3}), (Bytes{ACK}));
        QCOMPARE(f.command({40}), (Bytes{ACK}));
        QCOMPARE(f.mouse.sampleRate(), uint8_t(40));
        // 0xf2 as the argument is a rate, not the ID command.
        QCOMPARE(f.command({0xf3, 0xf2}), (Bytes{ACK, ACK}));
        QCOMPARE(f.mouse.sampleRate(), uint8_t(0xf2));
        QCOMPARE(f.command({0xe8, 3}), (Bytes{ACK, ACK}));
        QCOMPARE(f.mouse.resolution(), uint8_t(3));
        QCOMPARE(f.command({0xe8, 0x06}), (Bytes{ACK, ACK})); // only bits 0-1 count
        QCOMPARE(f.mouse.resolution(), uint8_t(2));
    }

    // The IntelliMouse knock (rates 200, 100, 80, then ID) gets no wheel: the ID stays 0, so a
    // driver keeps to 3-byte packets.
    void reportsAPlainMouseEvenAfterTheWheelSequence() {
        Fixture f;
        QCOMPARE(f.command({0xf2}), (Bytes{ACK, MOUSE_ID}));
        f.command({0xf3, 200, 0xf3, 100, 0xf3, 80});
        QCOMPARE(f.command({0xf2}), (Bytes{ACK, MOUSE_ID}));
    }

    void packetHoldsButtonsSignsAndMovement() {
        Fixture f;
        QCOMPARE(f.command({0xf4}), (Bytes{ACK}));
        QVERIFY(f.mouse.reporting());
        // Bit 3 always set, left button, y negative (downwards): -3 as 9-bit two's complement.
        QCOMPARE(f.move(5, -3, LEFT), (Bytes{0x29, 0x05, 0xfd}));
        QCOMPARE(f.move(-1, 1, RIGHT | MIDDLE), (Bytes{0x1e, 0xff, 0x01}));
        QCOMPARE(f.move(0, 0, 0xf8), (Bytes{0x08, 0x00, 0x00})); // only three buttons exist
        QCOMPARE(f.port.packets(), 3);                           // each packet whole or not at all
    }

    void movementBeyondNineBitsSetsOverflowAndClamps() {
        Fixture f;
        f.command({0xf4});
        QCOMPARE(f.move(-300, 2, RIGHT | MIDDLE), (Bytes{0x5e, 0x00, 0x02})); // x: -256
        QCOMPARE(f.move(0, 400, 0), (Bytes{0x88, 0x00, 0xff}));               // y: 255
        QCOMPARE(f.move(255, -256, 0), (Bytes{0x28, 0xff, 0x00})); // the limits themselves fit
    }

    void statusRequestReportsRightMiddleLeft() {
        Fixture f;
        f.mouse.movement(0, 0, LEFT); // recorded while not reporting
        QCOMPARE(f.command({0xe9}), (Bytes{ACK, 0x04, 2, 100}));
        f.command({0xe7, 0xf4, 0xf3, 40, 0xe8, 3});
        f.move(0, 0, RIGHT | MIDDLE);
        // Right (0), middle (1), scaling 2:1 (4), reporting (5); then resolution and rate.
        QCOMPARE(f.command({0xe9}), (Bytes{ACK, 0x33, 3, 40}));
        QCOMPARE(f.command({0xe6, 0xe9}), (Bytes{ACK, ACK, 0x23, 3, 40}));
    }

    void disableAndDefaultsTurnReportingOff() {
        Fixture f;
        f.command({0xf4, 0xf3, 40});
        QCOMPARE(f.command({0xf5}), (Bytes{ACK}));
        QVERIFY(!f.mouse.reporting());
        QCOMPARE(f.mouse.sampleRate(), uint8_t(40)); // disable keeps the settings
        f.command({0xf4});
        QCOMPARE(f.command({0xf6}), (Bytes{ACK}));
        QVERIFY(!f.mouse.reporting());
        QCOMPARE(f.mouse.sampleRate(), uint8_t(100));
        QCOMPARE(f.port.discards(), 0);
    }

    void streamModeOnlyAndUnknownCommandsAskForResend() {
        Fixture f;
        QCOMPARE(f.command({0xea}), (Bytes{ACK}));
        QCOMPARE(f.command({0xf0}), (Bytes{RESEND})); // remote mode is not offered
        QCOMPARE(f.command({0xeb}), (Bytes{RESEND})); // nor its read data
        QCOMPARE(f.command({0x42}), (Bytes{RESEND}));
    }
};

QTEST_APPLESS_MAIN(Ps2MouseTest)
#include "Ps2MouseTest.moc"
