// The MC146818A RTC/CMOS with a clock the test controls: time registers in BCD and binary,
// 24- and 12-hour formats, setting the clock, register C, NMI, and the BIOS memory-size bytes.
#include "devices/CmosRtc.h"

#include "DeviceTestSupport.h"

#include <QTest>
#include <memory>

using kvmscope::AttributeError;
using kvmscope::attrId;
using kvmscope::AttrValue;
using kvmscope::CmosRtc;
using kvmscope::testing::inb;
using kvmscope::testing::outb;

namespace {

constexpr uint64_t INDEX = 0, DATA = 1;
constexpr uint64_t MiB = 1ull << 20, GiB = 1ull << 30;

// A settable host clock shared with the device: whole seconds, plus nanoseconds into the second.
struct FakeClock {
    std::shared_ptr<std::time_t> now = std::make_shared<std::time_t>(0);
    std::shared_ptr<int64_t> nanoseconds = std::make_shared<int64_t>(0);
    CmosRtc::Clock function() const {
        return [now = now, nanoseconds = nanoseconds] {
            return std::chrono::seconds(*now) + std::chrono::nanoseconds(*nanoseconds);
        };
    }
};

std::time_t utc(int year, int month, int day, int hour, int minute, int second) {
    std::tm time{};
    time.tm_year = year - 1900;
    time.tm_mon = month - 1;
    time.tm_mday = day;
    time.tm_hour = hour;
    time.tm_min = minute;
    time.tm_sec = second;
    return timegm(&time);
}

uint8_t readCmos(CmosRtc& rtc, uint8_t index) {
    outb(rtc, INDEX, index);
    return inb(rtc, DATA);
}

void writeCmos(CmosRtc& rtc, uint8_t index, uint8_t value) {
    outb(rtc, INDEX, index);
    outb(rtc, DATA, value);
}

} // namespace

class CmosRtcTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void statusRegistersStartAsPcFirmwareLeavesThem() {
        FakeClock clock;
        CmosRtc rtc(64 * MiB, clock.function());
        QCOMPARE(readCmos(rtc, 0x0a), uint8_t(0x26)); // UIP clear, 32.768 kHz, 1024 Hz
        QCOMPARE(readCmos(rtc, 0x0b), uint8_t(0x02)); // 24-hour, BCD
        QCOMPARE(readCmos(rtc, 0x0c), uint8_t(0x00));
        QCOMPARE(readCmos(rtc, 0x0d), uint8_t(0x80)); // valid RAM and time
    }

    void fixedClockReadsInBcd() {
        FakeClock clock;
        *clock.now = utc(2024, 2, 29, 13, 45, 7); // a Thursday
        CmosRtc rtc(64 * MiB, clock.function());
        QCOMPARE(readCmos(rtc, 0x00), uint8_t(0x07));
        QCOMPARE(readCmos(rtc, 0x02), uint8_t(0x45));
        QCOMPARE(readCmos(rtc, 0x04), uint8_t(0x13));
        QCOMPARE(readCmos(rtc, 0x06), uint8_t(0x05)); // 1 = Sunday
        QCOMPARE(readCmos(rtc, 0x07), uint8_t(0x29));
        QCOMPARE(readCmos(rtc, 0x08), uint8_t(0x02));
        QCOMPARE(readCmos(rtc, 0x09), uint8_t(0x24));
        QCOMPARE(readCmos(rtc, 0x32), uint8_t(0x20));
        *clock.now += 60;
        QCOMPARE(readCmos(rtc, 0x02), uint8_t(0x46)); // the clock runs with the host's
    }

    void binaryModeFollowsRegisterB() {
        FakeClock clock;
        *clock.now = utc(2031, 12, 31, 23, 59, 58);
        CmosRtc rtc(64 * MiB, clock.function());
        writeCmos(rtc, 0x0b, 0x06); // DM = binary, 24-hour
        QCOMPARE(readCmos(rtc, 0x00), uint8_t(58));
        QCOMPARE(readCmos(rtc, 0x02), uint8_t(59));
        QCOMPARE(readCmos(rtc, 0x04), uint8_t(23));
        QCOMPARE(readCmos(rtc, 0x07), uint8_t(31));
        QCOMPARE(readCmos(rtc, 0x08), uint8_t(12));
        QCOMPARE(readCmos(rtc, 0x09), uint8_t(31));
        QCOMPARE(readCmos(rtc, 0x32), uint8_t(20));
    }

    void twelveHourModeSetsThePmBit() {
        FakeClock clock;
        CmosRtc rtc(64 * MiB, clock.function());
        writeCmos(rtc, 0x0b, 0x00); // 12-hour, BCD
        *clock.now = utc(2024, 1, 1, 13, 0, 0);
        QCOMPARE(readCmos(rtc, 0x04), uint8_t(0x81)); // 1 PM
        *clock.now = utc(2024, 1, 1, 0, 30, 0);
        QCOMPARE(readCmos(rtc, 0x04), uint8_t(0x12)); // 12 AM
        *clock.now = utc(2024, 1, 1, 12, 5, 0);
        QCOMPARE(readCmos(rtc, 0x04), uint8_t(0x92)); // 12 PM
        *clock.now = utc(2024, 1, 1, 11, 5, 0);
        QCOMPARE(readCmos(rtc, 0x04), uint8_t(0x11)); // 11 AM
        writeCmos(rtc, 0x0b, 0x04);                   // 12-hour, binary
        *clock.now = utc(2024, 1, 1, 22, 5, 0);
        QCOMPARE(readCmos(rtc, 0x04), uint8_t(0x80 | 10)); // 10 PM
    }

    void guestSetsTheClockWhileSetIsHeld() {
        FakeClock clock;
        *clock.now = utc(2024, 6, 1, 8, 0, 0);
        CmosRtc rtc(64 * MiB, clock.function());
        writeCmos(rtc, 0x0b, 0x82); // SET, 24-hour, BCD
        writeCmos(rtc, 0x09, 0x30);
        writeCmos(rtc, 0x08, 0x01);
        writeCmos(rtc, 0x07, 0x15);
        writeCmos(rtc, 0x04, 0x10);
        writeCmos(rtc, 0x02, 0x20);
        writeCmos(rtc, 0x00, 0x00);
        *clock.now += 100; // SET stops the clock
        QCOMPARE(readCmos(rtc, 0x00), uint8_t(0x00));
        QCOMPARE(readCmos(rtc, 0x09), uint8_t(0x30));
        writeCmos(rtc, 0x0b, 0x02); // clear SET: the clock runs from the loaded time
        *clock.now += 5;
        QCOMPARE(readCmos(rtc, 0x00), uint8_t(0x05));
        QCOMPARE(readCmos(rtc, 0x02), uint8_t(0x20));
        QCOMPARE(readCmos(rtc, 0x04), uint8_t(0x10));
        QCOMPARE(readCmos(rtc, 0x07), uint8_t(0x15));
        QCOMPARE(readCmos(rtc, 0x08), uint8_t(0x01));
        QCOMPARE(readCmos(rtc, 0x09), uint8_t(0x30));
        QCOMPARE(readCmos(rtc, 0x32), uint8_t(0x20));
        QCOMPARE(readCmos(rtc, 0x06), uint8_t(0x03)); // 2030-01-15 is a Tuesday
    }

    void writeWhileRunningTakesEffectAtOnce() {
        FakeClock clock;
        *clock.now = utc(2024, 6, 1, 8, 0, 0);
        CmosRtc rtc(64 * MiB, clock.function());
        writeCmos(rtc, 0x0b, 0x06); // binary, 24-hour
        writeCmos(rtc, 0x04, 21);
        QCOMPARE(readCmos(rtc, 0x04), uint8_t(21));
        writeCmos(rtc, 0x0b, 0x00); // 12-hour BCD: write 9 PM as 0x89
        writeCmos(rtc, 0x04, 0x89);
        writeCmos(rtc, 0x0b, 0x02);
        QCOMPARE(readCmos(rtc, 0x04), uint8_t(0x21));
        QCOMPARE(readCmos(rtc, 0x07), uint8_t(0x01)); // the date did not move
    }

    void registerCReadClearsItsFlags() {
        FakeClock clock;
        *clock.now = 1'000'000'000;
        CmosRtc rtc(64 * MiB, clock.function());
        QCOMPARE(readCmos(rtc, 0x0c), uint8_t(0x00)); // no update cycle ended yet
        *clock.now += 1;
        const uint8_t flags = readCmos(rtc, 0x0c);
        QVERIFY(flags & 0x10);    // UF: an update cycle ended
        QVERIFY(!(flags & 0x80)); // IRQF needs UIE
        QCOMPARE(readCmos(rtc, 0x0c), uint8_t(0x00));
        writeCmos(rtc, 0x0b, 0x12); // UIE
        *clock.now += 1;
        QCOMPARE(uint8_t(readCmos(rtc, 0x0c) & 0x90), uint8_t(0x90));
        QCOMPARE(readCmos(rtc, 0x0c), uint8_t(0x00));
        // The attribute shows the flags without clearing them.
        *clock.now += 1;
        QVERIFY(rtc.getAttr(CmosRtc::kStatusGroup, attrId("register C")).scalar & 0x10);
        QVERIFY(readCmos(rtc, 0x0c) & 0x10);
    }

    void indexPortKeepsTheNmiBit() {
        FakeClock clock;
        CmosRtc rtc(64 * MiB, clock.function());
        outb(rtc, INDEX, 0x80 | 0x0d);
        QCOMPARE(inb(rtc, DATA), uint8_t(0x80)); // register D: bit 7 did not go into the index
        QCOMPARE(rtc.getAttr(CmosRtc::kIndexGroup, attrId("NMI disabled")).scalar, uint64_t(1));
        QCOMPARE(rtc.getAttr(CmosRtc::kIndexGroup, attrId("index")).scalar, uint64_t(0x0d));
        outb(rtc, INDEX, 0x0d);
        QCOMPARE(rtc.getAttr(CmosRtc::kIndexGroup, attrId("NMI disabled")).scalar, uint64_t(0));
        QCOMPARE(inb(rtc, INDEX), uint8_t(0xff)); // write-only
    }

    void ramBytesAreKept() {
        FakeClock clock;
        CmosRtc rtc(64 * MiB, clock.function());
        writeCmos(rtc, 0x40, 0xa5);
        writeCmos(rtc, 0x7f, 0x5a);
        QCOMPARE(readCmos(rtc, 0x40), uint8_t(0xa5));
        QCOMPARE(readCmos(rtc, 0x7f), uint8_t(0x5a));
        writeCmos(rtc, 0x0d, 0x00); // register D is read-only
        QCOMPARE(readCmos(rtc, 0x0d), uint8_t(0x80));
    }

    void memorySizesFor64MiB() {
        FakeClock clock;
        CmosRtc rtc(64 * MiB, clock.function());
        QCOMPARE(readCmos(rtc, 0x15), uint8_t(0x80)); // 640 KiB = 0x0280
        QCOMPARE(readCmos(rtc, 0x16), uint8_t(0x02));
        QCOMPARE(readCmos(rtc, 0x17), uint8_t(0x00)); // 63 MiB = 64512 KiB = 0xfc00
        QCOMPARE(readCmos(rtc, 0x18), uint8_t(0xfc));
        QCOMPARE(readCmos(rtc, 0x30), uint8_t(0x00));
        QCOMPARE(readCmos(rtc, 0x31), uint8_t(0xfc));
        QCOMPARE(readCmos(rtc, 0x34), uint8_t(0x00)); // 48 MiB / 64 KiB = 0x0300
        QCOMPARE(readCmos(rtc, 0x35), uint8_t(0x03));
        QCOMPARE(readCmos(rtc, 0x5b), uint8_t(0x00));
        QCOMPARE(readCmos(rtc, 0x5c), uint8_t(0x00));
        QCOMPARE(readCmos(rtc, 0x5d), uint8_t(0x00));
    }

    void memorySizesFor3GiB() {
        FakeClock clock;
        CmosRtc rtc(3 * GiB, clock.function());
        QCOMPARE(readCmos(rtc, 0x17), uint8_t(0xff)); // capped at 0xffff KiB
        QCOMPARE(readCmos(rtc, 0x18), uint8_t(0xff));
        QCOMPARE(readCmos(rtc, 0x30), uint8_t(0xff));
        QCOMPARE(readCmos(rtc, 0x31), uint8_t(0xff));
        QCOMPARE(readCmos(rtc, 0x34), uint8_t(0x00)); // (3 GiB - 16 MiB) / 64 KiB = 0xbf00
        QCOMPARE(readCmos(rtc, 0x35), uint8_t(0xbf));
        QCOMPARE(readCmos(rtc, 0x5b), uint8_t(0x00));
        QCOMPARE(readCmos(rtc, 0x5c), uint8_t(0x00));
        QCOMPARE(readCmos(rtc, 0x5d), uint8_t(0x00));
    }

    void memorySizesFor8GiB() {
        FakeClock clock;
        CmosRtc rtc(8 * GiB, clock.function());
        // Below 4 GiB the same as 3 GiB (GuestMemory's hole starts there)...
        QCOMPARE(readCmos(rtc, 0x34), uint8_t(0x00));
        QCOMPARE(readCmos(rtc, 0x35), uint8_t(0xbf));
        // ...and 5 GiB above 4 GiB: 5 GiB / 64 KiB = 0x014000.
        QCOMPARE(readCmos(rtc, 0x5b), uint8_t(0x00));
        QCOMPARE(readCmos(rtc, 0x5c), uint8_t(0x40));
        QCOMPARE(readCmos(rtc, 0x5d), uint8_t(0x01));
    }

    void cmosBytesAttributeIsWhatTheGuestReads() {
        FakeClock clock;
        *clock.now = utc(2024, 2, 29, 13, 45, 7);
        CmosRtc rtc(64 * MiB, clock.function());
        const AttrValue value = rtc.getAttr(CmosRtc::kMemoryGroup, attrId("CMOS"));
        QCOMPARE(value.bytes.size(), CmosRtc::kCmosSize);
        QCOMPARE(value.bytes[0x00], uint8_t(0x07));
        QCOMPARE(value.bytes[0x09], uint8_t(0x24));
        QCOMPARE(value.bytes[0x0d], uint8_t(0x80));
        QCOMPARE(value.bytes[0x15], uint8_t(0x80));
        QCOMPARE(value.bytes[0x35], uint8_t(0x03));
        QCOMPARE(rtc.getAttr(CmosRtc::kTimeGroup, attrId("hours")).scalar, uint64_t(0x13));
    }

    void attributeRangeChecks() {
        FakeClock clock;
        CmosRtc rtc(64 * MiB, clock.function());
        QVERIFY_THROWS_EXCEPTION(AttributeError, rtc.setAttr(CmosRtc::kIndexGroup, attrId("index"),
                                                             AttrValue::of(0x80)));
        QVERIFY_THROWS_EXCEPTION(
            AttributeError, rtc.setAttr(CmosRtc::kTimeGroup, attrId("seconds"), AttrValue::of(1)));
        rtc.setAttr(CmosRtc::kIndexGroup, attrId("index"), AttrValue::of(0x15));
        QCOMPARE(inb(rtc, DATA), uint8_t(0x80));
        rtc.setAttr(CmosRtc::kStatusGroup, attrId("register B"), AttrValue::of(0x06));
        QCOMPARE(readCmos(rtc, 0x0b), uint8_t(0x06));
    }
};

QTEST_APPLESS_MAIN(CmosRtcTest)
#include "CmosRtcTest.moc"
