#include "boot/acpi/Dsdt.h"

#include "devices/AcpiPmControl.h"
#include "machine/PcPlatform.h"

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
    // \_SB is predefined (5.3.1 "Predefined Root Namespaces"), so Scope can open it.
    append(termList, aml::scope("\\_SB", systemBus));
    return termList;
}

} // namespace kvmscope::boot::acpi
