// The PS/2 keyboard on its own, without a controller: the guest's commands go straight to it and
// its replies and keys are read from a recording port, in scan code set 2 as the keyboard sends
// them (the controller's translation to set 1 is I8042ControllerTest's).
#include "devices/Ps2Keyboard.h"

#include "DeviceTestSupport.h"

#include <QTest>
#include <initializer_list>
#include <vector>

using kvmscope::Ps2Keyboard;
using kvmscope::testing::RecordingPs2Port;

namespace {

// Replies written out here rather than taken from the device, so that a wrong constant in the
// device shows up as a failure.
constexpr uint8_t ACK = 0xfa, RESEND = 0xfe, BAT_OK = 0xaa, ECHO = 0xee;

using Bytes = std::vector<uint8_t>;

struct Fixture {
    RecordingPs2Port port;
    Ps2Keyboard keyboard{port};

    // Sends the guest's bytes one by one and returns what the keyboard answered.
    Bytes command(std::initializer_list<uint8_t> bytes) {
        for (uint8_t byte : bytes)
            keyboard.receive(byte);
        return port.take();
    }
    Bytes keys(std::initializer_list<uint8_t> setTwo) {
        keyboard.keyInput(Bytes(setTwo));
        return port.take();
    }
};

} // namespace

class Ps2KeyboardTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void startsScanningInSetTwo() {
        Fixture f;
        QVERIFY(f.keyboard.scanning());
        QCOMPARE(f.keyboard.scancodeSet(), uint8_t(2));
        QCOMPARE(f.keyboard.leds(), uint8_t(0));
        QCOMPARE(f.keyboard.typematic(), uint8_t(0x2b));
        QCOMPARE(f.keys({0x1c, 0xf0, 0x1c}), (Bytes{0x1c, 0xf0, 0x1c})); // as the host sent them
    }

    void resetEmptiesItsBufferAndPassesItsTest() {
        Fixture f;
        f.command({0xf5, 0xed, 0x07, 0xf0, 0x01, 0xf3, 0x00});
        f.keyboard.keyInput(Bytes{0x1c}); // dropped: scanning is off
        f.command({0xf4});
        f.keyboard.keyInput(Bytes{0x1c, 0x32}); // waiting for the guest
        const int discardsBefore = f.port.discards();
        f.keyboard.receive(0xff);
        QCOMPARE(f.port.discards(), discardsBefore + 1);
        QCOMPARE(f.port.take(), (Bytes{ACK, BAT_OK})); // the waiting keys are gone
        QVERIFY(f.keyboard.scanning());
        QCOMPARE(f.keyboard.scancodeSet(), uint8_t(2));
        QCOMPARE(f.keyboard.leds(), uint8_t(0));
        QCOMPARE(f.keyboard.typematic(), uint8_t(0x2b));
    }

    void ledsTakeTwoSteps() {
        Fixture f;
        QCOMPARE(f.command({0xed}), (Bytes{ACK}));
        QCOMPARE(f.command({0x06}), (Bytes{ACK})); // Num Lock and Caps Lock
        QCOMPARE(f.keyboard.leds(), uint8_t(0x06));
        // The argument was not taken as a command: a real command works as before.
        QCOMPARE(f.command({0xee}), (Bytes{ECHO}));
        // Bits 3-7 of the LED byte are reserved.
        QCOMPARE(f.command({0xed, 0xff}), (Bytes{ACK, ACK}));
        QCOMPARE(f.keyboard.leds(), uint8_t(0x07));
    }

    void echoAnswersEchoAndUnknownCommandsAskForResend() {
        Fixture f;
        QCOMPARE(f.command({0xee}), (Bytes{ECHO})); // no acknowledgement first
        QCOMPARE(f.command({0x42}), (Bytes{RESEND}));
        QCOMPARE(f.command({0xfb}), (Bytes{RESEND})); // set 3's key type commands are not offered
    }

    void identifyReportsAnMf2Keyboard() {
        Fixture f;
        QCOMPARE(f.command({0xf2}), (Bytes{ACK, 0xab, 0x83}));
    }

    void scancodeSetIsReportedAndSwitched() {
        Fixture f;
        QCOMPARE(f.command({0xf0, 0x00}), (Bytes{ACK, ACK, 0x02}));
        QCOMPARE(f.command({0xf0, 0x01}), (Bytes{ACK, ACK}));
        QCOMPARE(f.keyboard.scancodeSet(), uint8_t(1));
        QCOMPARE(f.command({0xf0, 0x00}), (Bytes{ACK, ACK, 0x01}));
        QCOMPARE(f.command({0xf0, 0x03}), (Bytes{ACK, RESEND})); // set 3 is not offered
        QCOMPARE(f.keyboard.scancodeSet(), uint8_t(1));
        QCOMPARE(f.command({0xf0, 0x02}), (Bytes{ACK, ACK}));
        QCOMPARE(f.keyboard.scancodeSet(), uint8_t(2));
    }

    void setOneKeyboardConvertsHostKeys() {
        Fixture f;
        f.command({0xf0, 0x01});
        QCOMPARE(f.keys({0x1c}), (Bytes{0x1e}));                   // A
        QCOMPARE(f.keys({0xf0, 0x1c}), (Bytes{0x9e}));             // A released
        QCOMPARE(f.keys({0xe0, 0xf0, 0x75}), (Bytes{0xe0, 0xc8})); // up arrow released
    }

    void typematicIsStoredWithoutBit7() {
        Fixture f;
        QCOMPARE(f.command({0xf3, 0xff}), (Bytes{ACK, ACK}));
        QCOMPARE(f.keyboard.typematic(), uint8_t(0x7f));
        QCOMPARE(f.command({0xf6}), (Bytes{ACK}));
        QCOMPARE(f.keyboard.typematic(), uint8_t(0x2b));
    }

    void disableStopsScanningAndRestoresDefaults() {
        Fixture f;
        f.command({0xf0, 0x01, 0xed, 0x02});
        QCOMPARE(f.command({0xf5}), (Bytes{ACK}));
        QVERIFY(!f.keyboard.scanning());
        QCOMPARE(f.keyboard.scancodeSet(), uint8_t(2));
        QCOMPARE(f.keyboard.leds(), uint8_t(0x02)); // the LEDs are not a default
        QVERIFY(f.keys({0x1c}).empty());
        // Commands are still answered while scanning is off.
        QCOMPARE(f.command({0xee}), (Bytes{ECHO}));
        QCOMPARE(f.command({0xf4}), (Bytes{ACK}));
        QCOMPARE(f.keys({0x1c}), (Bytes{0x1c}));
        QCOMPARE(f.port.packets(), 0); // keys are bytes, not packets
    }

    // Enable, Default Disable and Set Default empty the keyboard's buffer before they answer;
    // Set Default leaves the keyboard scanning, even after a Default Disable (IBM PS/2 Technical
    // Reference, commands F4, F5, F6).
    void enableDisableAndDefaultsEmptyTheBuffer() {
        for (uint8_t command : {uint8_t{0xf4}, uint8_t{0xf5}, uint8_t{0xf6}}) {
            Fixture f;
            const int before = f.port.discards();
            QCOMPARE(f.command({command}), (Bytes{ACK}));
            QCOMPARE(f.port.discards(), before + 1);
        }
    }

    void setDefaultScansAgainAfterADisable() {
        Fixture f;
        f.command({0xf0, 0x01, 0xf5});
        QVERIFY(!f.keyboard.scanning());
        QCOMPARE(f.command({0xf6}), (Bytes{ACK}));
        QVERIFY(f.keyboard.scanning());
        QCOMPARE(f.keyboard.scancodeSet(), uint8_t(2));
        QCOMPARE(f.keys({0x1c}), (Bytes{0x1c}));
    }
};

QTEST_APPLESS_MAIN(Ps2KeyboardTest)
#include "Ps2KeyboardTest.moc"
