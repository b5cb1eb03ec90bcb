#pragma once
// Ports 0x600-0x607: the ACPI PM1a event and control register blocks (ACPI 6.4, 4.8.3.1 "PM1
// Event Grouping" and 4.8.3.2 "PM1 Control Grouping"), the fixed-hardware registers the FADT
// will point at (PM1a_EVT_BLK = 0x600, 4 bytes; PM1a_CNT_BLK = 0x604, 2 bytes):
//
//   +0 PM1_STS (16 bit, write 1 to clear)   +2 PM1_EN (16 bit)   +4 PM1_CNT (16 bit)
//
// Writing PM1_CNT with SLP_EN set and SLP_TYP = kSleepTypeSoftOff (the value kvmscope's DSDT
// declares in \_S5) powers the machine off. Other sleep states are not supported and are
// ignored. SCI_EN always reads as set: the machine is in ACPI mode from reset, so an OS never
// needs an SMI command port to switch (4.8.3.2.1, "PM1 Control Registers").
//
// Locking: the mutex guards the registers only; onPowerOff runs after it is released, since the
// machine's stop request kicks every vcpu.
#include "devices/EmulatedDevice.h"
#include "machine/BusDevice.h"

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

namespace kvmscope {

class AcpiPmControl : public BusDevice, public EmulatedDevice {
public:
    static constexpr uint64_t kPortCount = 8;
    // Register offsets in the port block.
    static constexpr uint64_t kStatusOffset = 0;  // PM1_STS
    static constexpr uint64_t kEnableOffset = 2;  // PM1_EN
    static constexpr uint64_t kControlOffset = 4; // PM1_CNT

    // PM1_CNT bits (ACPI 6.4, 4.8.3.2.1 "PM1 Control Registers").
    static constexpr uint16_t kSciEnable = 1u << 0;       // SCI_EN
    static constexpr uint16_t kBusMasterReload = 1u << 1; // BM_RLD
    static constexpr uint16_t kGlobalRelease = 1u << 2;   // GBL_RLS, write-only
    static constexpr unsigned kSleepTypeShift = 10;       // SLP_TYP, bits 10-12
    static constexpr uint16_t kSleepTypeMask = 7u << kSleepTypeShift;
    static constexpr uint16_t kSleepEnable = 1u << 13; // SLP_EN, write-only
    // SLP_TYP for S5 (soft off): the first value of kvmscope's \_S5 package (ACPI 6.4, 7.4.2
    // "\_Sx (System States)"). 0, as on QEMU's PIIX4 machine, so bare-metal guests that power off
    // with the common `outw(0x604, 0x2000)` (SLP_EN alone) work unchanged.
    static constexpr uint16_t kSleepTypeSoftOff = 0;

    // PM1_STS and PM1_EN bits that exist (4.8.3.1.1 "PM1 Status Registers", 4.8.3.1.2 "PM1
    // Enable Registers"); the others are reserved and read as 0.
    // TMR_STS 0, BM_STS 4, GBL_STS 5, PWRBTN_STS 8, SLPBTN_STS 9, RTC_STS 10,
    // PCIEXP_WAKE_STS 14, WAK_STS 15.
    static constexpr uint16_t kStatusBits = 0xc731;
    // TMR_EN 0, GBL_EN 5, PWRBTN_EN 8, SLPBTN_EN 9, RTC_EN 10, PCIEXP_WAKE_DIS 14.
    static constexpr uint16_t kEnableBits = 0x4721;

    static constexpr uint32_t kRegistersGroup = 0;
    static constexpr uint32_t kStatisticsGroup = 1;

    // `onPowerOff` runs on the writing vcpu's thread when the guest enters S5.
    explicit AcpiPmControl(std::function<void()> onPowerOff);

    // Byte, word or dword accesses anywhere in the block: each byte is routed to the register
    // it belongs to, so a byte write to +5 changes PM1_CNT's high byte. Bytes +6 and +7 are
    // unused and read as 0.
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

    std::string name() const override { return "ACPI PM1a (power management)"; }

protected:
    void describeState(StateVisitor& state) override;
    std::mutex& stateMutex() const override { return mutex_; }

private:
    // With mutex_ held; `registerOffset` is 0, 2 or 4, `mask` the bits the access wrote.
    uint16_t readRegister(uint64_t registerOffset) const;
    // Returns true when the write asked for S5.
    bool writeRegister(uint64_t registerOffset, uint16_t value, uint16_t mask);

    std::function<void()> onPowerOff_;
    mutable std::mutex mutex_;
    uint16_t status_ = 0;
    uint16_t enable_ = 0;
    uint16_t control_ = kSciEnable; // SLP_TYP and BM_RLD as last written; SLP_EN never stored
    uint64_t powerOffRequests_ = 0;
};

} // namespace kvmscope
