#pragma once
// Ports 0x70-0x71: the PC's real-time clock and CMOS RAM, a Motorola MC146818A ("MC146818A
// Real-Time Clock Plus RAM" datasheet; the register map is kept by every PC chipset since).
// Port 0x70 selects a register (bits 0-6) and masks NMI (bit 7); port 0x71 reads or writes it.
//
// The clock is the host's clock in UTC, converted on each read in the format register B asks
// for (BCD or binary, 24- or 12-hour), so it never drifts. A guest that sets the time (SET in
// register B, write the time registers, clear SET) gets an offset from the host clock, in whole
// seconds: the guest's seconds turn over when the host's do. UIP is always clear, so a reader
// never waits for an update.
//
// Interrupts (IRQ 8): the three sources of the datasheet, with register C's flags set as the
// time passes whether or not their interrupt is enabled, and IRQF = PF.PIE + AF.AIE + UF.UIE:
//  * periodic: PF at the rate register A's RS3-RS0 select (32.768 kHz time base: 256 Hz, 128 Hz,
//    then 8192 Hz down to 2 Hz; 0 is none), its ticks in phase with the second;
//  * alarm: AF at the update that ends a second whose hours, minutes and seconds match the alarm
//    registers, each of which is "don't care" from 0xc0 to 0xff (both top bits set);
//  * update-ended: UF once per second, when the seconds turn over (not while SET is held; SET
//    stops no periodic interrupt).
// The line is high while IRQF is set and goes low when register C is read, which clears every
// flag: the rising edge is the interrupt (ISA IRQs are edge-triggered on the 8259 and on the
// I/O APIC's ISA pins), and a flag that comes again before the read raises no second edge. The
// flags are computed from the clock whenever they are looked at, so polling software sees them
// without any timer; a timer (devices/DeviceTimer.h) wakes the device only while PIE, AIE or UIE
// asks for an interrupt: at the periodic rate when PIE is on (its ticks include each second's
// end), else once a second, else never. Ticks that pass while PF is still set merge into it, as on
// the chip (PF is a flag, not a counter). Register A's divider bits (DV2-DV0) are kept but not
// acted on: time always runs.
//
// Bytes 0x0e-0x7f are plain RAM, pre-filled with the memory sizes a PC BIOS leaves there
// (the layout QEMU and SeaBIOS use; see CmosRtc.cpp).
//
// Locking: one mutex guards all state. The clock function is called with the lock held and must
// not call back into the device. The IrqLine is driven with the lock held (a KVM_IRQ_LINE ioctl,
// which never calls back), so its level changes reach the irqchip in the order the state changed;
// the timer's handler takes the lock, and arm()/disarm() are called under it (they never wait).
#include "devices/DeviceTimer.h"
#include "devices/EmulatedDevice.h"
#include "devices/IrqLine.h"
#include "machine/BusDevice.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <span>

namespace kvmscope {

class CmosRtc : public BusDevice, public EmulatedDevice {
public:
    // The host's time: CLOCK_REALTIME, nanoseconds since the epoch.
    using Clock = std::function<std::chrono::nanoseconds()>;

    static constexpr uint64_t kPortCount = 2; // index at offset 0, data at offset 1
    static constexpr size_t kCmosSize = 128;

    // CMOS register indices (MC146818A datasheet, "Address Map"; 0x32 and above: PC/AT
    // convention).
    enum Register : uint8_t {
        kSeconds = 0x00,
        kSecondsAlarm = 0x01,
        kMinutes = 0x02,
        kMinutesAlarm = 0x03,
        kHours = 0x04,
        kHoursAlarm = 0x05,
        kDayOfWeek = 0x06,
        kDayOfMonth = 0x07,
        kMonth = 0x08,
        kYear = 0x09,
        kRegisterA = 0x0a,
        kRegisterB = 0x0b,
        kRegisterC = 0x0c,
        kRegisterD = 0x0d,
        kBaseMemoryLow = 0x15, // KiB of conventional memory (640)
        kBaseMemoryHigh = 0x16,
        kExtendedMemoryLow = 0x17, // KiB above 1 MiB, at most 0xffff
        kExtendedMemoryHigh = 0x18,
        kExtendedMemoryCopyLow = 0x30, // the same, as the POST leaves it
        kExtendedMemoryCopyHigh = 0x31,
        kCentury = 0x32,
        kMemoryAbove16MLow = 0x34, // 64 KiB blocks from 16 MiB to the 32-bit hole
        kMemoryAbove16MHigh = 0x35,
        kMemoryAbove4GLow = 0x5b, // 64 KiB blocks above 4 GiB, three bytes
        kMemoryAbove4GMiddle = 0x5c,
        kMemoryAbove4GHigh = 0x5d,
    };

    // Register A-D bits (datasheet, "Register A" to "Register D").
    static constexpr uint8_t kRegisterAUpdateInProgress = 0x80;
    static constexpr uint8_t kRegisterARateSelect = 0x0f; // RS3-RS0
    static constexpr uint8_t kRegisterADefault = 0x26;    // 32.768 kHz time base, 1024 Hz rate
    static constexpr uint8_t kRegisterBSet = 0x80;
    static constexpr uint8_t kRegisterBPeriodicInterrupt = 0x40;
    static constexpr uint8_t kRegisterBAlarmInterrupt = 0x20;
    static constexpr uint8_t kRegisterBUpdateInterrupt = 0x10;
    static constexpr uint8_t kRegisterBBinary = 0x04;    // DM: 1 binary, 0 BCD
    static constexpr uint8_t kRegisterB24Hour = 0x02;    // 1: 24-hour, 0: 12-hour with bit 7 = PM
    static constexpr uint8_t kRegisterBDefault = 0x02;   // 24-hour, BCD, as PC firmware leaves it
    static constexpr uint8_t kRegisterCInterrupt = 0x80; // IRQF
    static constexpr uint8_t kRegisterCPeriodic = 0x40;  // PF
    static constexpr uint8_t kRegisterCAlarm = 0x20;     // AF
    static constexpr uint8_t kRegisterCUpdate = 0x10;    // UF
    static constexpr uint8_t kRegisterDValidRam = 0x80;  // VRT
    static constexpr uint8_t kHourPm = 0x80;             // hours bit 7 in 12-hour mode
    static constexpr uint8_t kIndexNmiDisable = 0x80;    // port 0x70 bit 7

    static constexpr uint32_t kIndexGroup = 0;     // "index", "NMI disabled"
    static constexpr uint32_t kTimeGroup = 1;      // "seconds" ... "year", "century"
    static constexpr uint32_t kStatusGroup = 2;    // "register A" ... "register D"
    static constexpr uint32_t kMemoryGroup = 3;    // "CMOS": the 128 bytes
    static constexpr uint32_t kInterruptGroup = 4; // "interrupts": enables, rate, line, count

    // An alarm register at or above this is "don't care" (datasheet, "Alarm").
    static constexpr uint8_t kAlarmDontCare = 0xc0;

    // `ramSize` is the guest's RAM in bytes (GuestMemory's layout: at most 3 GiB below 4 GiB,
    // the rest above). `clock` returns the host time; the system clock when empty. `irq` is
    // ISA IRQ 8 (null: no line); `timers` makes the one timer the device wakes itself with
    // (empty: none, and the flags are only brought up to date when the guest touches the
    // device). Both must outlive the device.
    explicit CmosRtc(uint64_t ramSize, Clock clock = {}, IrqLine* irq = nullptr,
                     const DeviceTimerFactory& timers = {});
    ~CmosRtc() override;

    // The periodic interrupt's rate in Hz for register A's RS3-RS0 (32.768 kHz time base), 0 for
    // none (datasheet, "Periodic Interrupt Rate" table).
    static uint32_t periodicRate(uint8_t rateSelect);
    // Whether an alarm register matches the time register's value as the guest would read it.
    static bool alarmMatches(uint8_t alarm, uint8_t time) {
        return (alarm & kAlarmDontCare) == kAlarmDontCare || alarm == time;
    }

    // Byte-wide ports: a wider access uses its first byte, a read returns it zero-extended.
    // Reading the index port returns 0xff (it is write-only on the MC146818A's PC wiring).
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

    std::string name() const override { return "RTC/CMOS (MC146818A)"; }

protected:
    void describeState(StateVisitor& state) override;
    std::mutex& stateMutex() const override { return mutex_; }
    void afterRestore() override;

private:
    // All of these run with mutex_ held.
    uint8_t peekRegister(uint8_t index) const; // what a read returns, without side effects
    uint8_t readRegister(uint8_t index);
    void writeRegister(uint8_t index, uint8_t value);
    void writeRegisterB(uint8_t value);
    void writeTimeRegister(uint8_t index, uint8_t value);
    std::tm guestTime() const;
    int64_t now() const { return clock_().count(); }
    int64_t hostSeconds(int64_t ns) const;
    uint8_t encode(int value) const;
    int decode(uint8_t value) const;
    uint8_t encodeHours(int hours) const; // 0-23 in the format register B asks for
    // PF, AF and UF for the events of host times (from, to], with the registers as they are.
    uint8_t flagsBetween(int64_t from, int64_t to) const;
    bool alarmBetween(int64_t fromGuestSecond, int64_t toGuestSecond) const;
    // Register C's PF, AF and UF as of now, without latching them.
    uint8_t currentFlags() const { return cmos_[kRegisterC] | flagsBetween(flagsUntil_, now()); }
    static bool interruptRequested(uint8_t flags, uint8_t registerB);
    // Latches the events up to `nowNs` into register C.
    void advance(int64_t nowNs);
    // Drives the line to IRQF and counts rising edges.
    void updateIrq();
    // Arms, re-arms or disarms the timer for what register A and B ask for.
    void updateTimer();
    int64_t wantedTimerPeriod() const; // ns; 0: no timer
    void timerExpired();

    Clock clock_;
    IrqLine* irq_ = nullptr;
    mutable std::mutex mutex_;
    std::array<uint8_t, kCmosSize> cmos_{}; // register C holds the latched PF, AF and UF
    uint8_t index_ = 0;
    bool nmiDisabled_ = false;
    std::time_t offset_ = 0;        // guest time minus host time, in seconds
    std::tm heldTime_{};            // the guest's time while SET stops the clock
    int64_t flagsUntil_ = 0;        // host time (ns) up to which events are latched in register C
    bool irqLevel_ = false;         // the line's level: IRQF
    uint64_t interruptsRaised_ = 0; // rising edges of the line
    int64_t timerPeriod_ = 0;       // ns the timer is armed with; 0: disarmed
    // Last: destroyed first, while the state its handler reaches still exists.
    std::unique_ptr<DeviceTimer> timer_;
};

} // namespace kvmscope
