#pragma once
// The PCI-to-ISA bridge at 00:01.0: function 0 of an Intel 82371SB PCI ISA IDE Xcelerator
// (PIIX3), the south bridge that firmware for QEMU's "pc" machine expects beside the 82441FX
// (82371FB/82371SB datasheet, 290550-002, 2.2 "PCI to ISA/EIO Bridge Configuration Registers").
// Its header type says multi-function (0x80), as the real chip's does (functions 1 and 2 are its
// IDE and USB controllers; a later IDE function takes 00:01.1).
//
// What it does:
//  * PIRQRC[A:D] (0x60-0x63, 2.2.12): PIRQx# route control. Bit 7 (IRQROUTEN) set disables the
//    route, bits 3-0 name the ISA IRQ (3-7, 9-12, 14, 15; the others are reserved). Reset value
//    0x80. Every write goes to the interrupt router (PciIntxRouter): SeaBIOS's
//    piix_isa_bridge_setup writes its IRQs 10, 10, 11, 11 here and sets the ELCR for them (the
//    ELCR at ports 0x4D0-0x4D1 is the in-kernel PIC's).
//  * The other registers of the function are stored with their reset values and shown: IORT
//    (0x4C, 0x4D), XBCS (0x4E, 0x0003), TOM (0x69, 0x02), MSTAT (0x6A), MBIRQ0-1 (0x70-0x71,
//    0x80: motherboard IRQs off), MBDMA (0x76-0x77, 0x04), PCSC (0x78, 0x0002), APICBASE (0x80),
//    DLC (0x82), and the SMI registers 0xA0-0xAF (SMICNTL 0x08, FTMR 0x0F). Nothing follows from
//    them: kvmscope's ISA devices are always decoded and it has no SMM.
#include "pci/PciFunction.h"

namespace kvmscope::pci {

class PciIntxRouter;

class Piix3IsaBridge final : public PciFunction {
public:
    static constexpr uint16_t kVendorIntel = 0x8086;
    static constexpr uint16_t kDevice82371SbIsa = 0x7000;
    static constexpr uint32_t kClassIsaBridge = 0x06'01'00; // bridge, ISA, 00
    static constexpr uint8_t kRevision = 0x00;

    static constexpr unsigned kPirqRouteControl = 0x60; // PIRQRCA, then B, C, D
    static constexpr unsigned kPirqCount = 4;
    static constexpr uint8_t kPirqRouteDefault = 0x80;
    static constexpr uint8_t kPirqRouteWritable = 0x8f; // bits 6-4 reserved
    static constexpr uint16_t kCommandDefault = 0x0007; // I/O, memory, bus master: hardwired
    static constexpr uint16_t kStatusDefault = 0x0200;  // DEVSEL medium

    // `router` receives the route registers (may be null in tests of the registers alone).
    explicit Piix3IsaBridge(PciIntxRouter* router);

protected:
    void afterConfigWrite(unsigned offset, unsigned size) override;
    void describeDeviceState(StateVisitor& state) override;

private:
    PciIntxRouter* router_;
};

} // namespace kvmscope::pci
