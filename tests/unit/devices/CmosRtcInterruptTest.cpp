// The MC146818A's interrupts with a clock and a timer the test controls: rate decoding, register
// C's flags and IRQF (set as time passes, cleared by a read), the IRQ 8 line with a recorder
// (high while IRQF, low after the read, one edge for any number of ticks before it), alarm
// matching with "don't care" bytes in every format, SET, when the timer runs, and the timer and
// line after a state restore.
#include "DeviceTestSupport.h"
#include "devices/CmosRtc.h"

#include <QTest>
#include <chrono>
#include <memory>
#include <vector>

using kvmscope::attrId;
using kvmscope::CmosRtc;
using kvmscope::DeviceTimer;
using kvmscope::DeviceTimerFactory;
using kvmscope::testing::inb;
using kvmscope::testing::outb;
using kvmscope::testing::RecordingIrqLine;
using std::chrono::nanoseconds;

namespace {

constexpr uint64_t INDEX = 0, DATA = 1;
constexpr uint64_t MiB = 1ull << 20;
constexpr int64_t kSecond = 1'000'000'000;
constexpr uint8_t PF = 0x40, AF = 0x20, UF = 0x10, IRQF = 0x80;
constexpr uint8_t PIE = 0x40, AIE = 0x20, UIE = 0x10, SET = 0x80, BINARY = 0x04, H24 = 0x02;

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

// What the device asked of its timer, and its handler to fire by hand.
struct TimerLog {
    std::function<void()> handler;
    bool exists = false;
    bool armed = false;
    int64_t first = 0;
    int64_t period = 0;
    int arms = 0;
    int disarms = 0;
};

class FakeTimer : public DeviceTimer {
public:
    FakeTimer(std::shared_ptr<TimerLog> log, std::function<void()> handler) : log_(std::move(log)) {
        log_->handler = std::move(handler);
        log_->exists = true;
    }
    ~FakeTimer() override {
        log_->exists = false;
        log_->armed = false;
        log_->handler = nullptr;
    }
    void arm(nanoseconds first, nanoseconds period) override {
        log_->armed = true;
        log_->first = first.count();
        log_->period = period.count();
        ++log_->arms;
    }
    void disarm() override {
        log_->armed = false;
        ++log_->disarms;
    }

private:
    std::shared_ptr<TimerLog> log_;
};

// A device on a fake clock (ns), a recording line and a fake timer.
struct Rig {
    std::shared_ptr<int64_t> now = std::make_shared<int64_t>(0);
    std::shared_ptr<TimerLog> timer = std::make_shared<TimerLog>();
    RecordingIrqLine irq;
    std::unique_ptr<CmosRtc> rtc;

    explicit Rig(int64_t start) {
        *now = start;
        rtc = std::make_unique<CmosRtc>(
            64 * MiB, [now = now] { return nanoseconds(*now); }, &irq,
            DeviceTimerFactory([timer = timer](std::function<void()> handler) {
                return std::unique_ptr<DeviceTimer>(new FakeTimer(timer, std::move(handler)));
            }));
    }
    uint8_t read(uint8_t index) {
        outb(*rtc, INDEX, index);
        return inb(*rtc, DATA);
    }
    void write(uint8_t index, uint8_t value) {
        outb(*rtc, INDEX, index);
        outb(*rtc, DATA, value);
    }
    // Time passes; the timer fires if armed and due (as the real one would by then).
    void passAndFire(int64_t ns) {
        *now += ns;
        if (timer->armed && *now >= timer->first)
            timer->handler();
    }
    uint64_t attr(const char* name) {
        return rtc->getAttr(CmosRtc::kInterruptGroup, attrId(name)).scalar;
    }
};

constexpr int64_t at(std::time_t seconds, int64_t ns = 0) {
    return seconds * kSecond + ns;
}

} // namespace

class CmosRtcInterruptTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void periodicRatesFollowTheDatasheetTable() {
        // MC146818A, "Periodic Interrupt Rate and Square-Wave Output Frequency", 32.768 kHz.
        const uint32_t expected[16] = {0,   256, 128, 8192, 4096, 2048, 1024, 512,
                                       256, 128, 64,  32,   16,   8,    4,    2};
        for (uint8_t rs = 0; rs < 16; ++rs)
            QCOMPARE(CmosRtc::periodicRate(rs), expected[rs]);
        QCOMPARE(CmosRtc::periodicRate(0x26), 1024u); // the divider bits do not count
        Rig rig(at(utc(2024, 1, 1, 0, 0, 0)));
        QCOMPARE(rig.attr("periodic rate"), uint64_t(1024)); // register A's default 0x26
        rig.write(0x0a, 0x2a);
        QCOMPARE(rig.attr("periodic rate"), uint64_t(64));
        rig.write(0x0a, 0x20);
        QCOMPARE(rig.attr("periodic rate"), uint64_t(0));
    }

    void noTimerRunsUntilAnInterruptIsEnabled() {
        Rig rig(at(utc(2024, 1, 1, 0, 0, 0), 300'000'000));
        QVERIFY(rig.timer->exists);
        QCOMPARE(rig.timer->arms, 0);
        rig.write(0x0b, H24 | BINARY); // format bits only
        rig.write(0x0a, 0x2f);         // a rate, without PIE
        rig.write(0x01, 0xc0);         // an alarm, without AIE
        QCOMPARE(rig.timer->arms, 0);
        QCOMPARE(rig.attr("timer period"), uint64_t(0));

        // PIE at 2 Hz: the next half second, every half second.
        rig.write(0x0b, H24 | PIE);
        QVERIFY(rig.timer->armed);
        QCOMPARE(rig.timer->first, at(utc(2024, 1, 1, 0, 0, 0), 500'000'000));
        QCOMPARE(rig.timer->period, kSecond / 2);
        QCOMPARE(rig.attr("timer period"), uint64_t(kSecond / 2));
        // The same period again: no re-arming (the phase is the second's either way).
        rig.write(0x0b, H24 | PIE | UIE);
        QCOMPARE(rig.timer->arms, 1);
        // 8192 Hz: the period rounded down, the first tick the next one.
        rig.write(0x0a, 0x23);
        QCOMPARE(rig.timer->arms, 2);
        QCOMPARE(rig.timer->period, int64_t(122070));
        QCOMPARE(rig.timer->first, at(utc(2024, 1, 1, 0, 0, 0), 300'048'829)); // tick 2458
        // UIE alone: once a second, at the second.
        rig.write(0x0b, H24 | UIE);
        QCOMPARE(rig.timer->period, kSecond);
        QCOMPARE(rig.timer->first, at(utc(2024, 1, 1, 0, 0, 1)));
        // AIE alone: the same.
        rig.write(0x0b, H24 | AIE);
        QCOMPARE(rig.timer->arms, 3);
        // Nothing enabled: disarmed.
        rig.write(0x0b, H24);
        QVERIFY(!rig.timer->armed);
        QCOMPARE(rig.attr("timer period"), uint64_t(0));
        // PIE with no rate selected: no periodic interrupt, no timer.
        rig.write(0x0a, 0x20);
        rig.write(0x0b, H24 | PIE);
        QVERIFY(!rig.timer->armed);
    }

    void periodicInterruptRaisesTheLineUntilRegisterCIsRead() {
        Rig rig(at(utc(2024, 1, 1, 0, 0, 0), 100'000'000));
        rig.write(0x0a, 0x2f); // 2 Hz
        rig.write(0x0b, H24 | PIE);
        QVERIFY(rig.irq.levels().empty());
        rig.passAndFire(450'000'000); // .55: the tick at .5
        QVERIFY(rig.irq.level());
        QCOMPARE(rig.attr("IRQ level"), uint64_t(1));
        QCOMPARE(rig.attr("interrupts raised"), uint64_t(1));
        // The attribute shows register C without clearing it.
        QCOMPARE(rig.rtc->getAttr(CmosRtc::kStatusGroup, attrId("register C")).scalar,
                 uint64_t(IRQF | PF));
        QCOMPARE(rig.read(0x0c), uint8_t(IRQF | PF));
        QVERIFY(!rig.irq.level());
        QCOMPARE(rig.read(0x0c), uint8_t(0)); // cleared by the read
        // The next tick at 1.0 also ends a second: UF, which UIE does not ask for.
        rig.passAndFire(500'000'000);
        QVERIFY(rig.irq.level());
        QCOMPARE(rig.read(0x0c), uint8_t(IRQF | PF | UF));
        QCOMPARE(rig.irq.levels(), (std::vector<bool>{true, false, true, false}));
    }

    // PF is a flag: any number of ticks before the read is one interrupt.
    void ticksCoalesceUntilAcknowledged() {
        Rig rig(at(utc(2024, 1, 1, 0, 0, 0)));
        rig.write(0x0a, 0x23); // 8192 Hz
        rig.write(0x0b, H24 | PIE);
        for (int i = 0; i < 100; ++i)
            rig.passAndFire(122'071);
        QCOMPARE(rig.irq.risingEdges(), 1);
        QCOMPARE(rig.attr("interrupts raised"), uint64_t(1));
        QCOMPARE(rig.read(0x0c), uint8_t(IRQF | PF));
        // Acknowledged: the next tick is a new edge.
        rig.passAndFire(122'071);
        QCOMPARE(rig.irq.risingEdges(), 2);
        // A wake-up that finds no new tick (the period is rounded down) raises nothing.
        rig.read(0x0c);
        rig.passAndFire(1);
        QCOMPARE(rig.irq.risingEdges(), 2);
        QCOMPARE(rig.attr("interrupts raised"), uint64_t(2));
    }

    // The flags are set whatever the enables say (polling software reads them); IRQF follows the
    // enables at once, both ways.
    void flagsAreSetWithoutEnablesAndIrqfFollowsThem() {
        Rig rig(at(utc(2024, 1, 1, 0, 0, 0)));
        rig.write(0x0a, 0x2f); // 2 Hz
        *rig.now += 600'000'000;
        QCOMPARE(rig.rtc->getAttr(CmosRtc::kStatusGroup, attrId("register C")).scalar,
                 uint64_t(PF));
        QVERIFY(rig.irq.levels().empty());
        rig.write(0x0b, H24 | PIE); // PF already set: IRQF and the line at once
        QVERIFY(rig.irq.level());
        rig.write(0x0b, H24); // PIE off: IRQF drops, the line with it; PF stays
        QVERIFY(!rig.irq.level());
        QCOMPARE(rig.read(0x0c), uint8_t(PF));
        // The rate change keeps the ticks in phase with the second: 2 Hz -> 4 Hz at .6 s, the
        // next tick at .75 s.
        rig.write(0x0a, 0x2e);
        *rig.now += 140'000'000;
        QCOMPARE(rig.read(0x0c), uint8_t(0));
        *rig.now += 20'000'000;
        QCOMPARE(rig.read(0x0c), uint8_t(PF));
    }

    void updateInterruptOncePerSecond() {
        Rig rig(at(utc(2024, 1, 1, 0, 0, 0), 700'000'000));
        rig.write(0x0a, 0x20); // no periodic rate: only UF
        rig.write(0x0b, H24 | UIE);
        rig.passAndFire(200'000'000); // 0.9: not yet
        QVERIFY(rig.irq.levels().empty());
        rig.passAndFire(150'000'000); // 1.05
        QVERIFY(rig.irq.level());
        QCOMPARE(rig.read(0x0c), uint8_t(IRQF | UF));
        rig.passAndFire(500'000'000); // 1.55: the same second
        QCOMPARE(rig.read(0x0c), uint8_t(0));
        // Three seconds without a read: one edge, UF once.
        for (int i = 0; i < 6; ++i)
            rig.passAndFire(500'000'000);
        QCOMPARE(rig.irq.risingEdges(), 2);
        QCOMPARE(rig.read(0x0c), uint8_t(IRQF | UF));
    }

    void alarmRegistersMatchWithDontCareBytes() {
        QVERIFY(CmosRtc::alarmMatches(0x30, 0x30));
        QVERIFY(!CmosRtc::alarmMatches(0x30, 0x31));
        QVERIFY(CmosRtc::alarmMatches(0xc0, 0x17));
        QVERIFY(CmosRtc::alarmMatches(0xff, 0x00));
        QVERIFY(!CmosRtc::alarmMatches(0xbf, 0x3f)); // one top bit is not enough
        QVERIFY(!CmosRtc::alarmMatches(0x80, 0x00));

        // 10:30:15 exactly, BCD 24-hour.
        Rig rig(at(utc(2024, 1, 1, 10, 30, 13), 500'000'000));
        rig.write(0x0a, 0x20);
        rig.write(0x01, 0x15);
        rig.write(0x03, 0x30);
        rig.write(0x05, 0x10);
        rig.write(0x0b, H24 | AIE);
        QCOMPARE(rig.timer->period, kSecond);
        rig.passAndFire(kSecond); // 10:30:14.5
        QVERIFY(rig.irq.levels().empty());
        QCOMPARE(rig.read(0x0c), uint8_t(UF));
        rig.passAndFire(kSecond); // 10:30:15.5
        QVERIFY(rig.irq.level());
        QCOMPARE(rig.read(0x0c), uint8_t(IRQF | AF | UF));
        rig.passAndFire(kSecond);
        QCOMPARE(rig.read(0x0c), uint8_t(UF));

        // Seconds don't care, minute 31, hours don't care: every second of 10:31.
        rig.write(0x01, 0xff);
        rig.write(0x03, 0x31);
        rig.write(0x05, 0xc0);
        *rig.now = at(utc(2024, 1, 1, 10, 30, 59), 500'000'000);
        rig.read(0x0c);
        QVERIFY(!rig.irq.level());
        for (int second = 0; second < 60; ++second) {
            rig.passAndFire(kSecond); // 10:31:00.5 ... 10:31:59.5
            QCOMPARE(rig.read(0x0c), uint8_t(IRQF | AF | UF));
        }
        rig.passAndFire(kSecond); // 10:32:00.5
        QCOMPARE(rig.read(0x0c), uint8_t(UF));

        // A value no time register shows in BCD (0x5a seconds) never matches.
        rig.write(0x01, 0x5a);
        rig.write(0x03, 0xc0);
        *rig.now += 3 * 86400 * kSecond;
        QCOMPARE(rig.read(0x0c), uint8_t(UF));
    }

    void alarmComparesInTheGuestsFormat() {
        // 12-hour BCD: 1 PM is 0x81.
        Rig rig(at(utc(2024, 1, 1, 12, 59, 59), 500'000'000));
        rig.write(0x0a, 0x20);
        rig.write(0x0b, 0x00); // 12-hour, BCD
        rig.write(0x01, 0x00);
        rig.write(0x03, 0x00);
        rig.write(0x05, 0x81);
        rig.write(0x0b, AIE);
        rig.passAndFire(kSecond); // 13:00:00.5
        QCOMPARE(rig.read(0x0c), uint8_t(IRQF | AF | UF));
        // 1 AM is 0x01, not 0x81: twelve hours later it matches nothing.
        *rig.now = at(utc(2024, 1, 2, 0, 59, 59), 500'000'000);
        rig.read(0x0c);
        rig.passAndFire(kSecond); // 01:00:00.5
        QCOMPARE(rig.read(0x0c), uint8_t(UF));
        // Binary 24-hour: 23:59:59 is 23, 59, 59.
        rig.write(0x0b, H24 | BINARY | AIE);
        rig.write(0x01, 59);
        rig.write(0x03, 59);
        rig.write(0x05, 23);
        *rig.now = at(utc(2024, 1, 2, 23, 59, 58), 500'000'000);
        rig.read(0x0c);
        rig.passAndFire(kSecond);
        QCOMPARE(rig.read(0x0c), uint8_t(IRQF | AF | UF));
    }

    // The host slept (or a snapshot was restored days later): the updates it missed come as one.
    void longGapsLatchOneAlarm() {
        Rig rig(at(utc(2024, 1, 1, 0, 0, 0)));
        rig.write(0x01, 0x00);
        rig.write(0x03, 0x00);
        rig.write(0x05, 0x07);
        rig.write(0x0b, H24 | AIE);
        *rig.now += 5 * 3600 * kSecond; // 05:00: not yet
        QCOMPARE(uint8_t(rig.read(0x0c) & AF), uint8_t(0));
        *rig.now += 2 * 3600 * kSecond + 1; // 07:00:00: there
        QCOMPARE(uint8_t(rig.read(0x0c) & AF), AF);
        *rig.now += 3 * 86400 * kSecond;
        QCOMPARE(uint8_t(rig.read(0x0c) & AF), AF);
    }

    // SET stops the updates (no UF, no alarm) and clears UIE; the periodic ticks go on.
    void setHoldsUpdatesButNotPeriodicTicks() {
        Rig rig(at(utc(2024, 1, 1, 0, 0, 0), 100'000'000));
        rig.write(0x0a, 0x2f);
        rig.write(0x01, 0xc0);
        rig.write(0x03, 0xc0);
        rig.write(0x05, 0xc0); // every second
        rig.write(0x0b, H24 | UIE | AIE);
        rig.write(0x0b, SET | H24 | UIE | AIE | PIE);
        QCOMPARE(rig.read(0x0b), uint8_t(SET | H24 | AIE | PIE));
        QCOMPARE(rig.timer->period, kSecond / 2); // the periodic rate only
        rig.passAndFire(2 * kSecond);
        QCOMPARE(rig.read(0x0c), uint8_t(IRQF | PF));
        // Cleared, the clock runs from the held time and the updates come again.
        rig.write(0x0b, H24 | AIE);
        QCOMPARE(rig.timer->period, kSecond);
        rig.passAndFire(kSecond);
        QCOMPARE(rig.read(0x0c), uint8_t(IRQF | PF | AF | UF));
    }

    void restoreDrivesTheLineAndArmsTheTimer() {
        Rig rig(at(utc(2024, 1, 1, 0, 0, 0)));
        rig.write(0x0a, 0x26); // 1024 Hz
        rig.write(0x0b, H24 | PIE);
        rig.passAndFire(kSecond / 100);
        QVERIFY(rig.irq.level());
        const auto state = rig.rtc->saveState();

        Rig copy(*rig.now);
        QVERIFY(!copy.timer->armed);
        copy.rtc->restoreState(state);
        QVERIFY(copy.timer->armed);
        QCOMPARE(copy.timer->period, int64_t(976562));
        QVERIFY(copy.irq.level());
        QCOMPARE(copy.attr("interrupts raised"), uint64_t(1));
        QCOMPARE(copy.read(0x0c), uint8_t(IRQF | PF));
        QVERIFY(!copy.irq.level());
        copy.passAndFire(kSecond / 100);
        QVERIFY(copy.irq.level());

        // A state with no interrupt enabled disarms a timer that ran.
        Rig quiet(*rig.now);
        const auto idle = quiet.rtc->saveState();
        copy.rtc->restoreState(idle);
        QVERIFY(!copy.timer->armed);
        QVERIFY(!copy.irq.level());
    }

    void timerGoesWithTheDevice() {
        Rig rig(at(utc(2024, 1, 1, 0, 0, 0)));
        rig.write(0x0b, H24 | UIE);
        QVERIFY(rig.timer->armed);
        rig.rtc.reset();
        QVERIFY(!rig.timer->exists);
    }

    void enableAttributesFollowRegisterB() {
        Rig rig(at(utc(2024, 1, 1, 0, 0, 0)));
        QCOMPARE(rig.attr("periodic enabled"), uint64_t(0));
        rig.rtc->setAttr(CmosRtc::kStatusGroup, attrId("register B"),
                         kvmscope::AttrValue::of(H24 | PIE | AIE));
        QCOMPARE(rig.attr("periodic enabled"), uint64_t(1));
        QCOMPARE(rig.attr("alarm enabled"), uint64_t(1));
        QCOMPARE(rig.attr("update enabled"), uint64_t(0));
        QVERIFY(rig.timer->armed); // the attribute write acts as the guest's would
        QCOMPARE(rig.attr("IRQ level"), uint64_t(0));
    }
};

QTEST_APPLESS_MAIN(CmosRtcInterruptTest)
#include "CmosRtcInterruptTest.moc"
