#pragma once
// Where a PCI function's INTx# goes on a PIIX3-based PC: the pins of every slot are wired to the
// four PIRQ lines PIRQA#-PIRQD# (rotated by slot, see pirqLink), and each PIRQ line reaches
//  * an I/O APIC input of its own, GSI 16-19 (PIRQA#-PIRQD#), as QEMU's PC wires it; the ACPI
//    _PRT tells an OS in APIC mode so, and KVM's default routing delivers GSIs 16-23 to the
//    in-kernel I/O APIC only (the PIC has 16 inputs);
//  * and the ISA IRQ its PIIX3 route register names (82371SB datasheet, 2.2.12 "PIRQRC[A:D]",
//    config 0x60-0x63: bit 7 set disables the route, bits 3-0 the IRQ), for an OS in PIC mode.
//    KVM_IRQ_LINE on an ISA IRQ raises the PIC input and the I/O APIC pin of that number.
// PCI interrupts are level-triggered and shared (PCI Local Bus Spec 3.0, 2.2.6): a PIRQ line is
// asserted while any function wired to it asserts its pin, and an ISA IRQ while any enabled PIRQ
// routed to it is (wired-OR).
//
// Locking: one mutex; IrqLine::setLevel is called with it held, so levels reach the irqchip in
// the order they changed. It calls nothing else.
#include "devices/IrqLine.h"

#include <array>
#include <bitset>
#include <cstdint>
#include <mutex>

namespace kvmscope::pci {

class PciIntxRouter {
public:
    static constexpr unsigned kLinks = 4; // PIRQA#-PIRQD#
    static constexpr unsigned kIsaIrqs = 16;
    // 82371SB 2.2.12: route register bit 7 (IRQROUTEN, 1 = routing disabled) and bits 3-0.
    static constexpr uint8_t kRouteDisabled = 0x80;
    static constexpr uint8_t kRouteIrqMask = 0x0f;
    // The ISA IRQs a PIRQ may be routed to; 0-2, 8 and 13 are reserved.
    static constexpr uint16_t kRoutableIrqs = 0xdef8; // 3-7, 9-12, 14, 15

    // `apicLines[n]`: the I/O APIC input of PIRQn; `isaLines[irq]`: the ISA IRQ line, null for
    // those a PIRQ cannot be routed to. Every route starts disabled, as after reset.
    PciIntxRouter(std::array<IrqLine*, kLinks> apicLines, std::array<IrqLine*, kIsaIrqs> isaLines);

    // The PIRQ line of pin `pinIndex` (0 = INTA#) of the device in `slot` on bus 0, as the
    // PIIX-based PCs wire it and SeaBIOS assumes (its piix_pci_slot_get_irq):
    // (slot + pinIndex - 1) mod 4, so slot 1's INTA# is PIRQA#.
    static unsigned pirqLink(unsigned slot, unsigned pinIndex) {
        return (slot + pinIndex + kLinks - 1) % kLinks;
    }

    // Source `source` (a function's devfn << 2 | pin index) sets its level on `link`.
    void setSource(unsigned link, unsigned source, bool asserted);
    // A route register's new value (from the ISA bridge).
    void setRoute(unsigned link, uint8_t route);

    bool linkAsserted(unsigned link) const;
    // The ISA IRQ `link` drives now, or -1 while its route is disabled or reserved.
    int routedIrq(unsigned link) const;

private:
    static int irqOf(uint8_t route);
    bool linkLevel(unsigned link) const { return sources_[link].any(); }
    // Sets every ISA line to the OR of the enabled links routed to it.
    void driveIsaLines();

    mutable std::mutex mutex_;
    std::array<IrqLine*, kLinks> apicLines_;
    std::array<IrqLine*, kIsaIrqs> isaLines_;
    std::array<std::bitset<1024>, kLinks> sources_{}; // asserted sources per link
    std::array<uint8_t, kLinks> routes_{kRouteDisabled, kRouteDisabled, kRouteDisabled,
                                        kRouteDisabled};
    std::array<bool, kIsaIrqs> isaLevels_{}; // what each ISA line was set to
};

} // namespace kvmscope::pci
