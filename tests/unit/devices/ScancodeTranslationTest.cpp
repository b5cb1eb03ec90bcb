// Scan code set 2 to set 1 (devices/ScancodeTranslation.h), against key-by-key pairs of the two
// sets' published tables.
#include "devices/ScancodeTranslation.h"

#include <QTest>
#include <vector>

using namespace kvmscope::scancodes;

class ScancodeTranslationTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void keysMapToTheirSetOneCodes_data() {
        QTest::addColumn<int>("setTwo");
        QTest::addColumn<int>("setOne");
        QTest::newRow("A") << 0x1c << 0x1e;
        QTest::newRow("Z") << 0x1a << 0x2c;
        QTest::newRow("1") << 0x16 << 0x02;
        QTest::newRow("Enter") << 0x5a << 0x1c;
        QTest::newRow("Space") << 0x29 << 0x39;
        QTest::newRow("Esc") << 0x76 << 0x01;
        QTest::newRow("left Shift") << 0x12 << 0x2a;
        QTest::newRow("F1") << 0x05 << 0x3b;
        QTest::newRow("F12") << 0x07 << 0x58;
        QTest::newRow("F7 (bit 7 set in set 2)") << 0x83 << 0x41;
        QTest::newRow("Alt+SysRq") << 0x84 << 0x54;
        QTest::newRow("E0 prefix passes") << 0xe0 << 0xe0;
        QTest::newRow("ACK passes") << 0xfa << 0xfa;
    }
    void keysMapToTheirSetOneCodes() {
        QFETCH(int, setTwo);
        QFETCH(int, setOne);
        QCOMPARE(int(translate(static_cast<uint8_t>(setTwo))), setOne);
    }

    // A make code stays a make code: below 0x80 (or the overrun code 0xff), so that the break
    // bit the controller adds for F0 N cannot turn one key into another.
    void makeCodesBelowTheBreakBitStayBelowIt() {
        for (int code = 0; code < 0x80; ++code)
            QVERIFY2(translate(static_cast<uint8_t>(code)) < 0x80 ||
                         translate(static_cast<uint8_t>(code)) == 0xff,
                     qPrintable(QString::number(code, 16)));
    }

    // A keyboard in set 1: A pressed and released, then right Ctrl (E0 14) pressed and released.
    void sequencesFoldTheBreakPrefix() {
        const std::vector<uint8_t> setTwo{0x1c, 0xf0, 0x1c, 0xe0, 0x14, 0xe0, 0xf0, 0x14};
        const std::vector<uint8_t> expected{0x1e, 0x9e, 0xe0, 0x1d, 0xe0, 0x9d};
        QCOMPARE(setTwoToSetOne(setTwo), expected);
    }
};

QTEST_APPLESS_MAIN(ScancodeTranslationTest)
#include "ScancodeTranslationTest.moc"
