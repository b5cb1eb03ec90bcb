#pragma once
// Ports 0x70-0x71: the PC's real-time clock and CMOS RAM, a Motorola MC146818A ("MC146818A
// Real-Time Clock Plus RAM" datasheet; the register map is kept by every PC chipset since).
// Port 0x70 selects a register (bits 0-6) and masks NMI (bit 7); port 0x71 reads or writes it.
//
// The clock is the host's clock in UTC, converted on each read in the format register B asks
// for (BCD or binary, 24- or 12-hour), so it never drifts and needs no timer. A guest that sets
// the time (SET in register B, write the time registers, clear SET) gets an offset from the host
// clock. Periodic, alarm and update interrupts are not delivered (IRQ 8 is not wired); register
// C's UF and PF flags are still set as time passes, as polling software expects. The time of day
// has one-second resolution and UIP is always clear, so a reader never waits for an update.
//
// Bytes 0x0e-0x7f are plain RAM, pre-filled with the memory sizes a PC BIOS leaves there
// (the layout QEMU and SeaBIOS use; see CmosRtc.cpp).
//
// Locking: one mutex guards all state; no callback is called. The clock function is called with
// the lock held and must not call back into the device.
#include "devices/EmulatedDevice.h"
#include "machine/BusDevice.h"

#include <array>
#include <cstdint>
#include <ctime>
#include <functional>
#include <mutex>
#include <span>

namespace kvmscope {

class CmosRtc : public BusDevice, public EmulatedDevice {
public:
    using Clock = std::function<std::time_t()>;

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
    static constexpr uint8_t kRegisterADefault = 0x26; // 32.768 kHz time base, 1024 Hz rate
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

    static constexpr uint32_t kIndexGroup = 0;  // "index", "NMI disabled"
    static constexpr uint32_t kTimeGroup = 1;   // "seconds" ... "year", "century"
    static constexpr uint32_t kStatusGroup = 2; // "register A" ... "register D"
    static constexpr uint32_t kMemoryGroup = 3; // "CMOS": the 128 bytes

    // `ramSize` is the guest's RAM in bytes (GuestMemory's layout: at most 3 GiB below 4 GiB,
    // the rest above). `clock` returns the host time; the system clock when empty.
    explicit CmosRtc(uint64_t ramSize, Clock clock = {});

    // Byte-wide ports: a wider access uses its first byte, a read returns it zero-extended.
    // Reading the index port returns 0xff (it is write-only on the MC146818A's PC wiring).
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

    std::string name() const override { return "RTC/CMOS (MC146818A)"; }

protected:
    void describeState(StateVisitor& state) override;
    std::mutex& stateMutex() const override { return mutex_; }

private:
    // All of these run with mutex_ held.
    uint8_t peekRegister(uint8_t index) const; // what a read returns, without side effects
    uint8_t readRegister(uint8_t index);
    void writeRegister(uint8_t index, uint8_t value);
    void writeRegisterB(uint8_t value);
    void writeTimeRegister(uint8_t index, uint8_t value);
    std::tm guestTime() const;
    uint8_t pendingFlags() const;
    uint8_t encode(int value) const;
    int decode(uint8_t value) const;

    Clock clock_;
    mutable std::mutex mutex_;
    std::array<uint8_t, kCmosSize> cmos_{};
    uint8_t index_ = 0;
    bool nmiDisabled_ = false;
    std::time_t offset_ = 0;   // guest time minus host time, in seconds
    std::tm heldTime_{};       // the guest's time while SET stops the clock
    std::time_t lastFlagRead_; // guest time when register C was last read
};

} // namespace kvmscope
