#include "boot/acpi/Dsdt.h"

#include "devices/AcpiPmControl.h"
#include "machine/PcPlatform.h"
#include "pci/PciIntxRouter.h"
#include "pci/PciRegisters.h"

namespace kvmscope::boot::acpi {
namespace {

using aml::Bytes;

// ACPI 6.4, 6.4.2 small resource data: a tag byte 0 TTTT LLL (type, length of the body).
constexpr uint8_t smallResourceTag(uint8_t type, uint8_t length) {
    return static_cast<uint8_t>((type << 3) | length);
}
constexpr uint8_t kIrqDescriptor = 0x04;    // 6.4.2.1
constexpr uint8_t kIoPortDescriptor = 0x08; // 6.4.2.5
constexpr uint8_t kEndTagDescriptor = 0x0f; // 6.4.2.9
constexpr uint8_t kIoDecode16 = 0x01;       // 6.4.2.5 byte 1 bit 0: full 16-bit decode

// 6.4.2.5 I/O Port Descriptor, table 6.41: 47 info min(2) max(2) align len.
Bytes ioPortDescriptor(uint16_t base, uint8_t alignment, uint8_t length) {
    const auto low = static_cast<uint8_t>(base);
    const auto high = static_cast<uint8_t>(base >> 8);
    return {smallResourceTag(kIoPortDescriptor, 7),
            kIoDecode16,
            low,
            high,
            low,
            high,
            alignment,
            length};
}

// 6.4.2.1 IRQ Descriptor, the 2-byte form (no flags byte: edge-triggered, active high,
// exclusive, which is what IRQNoFlags means): 22 mask(2), bit n = IRQ n.
Bytes irqNoFlagsDescriptor(uint16_t mask) {
    return {smallResourceTag(kIrqDescriptor, 2), static_cast<uint8_t>(mask),
            static_cast<uint8_t>(mask >> 8)};
}

// 6.4.2.9 End Tag: 79 checksum; a checksum of 0 tells OSPM to treat the template as valid.
Bytes endTagDescriptor() {
    return {smallResourceTag(kEndTagDescriptor, 1), 0x00};
}

void append(Bytes& to, const Bytes& bytes) {
    to.insert(to.end(), bytes.begin(), bytes.end());
}

// 6.4.3 large resource data: a tag byte 1 NNNNNNN and a 16-bit length of the body.
constexpr uint8_t kDWordAddressSpaceDescriptor = 0x87; // 6.4.3.5.2
constexpr uint8_t kWordAddressSpaceDescriptor = 0x88;  // 6.4.3.5.3
// Their resource type (byte 3) and general flags (byte 4: bit 3 _MAF, bit 2 _MIF, bit 1 _DEC
// clear for positive decode, bit 0 clear: a producer, the bridge hands the range on).
constexpr uint8_t kMemoryRange = 0;
constexpr uint8_t kIoRange = 1;
constexpr uint8_t kBusNumberRange = 2;
constexpr uint8_t kFixedProducer = 0x0c; // MinFixed, MaxFixed, PosDecode, ResourceProducer
// Type-specific flags: I/O bits 1-0 _RNG = 3 (EntireRange, table 6.50); memory bit 0 _RW
// (ReadWrite), bits 2-1 _MEM = 0 (NonCacheable), table 6.49.
constexpr uint8_t kIoEntireRange = 0x03;
constexpr uint8_t kMemoryReadWriteNonCacheable = 0x01;

void appendLittleEndian(Bytes& to, uint64_t value, unsigned bytes) {
    for (unsigned i = 0; i < bytes; ++i)
        to.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

// 6.4.3.5.3 Word Address Space Descriptor (WordBusNumber, WordIO), or 6.4.3.5.2 DWord
// (DWordMemory): granularity 0, [minimum, maximum], translation 0, length maximum - minimum + 1.
Bytes addressSpaceDescriptor(uint8_t type, uint8_t typeFlags, uint64_t minimum, uint64_t maximum,
                             unsigned width) {
    Bytes descriptor{width == 2 ? kWordAddressSpaceDescriptor : kDWordAddressSpaceDescriptor};
    appendLittleEndian(descriptor, 3 + 5 * width, 2);
    descriptor.push_back(type);
    descriptor.push_back(kFixedProducer);
    descriptor.push_back(typeFlags);
    for (const uint64_t field : {uint64_t{0}, minimum, maximum, uint64_t{0}, maximum - minimum + 1})
        appendLittleEndian(descriptor, field, width);
    return descriptor;
}

// PCI0's _CRS (PCI Firmware Specification 3.0, 4.1.2; ACPI 6.4, 6.2.2): the bus numbers the
// ECAM window covers, the configuration ports the bridge itself decodes, the I/O and 32-bit
// memory windows BARs may use (machine/PcPlatform.h).
Bytes pciHostBridgeResources() {
    Bytes resources = addressSpaceDescriptor(kBusNumberRange, 0, 0, pc::kPciEcamBuses - 1, 2);
    append(resources, ioPortDescriptor(pc::kPciConfigAddress.port, 1,
                                       static_cast<uint8_t>(pc::kPciConfigData.port +
                                                            pc::kPciConfigData.portCount -
                                                            pc::kPciConfigAddress.port)));
    for (const pc::AddressWindow& window : pc::kPciIoWindows)
        append(resources,
               addressSpaceDescriptor(kIoRange, kIoEntireRange, window.start, window.end - 1, 2));
    for (const pc::AddressWindow& window : pc::kPciMmioWindows)
        append(resources, addressSpaceDescriptor(kMemoryRange, kMemoryReadWriteNonCacheable,
                                                 window.start, window.end - 1, 4));
    append(resources, endTagDescriptor());
    return resources;
}

// PCI0's _PRT (ACPI 6.4, 6.2.13), the table for APIC mode: for every slot and pin, Package
// { Address (slot << 16 | 0xFFFF: any function), Pin (0 = INTA#), Source 0, Source Index = the
// GSI }, with the PIRQ line of pci/PciIntxRouter.h on I/O APIC input 16 + PIRQ.
Bytes pciRoutingTable() {
    std::vector<Bytes> entries;
    for (unsigned slot = 0; slot < pci::kDevicesPerBus; ++slot)
        for (unsigned pin = 0; pin < pci::kInterruptPins; ++pin)
            entries.push_back(aml::package(
                {aml::integer((uint64_t{slot} << 16) | 0xffff), aml::integer(pin), aml::integer(0),
                 aml::integer(pc::kPciIrqFirstGsi + pci::PciIntxRouter::pirqLink(slot, pin))}));
    return aml::package(entries);
}

// 6.4.3.4 32-bit Fixed Memory Range Descriptor: 86 09 00, information (bit 0: read-write), base,
// length.
constexpr uint8_t kFixedMemory32Descriptor = 0x86;
Bytes fixedMemory32Descriptor(uint64_t base, uint64_t length) {
    Bytes descriptor{kFixedMemory32Descriptor, 0x09, 0x00, 0x01};
    appendLittleEndian(descriptor, base, 4);
    appendLittleEndian(descriptor, length, 4);
    return descriptor;
}

// Device (PDRC): motherboard resources (PNP0C02) holding the ECAM window, which Linux wants
// reserved there before it trusts the MCFG (arch/x86/pci/mmconfig-shared.c, is_acpi_reserved);
// QEMU's q35 DSDT declares its window the same way.
Bytes motherboardResources() {
    Bytes resources = fixedMemory32Descriptor(pc::kPciEcamAddress, pc::kPciEcamSize);
    append(resources, endTagDescriptor());
    Bytes body = aml::name("_HID", aml::eisaId("PNP0C02"));
    append(body, aml::name("_UID", aml::integer(1)));
    append(body, aml::name("_CRS", aml::buffer(resources)));
    return aml::device("PDRC", body);
}

// Device (PCI0): the host bridge of PCI bus 0 (PCI Firmware Specification 3.0, 4.1.1).
Bytes pciHostBridge() {
    Bytes body = aml::name("_HID", aml::eisaId("PNP0A03")); // PCI bus
    append(body, aml::name("_CID", aml::eisaId("PNP0A03")));
    // No _ADR: ACPI 6.4, 6.1.1 says a device has _HID or _ADR, not both (iasl warns otherwise).
    append(body, aml::name("_UID", aml::integer(0)));
    append(body, aml::name("_SEG", aml::integer(0))); // 6.5.6: segment group 0, MCFG's
    append(body, aml::name("_BBN", aml::integer(0))); // 6.5.5: its bus is bus 0
    append(body, aml::name("_CRS", aml::buffer(pciHostBridgeResources())));
    append(body, aml::name("_PRT", pciRoutingTable()));
    return aml::device("PCI0", body);
}

// 6.2.2 _CRS: the device's ports (6.4.2.5, full 16-bit decode, fixed base) and its ISA IRQs
// (6.4.2.1), then the end tag.
Bytes currentResources(const pc::LegacyDevice& device) {
    Bytes resources = ioPortDescriptor(device.port, 1, static_cast<uint8_t>(device.portCount));
    uint16_t irqs = 0;
    for (uint8_t irq : {device.irq, device.secondIrq})
        if (irq != pc::kNoIrq)
            irqs = static_cast<uint16_t>(irqs | (1u << irq));
    if (irqs != 0)
        append(resources, irqNoFlagsDescriptor(irqs));
    append(resources, endTagDescriptor());
    return resources;
}

// Device (KBD) and Device (MOU): the i8042's keyboard with the data and command/status ports and
// IRQ 1, its PS/2 mouse with IRQ 12 (machine/PcPlatform.h, kI8042KeyboardHid). The ports are the
// first and last of the controller's window: 0x61-0x63 inside it are not the i8042's (port B,
// which the PIT answers) and are left to the motherboard, as on a PC.
Bytes i8042Devices() {
    const pc::LegacyDevice& i8042 = pc::kI8042;
    const auto commandPort = static_cast<uint16_t>(i8042.port + i8042.portCount - 1);
    Bytes keyboardResources = ioPortDescriptor(i8042.port, 1, 1);
    append(keyboardResources, ioPortDescriptor(commandPort, 1, 1));
    append(keyboardResources, irqNoFlagsDescriptor(static_cast<uint16_t>(1u << i8042.irq)));
    append(keyboardResources, endTagDescriptor());
    Bytes keyboard = aml::name("_HID", aml::eisaId(pc::kI8042KeyboardHid));
    append(keyboard, aml::name("_CRS", aml::buffer(keyboardResources)));

    Bytes mouseResources = irqNoFlagsDescriptor(static_cast<uint16_t>(1u << i8042.secondIrq));
    append(mouseResources, endTagDescriptor());
    Bytes mouse = aml::name("_HID", aml::eisaId(pc::kI8042MouseHid));
    append(mouse, aml::name("_CRS", aml::buffer(mouseResources)));

    Bytes devices = aml::device(pc::kI8042KeyboardName, keyboard);
    append(devices, aml::device(pc::kI8042MouseName, mouse));
    return devices;
}

} // namespace

// The resulting bytes, as the unit test spells them out (tests/unit/acpi/DsdtTest.cpp):
//
//   08 5f 53 35 5f                NameOp "_S5_"
//   12 06 04 00 00 00 00          PackageOp PkgLength(6) NumElements(4) ZeroOp x4
//   10 4b 05 5c 5f 53 42 5f       ScopeOp PkgLength(0x5b, two bytes: 20.2.4) "\_SB_"
//   5b 82 2b 43 4f 4d 31          DeviceOp PkgLength(0x2b) "COM1"
//   08 5f 48 49 44 0c 41 d0 05 01 NameOp "_HID" DWordConst 0x0105d041 (EISAID "PNP0501")
//   08 5f 55 49 44 01             NameOp "_UID" OneOp
//   08 5f 43 52 53                NameOp "_CRS"
//   11 10 0a 0d                   BufferOp PkgLength(0x10) BufferSize ByteConst(13)
//   47 01 f8 03 f8 03 01 08       I/O port: decode16, min=max 0x3f8, align 1, length 8
//   22 10 00                      IRQ mask 0x0010: IRQ 4
//   79 00                         End tag
//   5b 82 25 52 54 43 5f          DeviceOp PkgLength(0x25) "RTC_"
//   08 5f 48 49 44 0c 41 d0 0b 00 NameOp "_HID" DWordConst 0x000bd041 (EISAID "PNP0B00")
//   08 5f 43 52 53                NameOp "_CRS"
//   11 10 0a 0d                   BufferOp PkgLength(0x10) BufferSize ByteConst(13)
//   47 01 70 00 70 00 01 02       I/O port: decode16, min=max 0x70, align 1, length 2
//   22 00 01                      IRQ mask 0x0100: IRQ 8
//   79 00                         End tag
aml::Bytes buildDsdtAml() {
    // ACPI 6.4, 7.4.2 "\_Sx (System States)": Package { SLP_TYPa, SLP_TYPb, reserved, reserved }.
    // Both SLP_TYP values are the one AcpiPmControl treats as soft-off; PM1b does not exist.
    const uint64_t softOff = AcpiPmControl::kSleepTypeSoftOff;
    Bytes termList = aml::name("_S5", aml::package({aml::integer(softOff), aml::integer(softOff),
                                                    aml::integer(0), aml::integer(0)}));

    // Each device an OS should bind a driver to through ACPI rather than by probing (Linux:
    // 8250_pnp for COM1; rtc_cmos through PNP rather than its platform fallback,
    // arch/x86/kernel/rtc.c). 6.1.5 _HID, 6.1.12 _UID, 6.2.2 _CRS. The FADT agrees about the RTC:
    // CENTURY names the CMOS century register and IAPC_BOOT_ARCH leaves "CMOS RTC Not Present"
    // clear (AcpiTables.cpp).
    Bytes systemBus;
    for (const pc::LegacyDevice& device : pc::kLegacyDevices) {
        if (device.acpiHid.empty())
            continue;
        Bytes body = aml::name("_HID", aml::eisaId(device.acpiHid));
        if (device.acpiUid != 0)
            append(body, aml::name("_UID", aml::integer(device.acpiUid)));
        append(body, aml::name("_CRS", aml::buffer(currentResources(device))));
        append(systemBus, aml::device(device.acpiName, body));
    }
    append(systemBus, i8042Devices());
    append(systemBus, pciHostBridge());
    append(systemBus, motherboardResources());
    // \_SB is predefined (5.3.1 "Predefined Root Namespaces"), so Scope can open it.
    append(termList, aml::scope("\\_SB", systemBus));
    return termList;
}

} // namespace kvmscope::boot::acpi
