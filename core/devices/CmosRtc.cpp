#include "devices/CmosRtc.h"

#include "machine/GuestMemory.h"

#include <algorithm>
#include <fmt/format.h>

namespace kvmscope {
namespace {

constexpr uint64_t kIndexPort = 0;
constexpr uint64_t kDataPort = 1;
constexpr uint8_t kIndexMask = 0x7f;
constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr int64_t kSecondsPerDay = 86400;
// What alarmBetween makes of an alarm register besides the one value it matches.
constexpr int kAnyValue = -1; // don't care
constexpr int kNoValue = -2;  // no time register value reads like it: never matches

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t kBaseMemoryKiB = 640;
constexpr uint64_t kBlock = 64 * KiB;
constexpr uint64_t kSixteenBitMax = 0xffff;
constexpr uint64_t kTwentyFourBitMax = 0xff'ffff;

bool isTimeRegister(uint8_t index) {
    switch (index) {
    case CmosRtc::kSeconds:
    case CmosRtc::kMinutes:
    case CmosRtc::kHours:
    case CmosRtc::kDayOfWeek:
    case CmosRtc::kDayOfMonth:
    case CmosRtc::kMonth:
    case CmosRtc::kYear:
    case CmosRtc::kCentury:
        return true;
    default:
        return false;
    }
}

void putLittleEndian(std::array<uint8_t, CmosRtc::kCmosSize>& cmos, uint8_t index, uint64_t value,
                     unsigned bytes) {
    for (unsigned i = 0; i < bytes; ++i)
        cmos[index + i] = static_cast<uint8_t>(value >> (8 * i));
}

int64_t floorDiv(int64_t value, int64_t divisor) {
    const int64_t quotient = value / divisor;
    return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

int64_t floorMod(int64_t value, int64_t divisor) {
    return value - floorDiv(value, divisor) * divisor;
}

// The number of periodic ticks at `rate` Hz from the epoch to host time `ns`: the ticks are in
// phase with the second (every rate divides 32768 Hz, so a second holds a whole number of them).
int64_t tickIndex(int64_t ns, uint32_t rate) {
    return floorDiv(ns, kNsPerSecond) * rate + floorMod(ns, kNsPerSecond) * rate / kNsPerSecond;
}

// The host time at which tick `index` begins: the first ns whose tickIndex is `index`.
int64_t tickTime(int64_t index, uint32_t rate) {
    const int64_t second = floorDiv(index, rate);
    const int64_t within = floorMod(index, rate);
    return second * kNsPerSecond + (within * kNsPerSecond + rate - 1) / rate;
}

void returnByte(std::span<uint8_t> data, uint8_t value) {
    std::fill(data.begin(), data.end(), uint8_t(0));
    if (!data.empty())
        data[0] = value;
}

struct TimeAttr {
    uint8_t index;
    const char* name;
};

constexpr TimeAttr kTimeAttrs[] = {
    {CmosRtc::kSeconds, "seconds"},
    {CmosRtc::kMinutes, "minutes"},
    {CmosRtc::kHours, "hours"},
    {CmosRtc::kDayOfWeek, "day of week"},
    {CmosRtc::kDayOfMonth, "day of month"},
    {CmosRtc::kMonth, "month"},
    {CmosRtc::kYear, "year"},
    {CmosRtc::kCentury, "century"},
};

} // namespace

CmosRtc::CmosRtc(uint64_t ramSize, Clock clock, IrqLine* irq, const DeviceTimerFactory& timers)
    : clock_(std::move(clock)), irq_(irq) {
    if (!clock_)
        clock_ = [] {
            return std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch()); // CLOCK_REALTIME
        };

    cmos_[kRegisterA] = kRegisterADefault;
    cmos_[kRegisterB] = kRegisterBDefault;

    // Memory sizes as a PC BIOS's POST leaves them (and as QEMU fills them for SeaBIOS, which
    // reads 0x34/0x35 and 0x5b-0x5d to build its e820 map). GuestMemory keeps RAM below the
    // 32-bit hole at 3 GiB and moves the rest above 4 GiB.
    const uint64_t below4G = std::min(ramSize, GuestMemory::kMmioHoleStart);
    const uint64_t above4G = ramSize - below4G;
    const uint64_t baseKiB = std::min(kBaseMemoryKiB, ramSize / KiB);
    const uint64_t extendedKiB =
        below4G > MiB ? std::min((below4G - MiB) / KiB, kSixteenBitMax) : 0;
    const uint64_t blocksAbove16M =
        below4G > 16 * MiB ? std::min((below4G - 16 * MiB) / kBlock, kSixteenBitMax) : 0;
    const uint64_t blocksAbove4G = std::min(above4G / kBlock, kTwentyFourBitMax);
    putLittleEndian(cmos_, kBaseMemoryLow, baseKiB, 2);
    putLittleEndian(cmos_, kExtendedMemoryLow, extendedKiB, 2);
    putLittleEndian(cmos_, kExtendedMemoryCopyLow, extendedKiB, 2);
    putLittleEndian(cmos_, kMemoryAbove16MLow, blocksAbove16M, 2);
    putLittleEndian(cmos_, kMemoryAbove4GLow, blocksAbove4G, 3);

    flagsUntil_ = now();
    if (timers)
        timer_ = timers([this] { timerExpired(); });
}

// The timer first, without the lock: its destructor waits for a handler that may be taking it.
CmosRtc::~CmosRtc() {
    timer_.reset();
}

uint32_t CmosRtc::periodicRate(uint8_t rateSelect) {
    rateSelect &= kRegisterARateSelect;
    switch (rateSelect) {
    case 0:
        return 0;
    case 1:
        return 256; // with the 32.768 kHz time base; 32768 Hz only with the faster ones
    case 2:
        return 128;
    default:
        return 65536u >> rateSelect; // 3: 8192 Hz ... 15: 2 Hz
    }
}

int64_t CmosRtc::hostSeconds(int64_t ns) const {
    return floorDiv(ns, kNsPerSecond);
}

void CmosRtc::read(uint64_t offset, std::span<uint8_t> data) {
    if (offset != kDataPort) {
        returnByte(data, 0xff);
        return;
    }
    std::lock_guard lock(mutex_);
    returnByte(data, readRegister(index_));
}

void CmosRtc::write(uint64_t offset, std::span<const uint8_t> data) {
    if (data.empty())
        return;
    std::lock_guard lock(mutex_);
    if (offset == kIndexPort) {
        index_ = data[0] & kIndexMask;
        nmiDisabled_ = (data[0] & kIndexNmiDisable) != 0;
    } else if (offset == kDataPort) {
        writeRegister(index_, data[0]);
    }
}

std::tm CmosRtc::guestTime() const {
    if (cmos_[kRegisterB] & kRegisterBSet)
        return heldTime_;
    const std::time_t seconds = hostSeconds(now()) + offset_;
    std::tm time{};
    if (!gmtime_r(&seconds, &time))
        time = std::tm{}; // out of range for a calendar: show 1900-01-00 rather than garbage
    return time;
}

uint8_t CmosRtc::encode(int value) const {
    value = std::clamp(value, 0, 99);
    if (cmos_[kRegisterB] & kRegisterBBinary)
        return static_cast<uint8_t>(value);
    return static_cast<uint8_t>((value / 10) << 4 | (value % 10));
}

int CmosRtc::decode(uint8_t value) const {
    if (cmos_[kRegisterB] & kRegisterBBinary)
        return value;
    return (value >> 4) * 10 + (value & 0x0f); // nibbles above 9 are the guest's problem
}

uint8_t CmosRtc::encodeHours(int hours) const {
    if (cmos_[kRegisterB] & kRegisterB24Hour)
        return encode(hours);
    // 12-hour mode: 12, 1, ..., 11, with bit 7 set from noon on.
    const int hour12 = hours % 12 == 0 ? 12 : hours % 12;
    return static_cast<uint8_t>(encode(hour12) | (hours >= 12 ? kHourPm : 0));
}

bool CmosRtc::interruptRequested(uint8_t flags, uint8_t registerB) {
    // IRQF = PF.PIE + AF.AIE + UF.UIE: each flag sits at its enable's bit position.
    return (flags & registerB & (kRegisterCPeriodic | kRegisterCAlarm | kRegisterCUpdate)) != 0;
}

uint8_t CmosRtc::flagsBetween(int64_t from, int64_t to) const {
    if (to <= from)
        return 0;
    uint8_t flags = 0;
    // The periodic flag is set whether or not PIE is, and SET does not stop it.
    if (const uint32_t rate = periodicRate(cmos_[kRegisterA]);
        rate && tickIndex(from, rate) != tickIndex(to, rate))
        flags |= kRegisterCPeriodic;
    // While SET is held no update cycle runs: no UF, no alarm.
    if (!(cmos_[kRegisterB] & kRegisterBSet)) {
        const int64_t fromSecond = hostSeconds(from);
        const int64_t toSecond = hostSeconds(to);
        if (toSecond != fromSecond) {
            flags |= kRegisterCUpdate;
            if (alarmBetween(fromSecond + offset_, toSecond + offset_))
                flags |= kRegisterCAlarm;
        }
    }
    return flags;
}

// Whether an update in guest seconds (from, to] found the time matching the alarm registers,
// compared as the guest would read both (register B's format; "don't care" from 0xc0 on).
bool CmosRtc::alarmBetween(int64_t from, int64_t to) const {
    // The one value of 0..count-1 whose encoding is the alarm byte, kAnyValue or kNoValue.
    const auto target = [](uint8_t alarm, int count, const auto& encoding) {
        if ((alarm & kAlarmDontCare) == kAlarmDontCare)
            return kAnyValue;
        for (int value = 0; value < count; ++value)
            if (encoding(value) == alarm)
                return value;
        return kNoValue;
    };
    const auto byValue = [this](int value) { return encode(value); };
    const int second = target(cmos_[kSecondsAlarm], 60, byValue);
    const int minute = target(cmos_[kMinutesAlarm], 60, byValue);
    const int hour =
        target(cmos_[kHoursAlarm], 24, [this](int value) { return encodeHours(value); });
    if (second == kNoValue || minute == kNoValue || hour == kNoValue || to <= from)
        return false;
    // Every time of day comes once a day: a longer span (the host slept, a restore days later)
    // is its last day. Then minute by minute: at most 1441 steps.
    from = std::max(from, to - kSecondsPerDay);
    for (int64_t minuteStart = floorDiv(from + 1, 60) * 60; minuteStart <= to; minuteStart += 60) {
        const int64_t ofDay = floorMod(minuteStart, kSecondsPerDay);
        if ((hour != kAnyValue && hour != ofDay / 3600) ||
            (minute != kAnyValue && minute != ofDay / 60 % 60))
            continue;
        const int64_t first = std::max(from + 1, minuteStart);
        const int64_t last = std::min(to, minuteStart + 59);
        if (second == kAnyValue || (first <= minuteStart + second && minuteStart + second <= last))
            return true;
    }
    return false;
}

void CmosRtc::advance(int64_t nowNs) {
    cmos_[kRegisterC] |= flagsBetween(flagsUntil_, nowNs);
    // A host clock set back moves this back too: the seconds it repeats end again.
    flagsUntil_ = nowNs;
}

void CmosRtc::updateIrq() {
    const bool level = interruptRequested(cmos_[kRegisterC], cmos_[kRegisterB]);
    if (level == irqLevel_)
        return;
    irqLevel_ = level;
    if (level)
        ++interruptsRaised_;
    if (irq_)
        irq_->setLevel(level);
}

int64_t CmosRtc::wantedTimerPeriod() const {
    const uint8_t enables = cmos_[kRegisterB];
    // The periodic ticks include every second's end, so they serve the alarm and UIE too.
    if (const uint32_t rate = periodicRate(cmos_[kRegisterA]);
        rate && (enables & kRegisterBPeriodicInterrupt))
        return kNsPerSecond / rate; // rounded down: now and then a wake-up finds no new tick,
                                    // rather than one finding two (8192 Hz is 122070.3125 ns)
    if ((enables & (kRegisterBAlarmInterrupt | kRegisterBUpdateInterrupt)) &&
        !(enables & kRegisterBSet))
        return kNsPerSecond;
    return 0;
}

// Only when the period changes: the phase of every period is the second's, so a timer that runs
// at the wanted period is already in step.
void CmosRtc::updateTimer() {
    const int64_t period = wantedTimerPeriod();
    if (period == timerPeriod_)
        return;
    timerPeriod_ = period;
    if (!timer_)
        return;
    if (period == 0) {
        timer_->disarm();
        return;
    }
    // First expiry: the next tick, or the next second.
    const int64_t nowNs = now();
    const uint32_t rate = period == kNsPerSecond ? 1 : periodicRate(cmos_[kRegisterA]);
    const int64_t first = tickTime(tickIndex(nowNs, rate) + 1, rate);
    timer_->arm(std::chrono::nanoseconds(first), std::chrono::nanoseconds(period));
}

void CmosRtc::timerExpired() {
    std::lock_guard lock(mutex_);
    advance(now());
    updateIrq();
}

// The saved flags, enables and clock are in: drive the line to IRQF (the irqchip's own state is
// restored after the devices) and arm the timer for the restored enables. Events since the save
// are latched at the first wake-up or register C read, as if the clock had run on its battery.
void CmosRtc::afterRestore() {
    irqLevel_ = interruptRequested(cmos_[kRegisterC], cmos_[kRegisterB]);
    if (irq_)
        irq_->setLevel(irqLevel_);
    timerPeriod_ = -1; // whatever it was: arm or disarm for the restored registers
    updateTimer();
}

uint8_t CmosRtc::peekRegister(uint8_t index) const {
    index &= kIndexMask;
    if (isTimeRegister(index)) {
        const std::tm time = guestTime();
        switch (index) {
        case kSeconds:
            return encode(time.tm_sec);
        case kMinutes:
            return encode(time.tm_min);
        case kHours:
            return encodeHours(time.tm_hour);
        case kDayOfWeek:
            return encode(time.tm_wday + 1); // 1 = Sunday
        case kDayOfMonth:
            return encode(time.tm_mday);
        case kMonth:
            return encode(time.tm_mon + 1);
        case kYear:
            return encode((time.tm_year + 1900) % 100);
        default: // kCentury
            return encode((time.tm_year + 1900) / 100);
        }
    }
    switch (index) {
    case kRegisterA:
        return cmos_[kRegisterA] & ~kRegisterAUpdateInProgress; // never mid-update
    case kRegisterC: {
        const uint8_t flags = currentFlags();
        return flags | (interruptRequested(flags, cmos_[kRegisterB]) ? kRegisterCInterrupt : 0);
    }
    case kRegisterD:
        return kRegisterDValidRam; // the battery is always good
    default:
        return cmos_[index];
    }
}

uint8_t CmosRtc::readRegister(uint8_t index) {
    if ((index & kIndexMask) != kRegisterC)
        return peekRegister(index);
    // Reading register C returns IRQF and the flags, then clears them all and so lowers the line
    // (datasheet, "Register C").
    advance(now());
    const uint8_t value = peekRegister(kRegisterC);
    cmos_[kRegisterC] = 0;
    updateIrq();
    return value;
}

void CmosRtc::writeRegister(uint8_t index, uint8_t value) {
    index &= kIndexMask;
    // The events so far happened under the registers as they were: latch them before the time,
    // an alarm, the rate or the enables change.
    if (index <= kRegisterD || index == kCentury)
        advance(now());
    if (isTimeRegister(index)) {
        writeTimeRegister(index, value);
        return;
    }
    switch (index) {
    case kRegisterA:
        // UIP is read-only; a new rate leaves PF as it is.
        cmos_[kRegisterA] = value & ~kRegisterAUpdateInProgress;
        updateTimer();
        break;
    case kRegisterB:
        writeRegisterB(value);
        break;
    case kRegisterC:
    case kRegisterD:
        break; // read-only
    default:
        cmos_[index] = value; // RAM, and the alarm registers
        break;
    }
}

void CmosRtc::writeRegisterB(uint8_t value) {
    const bool wasSet = (cmos_[kRegisterB] & kRegisterBSet) != 0;
    const bool set = (value & kRegisterBSet) != 0;
    if (set && !wasSet) {
        // SET stops the clock so software can load it. Flags latched so far stay readable in
        // register C.
        heldTime_ = guestTime();
    } else if (!set && wasSet) {
        // Clearing SET starts the clock from the loaded time; the next update ends when the
        // host's second does.
        std::tm loaded = heldTime_;
        offset_ = timegm(&loaded) - hostSeconds(now());
    }
    // SET clears UIE (datasheet, "Register B": no update cycle runs while it is held); as in
    // QEMU, a write with SET set cannot turn UIE on either.
    if (set)
        value &= ~kRegisterBUpdateInterrupt;
    cmos_[kRegisterB] = value;
    // An enable turned on while its flag is set raises IRQF at once; one turned off drops it.
    updateIrq();
    updateTimer();
}

void CmosRtc::writeTimeRegister(uint8_t index, uint8_t value) {
    std::tm time = guestTime();
    const int year = time.tm_year + 1900;
    switch (index) {
    case kSeconds:
        time.tm_sec = decode(value);
        break;
    case kMinutes:
        time.tm_min = decode(value);
        break;
    case kHours:
        if (cmos_[kRegisterB] & kRegisterB24Hour) {
            time.tm_hour = decode(value);
        } else {
            const int hour12 = decode(value & ~kHourPm);
            time.tm_hour = hour12 % 12 + ((value & kHourPm) ? 12 : 0);
        }
        break;
    case kDayOfWeek:
        time.tm_wday = decode(value) - 1; // kept while SET is held; derived from the date after
        break;
    case kDayOfMonth:
        time.tm_mday = decode(value);
        break;
    case kMonth:
        time.tm_mon = decode(value) - 1;
        break;
    case kYear:
        time.tm_year = year / 100 * 100 + decode(value) - 1900;
        break;
    default: // kCentury
        time.tm_year = decode(value) * 100 + year % 100 - 1900;
        break;
    }
    if (cmos_[kRegisterB] & kRegisterBSet) {
        heldTime_ = time; // takes effect when SET is cleared
        return;
    }
    // A write while the clock runs takes effect at once (timegm normalises odd values such as
    // month 13 into a valid date rather than failing).
    offset_ = timegm(&time) - hostSeconds(now());
}

void CmosRtc::describeState(StateVisitor& state) {
    state.group(kIndexGroup, "index");
    state.field("index", index_, AttrAccess::ReadWrite,
                "the CMOS register the data port reaches (0x00-0x7f)",
                FieldHooks::checkedBy([](uint64_t value) {
                    return value > kIndexMask
                               ? fmt::format("index {:#x} is out of range (0x00-0x7f)", value)
                               : std::string();
                }));
    state.field("NMI disabled", nmiDisabled_, AttrAccess::ReadWrite,
                "bit 7 of the last write to the index port (kept, not enforced)");

    state.group(kTimeGroup, "time");
    for (const auto& time : kTimeAttrs)
        state.readOnly(time.name, AttrType::U8,
                       fmt::format("register {:#04x} as the guest reads it (format from "
                                   "register B)",
                                   time.index),
                       [this, index = time.index] { return peekRegister(index); });
    // The clock's own state: the guest's offset from the host clock, the time SET holds, and
    // the host time (ns) up to which register C has latched the periodic, alarm and update
    // events.
    state.hidden("offset", offset_);
    state.computed(
        {"held time", AttrType::U64, AttrAccess::None, {}, StateUse::Saved},
        [this] { return static_cast<uint64_t>(timegm(&heldTime_)); },
        [this](uint64_t seconds) {
            const auto time = static_cast<std::time_t>(seconds);
            gmtime_r(&time, &heldTime_);
        });
    state.hidden("flags until", flagsUntil_);

    // Registers A and B: written as the guest writes them (SET stops the clock).
    state.group(kStatusGroup, "status");
    state.readWrite(
        "register A", AttrType::U8, "7 UIP (always 0), 6-4 time base, 3-0 periodic rate",
        [this] { return peekRegister(kRegisterA); },
        [this](uint64_t value) { writeRegister(kRegisterA, static_cast<uint8_t>(value)); });
    state.readWrite(
        "register B", AttrType::U8,
        "7 SET, 6 PIE, 5 AIE, 4 UIE, 3 SQWE, 2 DM (binary), 1 24-hour, 0 DSE",
        [this] { return peekRegister(kRegisterB); },
        [this](uint64_t value) { writeRegister(kRegisterB, static_cast<uint8_t>(value)); });
    state.readOnly("register C", AttrType::U8,
                   "7 IRQF, 6 PF, 5 AF, 4 UF as of now (shown without the guest read's clearing)",
                   [this] { return peekRegister(kRegisterC); });
    state.readOnly("register D", AttrType::U8, "7 VRT: valid RAM and time",
                   [this] { return peekRegister(kRegisterD); });

    state.group(kMemoryGroup, "memory");
    state.readOnlyBytes("CMOS", "all 128 registers as the guest would read them", [this] {
        std::vector<uint8_t> bytes(kCmosSize);
        for (size_t i = 0; i < kCmosSize; ++i)
            bytes[i] = peekRegister(static_cast<uint8_t>(i));
        return bytes;
    });
    state.hidden("RAM", cmos_);

    // IRQ 8: what register A and B enable, and the line (computed from the flags and enables,
    // so only the count is saved).
    state.group(kInterruptGroup, "interrupts");
    state.readOnly("periodic enabled", AttrType::Bool, "PIE (register B bit 6)", [this] {
        return uint64_t((cmos_[kRegisterB] & kRegisterBPeriodicInterrupt) != 0);
    });
    state.readOnly("alarm enabled", AttrType::Bool, "AIE (register B bit 5)", [this] {
        return uint64_t((cmos_[kRegisterB] & kRegisterBAlarmInterrupt) != 0);
    });
    state.readOnly("update enabled", AttrType::Bool, "UIE (register B bit 4)", [this] {
        return uint64_t((cmos_[kRegisterB] & kRegisterBUpdateInterrupt) != 0);
    });
    state.readOnly("periodic rate", AttrType::U32,
                   "Hz, from register A's RS3-RS0 (32.768 kHz time base); 0: none",
                   [this] { return uint64_t(periodicRate(cmos_[kRegisterA])); });
    state.readOnly("IRQ level", AttrType::Bool,
                   "ISA IRQ 8 as driven: high while IRQF is set, low once register C is read",
                   [this] { return uint64_t(irqLevel_); });
    state.statistic("interrupts raised", interruptsRaised_,
                    "rising edges of IRQ 8 (a flag that comes again before register C is read "
                    "raises none)");
    state.readOnly("timer period", AttrType::U64,
                   "ns between the device's timer wake-ups: the periodic rate's period with PIE, "
                   "else 1 s with AIE or UIE; 0: no timer runs",
                   [this] { return uint64_t(timerPeriod_); });
}

} // namespace kvmscope
