// The machine's PCI bus 0 (docs/devices.md, "PCI"): the INTx router and its lines, the bus with
// its configuration ports and ECAM window, the chipset functions and the VGA function. Part of
// Machine, as MachineStorage.cpp and MachineVirtio.cpp are.
#include "devices/StdVgaFunction.h"
#include "machine/Machine.h"
#include "machine/PcPlatform.h"
#include "pci/I440fxHostBridge.h"
#include "pci/PciBus.h"
#include "pci/PciIntxRouter.h"
#include "pci/Piix3IsaBridge.h"

#include <fmt/format.h>

namespace kvmscope {

// docs/devices.md, "PCI": where everything sits is PcPlatform.h's.
void Machine::createPciDevices() {
    auto makeLine = [this](uint32_t gsi, std::string owner, bool standby = false) -> IrqLine* {
        return &makeIrqLine(gsi, std::move(owner), standby);
    };
    // PIRQA#-PIRQD# on I/O APIC inputs 16-19, and each on the ISA IRQ its PIIX3 route register
    // names. A PIRQ routed onto an ISA device's IRQ fights that device's line, as a level PCI
    // interrupt and an edge ISA one would on a real board; firmware routes to free IRQs.
    std::array<IrqLine*, pci::PciIntxRouter::kLinks> apicLines{};
    for (unsigned link = 0; link < pc::kPciIrqLinks; ++link)
        apicLines[link] =
            makeLine(pc::kPciIrqFirstGsi + link, fmt::format("PCI PIRQ{}#", char('A' + link)));
    std::array<IrqLine*, pci::PciIntxRouter::kIsaIrqs> isaLines{};
    for (unsigned irq = 0; irq < pc::kIsaIrqs; ++irq)
        if ((pci::PciIntxRouter::kRoutableIrqs >> irq) & 1)
            isaLines[irq] = makeLine(irq, fmt::format("PCI PIRQ routed to IRQ {}", irq), true);
    pciIrqRouter_ = std::make_unique<pci::PciIntxRouter>(apicLines, isaLines);

    // No BAR over RAM or the platform's top 20 MiB (APICs, KVM's pages, the BIOS), nor on ports
    // the kernel answers; the buses refuse overlaps with any other range (the ECAM window, and
    // the framebuffer, which is the VGA function's BAR0).
    std::vector<pci::ReservedRange> reservedMmio;
    for (const auto& region : memory_->regions())
        reservedMmio.push_back({region.guestAddress, region.end(), "guest RAM"});
    reservedMmio.push_back(
        {pc::kIoApicAddress, pc::kMmioHoleEnd, "the APICs, KVM's pages and the BIOS"});
    std::vector<pci::ReservedRange> reservedIo;
    for (const pc::AddressWindow& ports : pc::kKernelIoPorts)
        reservedIo.push_back({ports.start, ports.end, "ports KVM's irqchip and PIT answer"});
    auto bus =
        std::make_unique<pci::PciBus>(ioBus_, mmioBus_, pciIrqRouter_.get(), std::move(reservedIo),
                                      std::move(reservedMmio), pc::kPciEcamBuses);
    addLegacyDevice(pc::kPciConfigAddress, bus->addressPort(), *bus);
    addLegacyDevice(pc::kPciConfigData, bus->dataPort(), *bus);
    mmioBus_.add(pc::kPciEcamAddress, bus->ecamSize(), bus->ecam(), "PCI ECAM");
    pciBus_ = bus.get();
    devices_.push_back(std::move(bus));

    auto hostBridge = std::make_unique<pci::I440fxHostBridge>();
    pciBus_->add(pc::kPciHostBridgeSlot, 0, *hostBridge);
    devices_.push_back(std::move(hostBridge));
    auto isaBridge = std::make_unique<pci::Piix3IsaBridge>(pciIrqRouter_.get());
    pciBus_->add(pc::kPciIsaBridgeSlot, 0, *isaBridge);
    devices_.push_back(std::move(isaBridge));

    // The VGA function, whose BAR0 is the framebuffer: only with one (StdVgaFunction.h).
    if (framebuffer_ && dispi_) {
        auto vga =
            std::make_unique<StdVgaFunction>(*framebuffer_, *framebufferSlot_, *dispi_, ioBus_);
        if (config_.firmware.kind != firmware::FirmwareKind::Bios)
            vga->assignAsFirmwareWould(pc::kVgaFramebufferInitialAddress,
                                       pc::kVgaMmioInitialAddress);
        pciBus_->add(pc::kPciVgaSlot, 0, *vga);
        devices_.push_back(std::move(vga));
    }
}

} // namespace kvmscope
