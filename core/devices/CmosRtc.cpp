#include "devices/CmosRtc.h"

#include "machine/GuestMemory.h"

#include <algorithm>
#include <fmt/format.h>

namespace kvmscope {
namespace {

constexpr uint64_t kIndexPort = 0;
constexpr uint64_t kDataPort = 1;
constexpr uint8_t kIndexMask = 0x7f;
constexpr uint8_t kRatesMask = 0x0f; // register A RS3-RS0: 0 = no periodic interrupt

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

CmosRtc::CmosRtc(uint64_t ramSize, Clock clock) : clock_(std::move(clock)) {
    if (!clock_)
        clock_ = [] { return std::time(nullptr); };

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

    lastFlagRead_ = clock_();
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
    const std::time_t now = clock_() + offset_;
    std::tm time{};
    if (!gmtime_r(&now, &time))
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

uint8_t CmosRtc::pendingFlags() const {
    uint8_t flags = cmos_[kRegisterC];
    // While SET is held no update cycle runs, so no flag can become set.
    if (!(cmos_[kRegisterB] & kRegisterBSet) && clock_() + offset_ != lastFlagRead_) {
        // At least one update cycle ended since register C was last read; and since every
        // periodic rate is at least 2 Hz, so did at least one period.
        flags |= kRegisterCUpdate;
        if (cmos_[kRegisterA] & kRatesMask)
            flags |= kRegisterCPeriodic;
    }
    const uint8_t enables = cmos_[kRegisterB];
    if (((flags & kRegisterCPeriodic) && (enables & kRegisterBPeriodicInterrupt)) ||
        ((flags & kRegisterCAlarm) && (enables & kRegisterBAlarmInterrupt)) ||
        ((flags & kRegisterCUpdate) && (enables & kRegisterBUpdateInterrupt)))
        flags |= kRegisterCInterrupt;
    return flags;
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
        case kHours: {
            if (cmos_[kRegisterB] & kRegisterB24Hour)
                return encode(time.tm_hour);
            // 12-hour mode: 12, 1, ..., 11, with bit 7 set from noon on.
            const int hour12 = time.tm_hour % 12 == 0 ? 12 : time.tm_hour % 12;
            return static_cast<uint8_t>(encode(hour12) | (time.tm_hour >= 12 ? kHourPm : 0));
        }
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
    case kRegisterC:
        return pendingFlags();
    case kRegisterD:
        return kRegisterDValidRam; // the battery is always good
    default:
        return cmos_[index];
    }
}

uint8_t CmosRtc::readRegister(uint8_t index) {
    const uint8_t value = peekRegister(index);
    if ((index & kIndexMask) == kRegisterC) {
        // Reading register C clears its flags (datasheet, "Register C").
        cmos_[kRegisterC] = 0;
        lastFlagRead_ = clock_() + offset_;
    }
    return value;
}

void CmosRtc::writeRegister(uint8_t index, uint8_t value) {
    index &= kIndexMask;
    if (isTimeRegister(index)) {
        writeTimeRegister(index, value);
        return;
    }
    switch (index) {
    case kRegisterA:
        cmos_[kRegisterA] = value & ~kRegisterAUpdateInProgress; // UIP is read-only
        break;
    case kRegisterB:
        writeRegisterB(value);
        break;
    case kRegisterC:
    case kRegisterD:
        break; // read-only
    default:
        cmos_[index] = value; // RAM, including the alarm bytes (alarms never fire)
        break;
    }
}

void CmosRtc::writeRegisterB(uint8_t value) {
    const bool wasSet = (cmos_[kRegisterB] & kRegisterBSet) != 0;
    const bool set = (value & kRegisterBSet) != 0;
    if (set && !wasSet) {
        // SET stops the clock so software can load it; it also clears UIE (datasheet,
        // "Register B", SET and UIE). Flags raised so far stay readable in register C.
        heldTime_ = guestTime();
        cmos_[kRegisterC] = pendingFlags() & ~kRegisterCInterrupt;
        value &= ~kRegisterBUpdateInterrupt;
    } else if (!set && wasSet) {
        // Clearing SET starts the clock from the loaded time.
        std::tm loaded = heldTime_;
        offset_ = timegm(&loaded) - clock_();
        lastFlagRead_ = clock_() + offset_;
    }
    cmos_[kRegisterB] = value;
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
    offset_ = timegm(&time) - clock_();
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
    // when register C's flags were last read.
    state.hidden("offset", offset_);
    state.computed(
        {"held time", AttrType::U64, AttrAccess::None, {}, StateUse::Saved},
        [this] { return static_cast<uint64_t>(timegm(&heldTime_)); },
        [this](uint64_t seconds) {
            const auto time = static_cast<std::time_t>(seconds);
            gmtime_r(&time, &heldTime_);
        });
    state.hidden("last flag read", lastFlagRead_);

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
                   "7 IRQF, 6 PF, 5 AF, 4 UF (shown without the guest read's clearing)",
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
}

} // namespace kvmscope
