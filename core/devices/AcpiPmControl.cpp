#include "devices/AcpiPmControl.h"

#include <fmt/format.h>

namespace kvmscope {
namespace {

constexpr uint64_t kRegisterBytes = 6; // PM1_STS, PM1_EN, PM1_CNT; +6 and +7 are unused
constexpr uint16_t kControlStoredBits =
    AcpiPmControl::kBusMasterReload | AcpiPmControl::kSleepTypeMask;

} // namespace

AcpiPmControl::AcpiPmControl(std::function<void()> onPowerOff)
    : onPowerOff_(std::move(onPowerOff)) {}

uint16_t AcpiPmControl::readRegister(uint64_t registerOffset) const {
    switch (registerOffset) {
    case kStatusOffset:
        return status_;
    case kEnableOffset:
        return enable_;
    default: // kControlOffset
        return control_;
    }
}

bool AcpiPmControl::writeRegister(uint64_t registerOffset, uint16_t value, uint16_t mask) {
    value &= mask;
    switch (registerOffset) {
    case kStatusOffset:
        // 4.8.3.1.1: status bits are cleared by writing 1; writing 0 has no effect.
        status_ &= static_cast<uint16_t>(~(value & kStatusBits));
        return false;
    case kEnableOffset:
        enable_ = static_cast<uint16_t>((enable_ & ~mask) | (value & kEnableBits));
        return false;
    default: { // kControlOffset
        const auto merged = static_cast<uint16_t>((control_ & ~mask) | value);
        // SCI_EN is owned by the hardware (always set here); SLP_EN and GBL_RLS are write-only.
        control_ = static_cast<uint16_t>(kSciEnable | (merged & kControlStoredBits));
        if (!(value & kSleepEnable))
            return false;
        const unsigned sleepType = (merged & kSleepTypeMask) >> kSleepTypeShift;
        if (sleepType != kSleepTypeSoftOff)
            return false; // S1-S4 are not offered by kvmscope's DSDT: nothing happens
        ++powerOffRequests_;
        return true;
    }
    }
}

void AcpiPmControl::read(uint64_t offset, std::span<uint8_t> data) {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < data.size(); ++i) {
        const uint64_t byteOffset = offset + i;
        if (byteOffset >= kRegisterBytes) {
            data[i] = 0;
            continue;
        }
        const uint16_t value = readRegister(byteOffset & ~uint64_t(1));
        data[i] = static_cast<uint8_t>(value >> (8 * (byteOffset & 1)));
    }
}

void AcpiPmControl::write(uint64_t offset, std::span<const uint8_t> data) {
    // Gather the bytes of the access per register, so a 16-bit write of PM1_CNT is one write
    // (SLP_TYP and SLP_EN arrive together) and a 32-bit write at +0 reaches PM1_STS and PM1_EN.
    uint16_t values[3] = {};
    uint16_t masks[3] = {};
    for (size_t i = 0; i < data.size(); ++i) {
        const uint64_t byteOffset = offset + i;
        if (byteOffset >= kRegisterBytes)
            break;
        const unsigned shift = 8 * static_cast<unsigned>(byteOffset & 1);
        values[byteOffset / 2] |= static_cast<uint16_t>(data[i] << shift);
        masks[byteOffset / 2] |= static_cast<uint16_t>(0xff << shift);
    }
    bool powerOff = false;
    {
        std::lock_guard lock(mutex_);
        for (uint64_t index = 0; index < 3; ++index)
            if (masks[index])
                powerOff |= writeRegister(index * 2, values[index], masks[index]);
    }
    if (powerOff && onPowerOff_)
        onPowerOff_();
}

void AcpiPmControl::describeState(StateVisitor& state) {
    state.group(kRegistersGroup, "registers");
    state.field("PM1_STS", status_, AttrAccess::Read,
                "PM1a status (PM1a_EVT_BLK + 0): 0 TMR, 4 BM, 5 GBL, 8 PWRBTN, 9 SLPBTN, 10 RTC, "
                "15 WAK");
    state.field("PM1_EN", enable_, AttrAccess::ReadWrite,
                "PM1a enable (PM1a_EVT_BLK + 2): 0 TMR, 5 GBL, 8 PWRBTN, 9 SLPBTN, 10 RTC, 14 "
                "PCIEXP_WAKE_DIS",
                FieldHooks::checkedBy([](uint64_t value) {
                    if ((value & ~uint64_t(kEnableBits)) == 0)
                        return std::string();
                    return fmt::format("{:#x} sets reserved PM1_EN bits (valid: {:#x})", value,
                                       kEnableBits);
                }));
    state.field("PM1_CNT", control_, AttrAccess::Read,
                "PM1a control (PM1a_CNT_BLK): 0 SCI_EN (always set), 1 BM_RLD, 12-10 SLP_TYP");
    state.group(kStatisticsGroup, "statistics");
    state.statistic("power-off requests", powerOffRequests_, "writes of SLP_EN with SLP_TYP = S5");
}

} // namespace kvmscope
