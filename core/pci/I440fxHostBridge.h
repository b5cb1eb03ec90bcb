#pragma once
// The host bridge at 00:00.0: an Intel 82441FX PCI and Memory Controller (PMC), the north bridge
// of the 440FX PCIset, as PC firmware written for QEMU's "pc" machine (SeaBIOS) expects to find
// it (82441FX datasheet, 290549-001, 3.0 "Register Description", 3.2 "PCI Configuration Space").
//
// What it holds:
//  * the identification and the command/status defaults of the datasheet (PCICMD 0x0006:
//    memory access and bus master hardwired on; PCISTS 0x0280: fast back-to-back, medium DEVSEL);
//  * PAM0-PAM6 (0x59-0x5F, 3.2.18): read/write enables of the BIOS and option-ROM areas
//    0xC0000-0xFFFFF. Firmware writes them to "shadow" its ROM into RAM and to write-protect it
//    again (SeaBIOS's src/fw/shadow.c reads and writes the dwords at 0x58 and 0x5C). kvmscope
//    keeps the values and shows them, but the areas are guest RAM whatever they say: the
//    enables change nothing (there is no ROM behind them to switch to);
//  * SMRAM (0x72, 3.2.21): D_OPEN, D_CLS, D_LCK, G_SMRAME, with C_BASE_SEG fixed at 010 (the
//    A-segment). D_LCK, once set, makes D_OPEN read 0 and locks D_LCK and G_SMRAME until reset.
//    Stored only: kvmscope has no SMM;
//  * DRB0-DRB7 (0x60-0x67), the DRAM row boundaries, stored (firmware of this era reads them
//    back after sizing memory; nothing depends on them here).
// Other device-specific registers read 0 and ignore writes.
#include "pci/PciFunction.h"

namespace kvmscope::pci {

class I440fxHostBridge final : public PciFunction {
public:
    static constexpr uint16_t kVendorIntel = 0x8086;
    static constexpr uint16_t kDevice82441 = 0x1237;
    static constexpr uint32_t kClassHostBridge = 0x06'00'00; // bridge, host, 00
    static constexpr uint8_t kRevision = 0x02;

    static constexpr unsigned kPam0 = 0x59;
    static constexpr unsigned kPamCount = 7;
    static constexpr unsigned kDrb0 = 0x60;
    static constexpr unsigned kDrbCount = 8;
    static constexpr unsigned kSmram = 0x72;
    // PAM0 holds only the 0xF0000 area's enables in bits 5-4; PAM1-6 two areas each.
    static constexpr uint8_t kPam0Writable = 0x30;
    static constexpr uint8_t kPamWritable = 0x33;
    // SMRAM bits (3.2.21).
    static constexpr uint8_t kSmramOpen = 1u << 6;     // D_OPEN
    static constexpr uint8_t kSmramClose = 1u << 5;    // D_CLS
    static constexpr uint8_t kSmramLock = 1u << 4;     // D_LCK
    static constexpr uint8_t kSmramEnable = 1u << 3;   // G_SMRAME
    static constexpr uint8_t kSmramBaseSegment = 0x02; // C_BASE_SEG = 010, read-only
    static constexpr uint16_t kCommandDefault = 0x0006;
    static constexpr uint16_t kStatusDefault = 0x0280;

    I440fxHostBridge();

protected:
    void afterConfigWrite(unsigned offset, unsigned size) override;
    void describeDeviceState(StateVisitor& state) override;
};

} // namespace kvmscope::pci
