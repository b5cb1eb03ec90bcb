// The platform table (machine/PcPlatform.h) is self-consistent, and the firmware tables kvmscope
// writes say what it says: the DSDT's devices, the FADT's PM and reset registers and SCI, the
// APIC addresses in the MADT and the MP table. That the I/O bus puts each device where its row
// says is checked on a live machine (tests/integration/MachineDevicesTest.cpp).
#include "machine/PcPlatform.h"

#include "boot/GuestLayout.h"
#include "boot/MpTable.h"
#include "boot/acpi/AcpiTables.h"
#include "boot/acpi/Aml.h"
#include "boot/acpi/Dsdt.h"
#include "machine/GuestMemory.h"

#include <QTest>
#include <algorithm>
#include <cstring>
#include <string>

using namespace kvmscope;

namespace {

constexpr uint64_t kRam = 64ull << 20;

std::string signatureAt(const GuestMemory& memory, uint64_t address) {
    const auto bytes = memory.span(address, 4);
    return std::string(bytes.begin(), bytes.end());
}

// The table with `signature` among those the XSDT lists (ACPI 6.4, 5.2.5.3 and 5.2.8).
uint64_t findAcpiTable(const GuestMemory& memory, uint64_t rsdp, const std::string& signature) {
    const auto xsdt = memory.readValue<uint64_t>(rsdp + 24);
    const auto length = memory.readValue<uint32_t>(xsdt + 4);
    for (uint64_t entry = xsdt + 36; entry < xsdt + length; entry += 8) {
        const auto table = memory.readValue<uint64_t>(entry);
        if (signatureAt(memory, table) == signature)
            return table;
    }
    return 0;
}

// The bytes of `Device (NAME) { ... }` in the DSDT's AML, found by its NameSeg after DeviceOp and
// a one-byte PkgLength (the devices are small).
boot::acpi::aml::Bytes deviceBody(const boot::acpi::aml::Bytes& aml, std::string_view name) {
    const boot::acpi::aml::Bytes seg = boot::acpi::aml::nameString(name);
    for (size_t at = 0; at + 3 + seg.size() <= aml.size(); ++at) {
        if (aml[at] != boot::acpi::aml::kExtOpPrefix || aml[at + 1] != boot::acpi::aml::kDeviceOp)
            continue;
        if (!std::equal(seg.begin(), seg.end(), aml.begin() + static_cast<long>(at + 3)))
            continue;
        const size_t length = aml[at + 2] & 0x3f;
        return {aml.begin() + static_cast<long>(at + 3 + seg.size()),
                aml.begin() + static_cast<long>(at + 2 + length)};
    }
    return {};
}

bool contains(const boot::acpi::aml::Bytes& haystack, const boot::acpi::aml::Bytes& needle) {
    return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
           haystack.end();
}

} // namespace

class PcPlatformTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void rowsDoNotOverlapAndUseIsaIrqsOnce() {
        uint32_t irqsSeen = 0;
        for (size_t i = 0; i < pc::kLegacyDevices.size(); ++i) {
            const pc::LegacyDevice& row = pc::kLegacyDevices[i];
            QVERIFY2(row.portCount > 0, row.name.data());
            QVERIFY2(uint32_t(row.port) + row.portCount <= 0x10000, row.name.data());
            for (size_t j = i + 1; j < pc::kLegacyDevices.size(); ++j) {
                const pc::LegacyDevice& other = pc::kLegacyDevices[j];
                const bool apart = row.port + row.portCount <= other.port ||
                                   other.port + other.portCount <= row.port;
                QVERIFY2(apart, qPrintable(QStringLiteral("%1 and %2 share ports")
                                               .arg(row.name.data(), other.name.data())));
                QVERIFY(row.name != other.name);
            }
            for (uint8_t irq : {row.irq, row.secondIrq}) {
                if (irq == pc::kNoIrq)
                    continue;
                QVERIFY2(irq < pc::kIsaIrqs, row.name.data());
                QVERIFY2(!(irqsSeen & (1u << irq)),
                         qPrintable(QStringLiteral("IRQ %1 twice").arg(irq)));
                irqsSeen |= 1u << irq;
            }
            QCOMPARE(row.acpiHid.empty(), row.acpiName.empty());
        }
        QVERIFY(pc::kKvmIdentityMapAddress > pc::kLocalApicAddress);
        QVERIFY(pc::kKvmTssAddress + pc::kKvmTssSize <= pc::kMmioHoleEnd);
    }

    // The PCI addresses (docs/devices.md, "PCI"): the ECAM window in the hole, aligned to its
    // size, clear of the APICs, KVM's pages and the BIOS at the top; the BAR windows apart from
    // all of them and from each other, and holding the VGA BARs a direct boot starts with; the
    // PIRQ GSIs on the I/O APIC.
    void pciAddressesAvoidEverythingFixed() {
        auto apart = [](uint64_t start, uint64_t end, uint64_t otherStart, uint64_t otherEnd) {
            return end <= otherStart || otherEnd <= start;
        };
        const uint64_t ecamEnd = pc::kPciEcamAddress + pc::kPciEcamSize;
        QVERIFY(pc::kPciEcamAddress >= pc::kMmioHoleStart && ecamEnd <= pc::kIoApicAddress);
        QCOMPARE(pc::kPciEcamAddress % pc::kPciEcamSize, uint64_t(0));
        constexpr uint64_t kBiosRom = 0xfffc'0000;
        for (uint64_t fixed : {pc::kIoApicAddress, pc::kLocalApicAddress,
                               pc::kKvmIdentityMapAddress, pc::kKvmTssAddress, kBiosRom})
            QVERIFY(ecamEnd <= fixed);
        uint64_t previousEnd = pc::kMmioHoleStart;
        for (const pc::AddressWindow& window : pc::kPciMmioWindows) {
            QVERIFY(window.start >= previousEnd && window.start < window.end);
            QVERIFY(apart(window.start, window.end, pc::kPciEcamAddress, ecamEnd));
            QVERIFY(window.end <= pc::kIoApicAddress);
            previousEnd = window.end;
        }
        // BAR0 (the framebuffer) and BAR2 of the VGA function, aligned to their sizes, apart.
        const pc::AddressWindow& first = pc::kPciMmioWindows.front();
        QCOMPARE(pc::kVgaFramebufferInitialAddress % pc::kFramebufferSize, uint64_t(0));
        QVERIFY(pc::kVgaFramebufferInitialAddress >= first.start);
        QVERIFY(pc::kVgaMmioInitialAddress >=
                pc::kVgaFramebufferInitialAddress + pc::kFramebufferSize);
        QVERIFY(pc::kVgaMmioInitialAddress + 4096 <= first.end);
        QCOMPARE(pc::kVgaMmioInitialAddress % 4096, uint64_t(0));
        // The I/O windows leave out the configuration ports 0xCF8-0xCFF, which PCI0 decodes.
        for (const pc::AddressWindow& window : pc::kPciIoWindows)
            QVERIFY(apart(window.start, window.end, pc::kPciConfigAddress.port,
                          pc::kPciConfigData.port + pc::kPciConfigData.portCount));
        QCOMPARE(pc::kPciConfigAddress.port, uint16_t(0xcf8));
        QCOMPARE(pc::kPciConfigData.port, uint16_t(0xcfc));
        QVERIFY(pc::kPciIrqFirstGsi >= pc::kIsaIrqs);
        QVERIFY(pc::kPciIrqFirstGsi + pc::kPciIrqLinks <= pc::kIoApicPins);
        // No legacy row sits on a port the kernel answers first.
        for (const pc::LegacyDevice& row : pc::kLegacyDevices)
            for (const pc::AddressWindow& ports : pc::kKernelIoPorts)
                if (row.name != pc::kI8042.name) // 0x61 inside its range is the PIT's, by design
                    QVERIFY2(apart(row.port, row.port + row.portCount, ports.start, ports.end),
                             row.name.data());
    }

    // Every row with an ACPI id is a Device in \_SB whose _HID and _CRS (ports, IRQs) are the
    // row's.
    void dsdtDeclaresEachRowWithAnAcpiId() {
        namespace aml = boot::acpi::aml;
        const aml::Bytes dsdt = boot::acpi::buildDsdtAml();
        int declared = 0;
        for (const pc::LegacyDevice& row : pc::kLegacyDevices) {
            if (row.acpiHid.empty())
                continue;
            const aml::Bytes body = deviceBody(dsdt, row.acpiName);
            QVERIFY2(!body.empty(), row.name.data());
            QVERIFY(contains(body, aml::name("_HID", aml::eisaId(row.acpiHid))));
            const auto low = static_cast<uint8_t>(row.port);
            const auto high = static_cast<uint8_t>(row.port >> 8);
            // ACPI 6.4, 6.4.2.5: 47 01 min(2) max(2) alignment length.
            QVERIFY2(contains(body, {0x47, 0x01, low, high, low, high, 0x01,
                                     static_cast<uint8_t>(row.portCount)}),
                     row.name.data());
            uint16_t mask = 0;
            for (uint8_t irq : {row.irq, row.secondIrq})
                if (irq != pc::kNoIrq)
                    mask = static_cast<uint16_t>(mask | (1u << irq));
            if (mask != 0) // 6.4.2.1: 22 mask(2)
                QVERIFY2(contains(body, {0x22, static_cast<uint8_t>(mask),
                                         static_cast<uint8_t>(mask >> 8)}),
                         row.name.data());
            ++declared;
        }
        QVERIFY(declared >= 2);
    }

    // The FADT's fixed-hardware registers and the MADT's APIC addresses are the table's.
    void acpiTablesUseThePlatformsPortsAndAddresses() {
        GuestMemory memory(kRam);
        const uint64_t rsdp = boot::writeAcpiTables(memory, boot::AcpiConfig{2});
        const uint64_t fadt = findAcpiTable(memory, rsdp, "FACP");
        QVERIFY(fadt != 0);
        // ACPI 6.4, table 5.9: SCI_INT at 46, PM1a_EVT_BLK 56, PM1a_CNT_BLK 64, RESET_REG 116.
        QCOMPARE(memory.readValue<uint16_t>(fadt + 46), uint16_t(pc::kAcpiPm.irq));
        QCOMPARE(memory.readValue<uint32_t>(fadt + 56), uint32_t(pc::kPm1aEventPort));
        QCOMPARE(memory.readValue<uint32_t>(fadt + 64), uint32_t(pc::kPm1aControlPort));
        QCOMPARE(memory.readValue<uint64_t>(fadt + 120), uint64_t(pc::kResetControl.port));
        QVERIFY(pc::kPm1aControlPort + 2 <= pc::kAcpiPm.port + pc::kAcpiPm.portCount);

        const uint64_t madt = findAcpiTable(memory, rsdp, "APIC");
        QVERIFY(madt != 0);
        QCOMPARE(uint64_t(memory.readValue<uint32_t>(madt + 36)), pc::kLocalApicAddress);
        // 5.2.12.3: the I/O APIC entry (type 1) holds its address at offset 4.
        const auto length = memory.readValue<uint32_t>(madt + 4);
        bool ioApicSeen = false;
        for (uint64_t entry = madt + 44; entry < madt + length;
             entry += memory.readValue<uint8_t>(entry + 1)) {
            if (memory.readValue<uint8_t>(entry) != 1)
                continue;
            QCOMPARE(uint64_t(memory.readValue<uint32_t>(entry + 4)), pc::kIoApicAddress);
            ioApicSeen = true;
        }
        QVERIFY(ioApicSeen);
    }

    // MP spec 1.4, 4.2 and 4.3.3: the header's local APIC address, the I/O APIC entry's address.
    void mpTableUsesThePlatformsApicAddresses() {
        GuestMemory memory(kRam);
        boot::writeMpTable(memory, 2);
        const uint64_t table = boot::layout::kMpConfigTableAddress;
        QCOMPARE(uint64_t(memory.readValue<uint32_t>(table + 36)), pc::kLocalApicAddress);
        const auto entries = memory.readValue<uint16_t>(table + 34);
        uint64_t entry = table + 44;
        bool ioApicSeen = false;
        for (unsigned i = 0; i < entries; ++i) {
            const auto type = memory.readValue<uint8_t>(entry);
            if (type == 2) {
                QCOMPARE(uint64_t(memory.readValue<uint32_t>(entry + 4)), pc::kIoApicAddress);
                ioApicSeen = true;
            }
            entry += type == 0 ? 20 : 8;
        }
        QVERIFY(ioApicSeen);
    }
};

QTEST_GUILESS_MAIN(PcPlatformTest)
#include "PcPlatformTest.moc"
