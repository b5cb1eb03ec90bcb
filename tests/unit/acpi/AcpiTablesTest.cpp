#include "boot/acpi/AcpiTables.h"

#include "boot/acpi/Dsdt.h"

#include <QTest>
#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace kvmscope;
using namespace kvmscope::boot;

namespace {

constexpr uint64_t kRam = 64ull << 20;

// Field offsets are taken from the ACPI 6.4 tables directly rather than from the writer's
// structures, so that a layout mistake there cannot hide here.
constexpr uint64_t kHeaderLength = 36;

uint8_t byteSum(const GuestMemory& memory, uint64_t address, uint64_t length) {
    uint8_t sum = 0;
    for (const uint8_t byte : memory.span(address, length))
        sum = static_cast<uint8_t>(sum + byte);
    return sum;
}

std::string stringAt(const GuestMemory& memory, uint64_t address, uint64_t length) {
    const auto bytes = memory.span(address, length);
    return std::string(bytes.begin(), bytes.end());
}

// What Linux does on a legacy boot (ACPI 6.4, 5.2.5.1): scan 0xe0000-0xfffff on 16-byte
// boundaries for "RSD PTR " whose first 20 bytes sum to 0.
uint64_t findRsdp(const GuestMemory& memory) {
    for (uint64_t address = 0xe0000; address < 0x100000; address += 16)
        if (stringAt(memory, address, 8) == "RSD PTR " && byteSum(memory, address, 20) == 0)
            return address;
    return 0;
}

struct Table {
    uint64_t address = 0;
    std::string signature;
    uint32_t length = 0;
};

Table tableAt(const GuestMemory& memory, uint64_t address) {
    return {address, stringAt(memory, address, 4), memory.readValue<uint32_t>(address + 4)};
}

// The tables an XSDT (entrySize 8) or RSDT (entrySize 4) lists.
std::vector<Table> rootEntries(const GuestMemory& memory, const Table& root, unsigned entrySize) {
    std::vector<Table> tables;
    for (uint64_t entry = root.address + kHeaderLength; entry < root.address + root.length;
         entry += entrySize) {
        const uint64_t address =
            entrySize == 8 ? memory.readValue<uint64_t>(entry) : memory.readValue<uint32_t>(entry);
        tables.push_back(tableAt(memory, address));
    }
    return tables;
}

struct Parsed {
    uint64_t rsdp = 0;
    Table xsdt, rsdt, fadt, madt, mcfg, dsdt;
    uint64_t facs = 0;
};

Parsed parse(const GuestMemory& memory) {
    Parsed parsed;
    parsed.rsdp = findRsdp(memory);
    parsed.rsdt = tableAt(memory, memory.readValue<uint32_t>(parsed.rsdp + 16));
    parsed.xsdt = tableAt(memory, memory.readValue<uint64_t>(parsed.rsdp + 24));
    for (const Table& table : rootEntries(memory, parsed.xsdt, 8)) {
        if (table.signature == "FACP")
            parsed.fadt = table;
        if (table.signature == "APIC")
            parsed.madt = table;
        if (table.signature == "MCFG")
            parsed.mcfg = table;
    }
    if (parsed.fadt.address != 0) {
        parsed.dsdt = tableAt(memory, memory.readValue<uint64_t>(parsed.fadt.address + 140));
        parsed.facs = memory.readValue<uint32_t>(parsed.fadt.address + 36);
    }
    return parsed;
}

struct MadtEntries {
    std::vector<std::pair<uint8_t, uint8_t>> uidAndApicId;
    std::vector<uint32_t> localApicFlags;
    struct IoApic {
        uint8_t id;
        uint32_t address, gsiBase;
    };
    std::vector<IoApic> ioApics;
    struct Override {
        uint8_t bus, source;
        uint32_t gsi;
        uint16_t flags;
    };
    std::vector<Override> overrides;
    struct Nmi {
        uint8_t uid;
        uint16_t flags;
        uint8_t lint;
    };
    std::vector<Nmi> nmis;
    unsigned unknown = 0;
    unsigned wrongLengths = 0; // entries whose length byte is not their type's size
    bool lengthsAddUp = false;
};

// ACPI 6.4, 5.2.12: entries of type, length, ... from offset 44 to the table's end.
MadtEntries parseMadt(const GuestMemory& memory, const Table& madt) {
    MadtEntries entries;
    uint64_t entry = madt.address + 44;
    const uint64_t end = madt.address + madt.length;
    while (entry + 2 <= end) {
        const auto type = memory.readValue<uint8_t>(entry);
        const auto length = memory.readValue<uint8_t>(entry + 1);
        if (length < 2)
            return entries;
        switch (type) {
        case 0:
            entries.uidAndApicId.emplace_back(memory.readValue<uint8_t>(entry + 2),
                                              memory.readValue<uint8_t>(entry + 3));
            entries.localApicFlags.push_back(memory.readValue<uint32_t>(entry + 4));
            entries.wrongLengths += length != 8;
            break;
        case 1:
            entries.ioApics.push_back({memory.readValue<uint8_t>(entry + 2),
                                       memory.readValue<uint32_t>(entry + 4),
                                       memory.readValue<uint32_t>(entry + 8)});
            entries.wrongLengths += length != 12;
            break;
        case 2:
            entries.overrides.push_back(
                {memory.readValue<uint8_t>(entry + 2), memory.readValue<uint8_t>(entry + 3),
                 memory.readValue<uint32_t>(entry + 4), memory.readValue<uint16_t>(entry + 8)});
            entries.wrongLengths += length != 10;
            break;
        case 4:
            entries.nmis.push_back({memory.readValue<uint8_t>(entry + 2),
                                    memory.readValue<uint16_t>(entry + 3),
                                    memory.readValue<uint8_t>(entry + 5)});
            entries.wrongLengths += length != 6;
            break;
        default:
            ++entries.unknown;
        }
        entry += length;
    }
    entries.lengthsAddUp = entry == end;
    return entries;
}

} // namespace

class AcpiTablesTest : public QObject {
    Q_OBJECT

private:
    void cpuCounts() {
        QTest::addColumn<unsigned>("cpus");
        QTest::newRow("1 cpu") << 1u;
        QTest::newRow("4 cpus") << 4u;
        QTest::newRow("255 cpus") << 255u;
    }

private Q_SLOTS:
    void rsdpIsFoundWhereLinuxLooks_data() { cpuCounts(); }
    void rsdpIsFoundWhereLinuxLooks() {
        QFETCH(unsigned, cpus);
        GuestMemory memory(kRam);
        const uint64_t returned = writeAcpiTables(memory, AcpiConfig{cpus});
        QCOMPARE(returned, uint64_t(0xe0000));
        QCOMPARE(findRsdp(memory), uint64_t(0xe0000));
        QCOMPARE(stringAt(memory, returned, 8), std::string("RSD PTR "));
        QCOMPARE(byteSum(memory, returned, 20), uint8_t(0));
        QCOMPARE(memory.readValue<uint8_t>(returned + 15), uint8_t(2));    // revision
        QCOMPARE(memory.readValue<uint32_t>(returned + 20), uint32_t(36)); // length
        QCOMPARE(byteSum(memory, returned, 36), uint8_t(0));               // extended checksum
        QCOMPARE(stringAt(memory, returned + 9, 6), std::string("KVMSCP"));
    }

    void rootTablesListFadtMadtAndMcfg_data() { cpuCounts(); }
    void rootTablesListFadtMadtAndMcfg() {
        QFETCH(unsigned, cpus);
        GuestMemory memory(kRam);
        writeAcpiTables(memory, AcpiConfig{cpus});
        const Parsed parsed = parse(memory);
        QCOMPARE(parsed.xsdt.signature, std::string("XSDT"));
        QCOMPARE(parsed.rsdt.signature, std::string("RSDT"));
        QCOMPARE(parsed.xsdt.length, uint32_t(kHeaderLength + 3 * 8));
        QCOMPARE(parsed.rsdt.length, uint32_t(kHeaderLength + 3 * 4));
        const auto xsdtEntries = rootEntries(memory, parsed.xsdt, 8);
        const auto rsdtEntries = rootEntries(memory, parsed.rsdt, 4);
        QCOMPARE(xsdtEntries.size(), size_t(3));
        QCOMPARE(rsdtEntries.size(), size_t(3));
        for (size_t i = 0; i < xsdtEntries.size(); ++i)
            QCOMPARE(rsdtEntries[i].address, xsdtEntries[i].address);
        QCOMPARE(xsdtEntries[0].signature, std::string("FACP"));
        QCOMPARE(xsdtEntries[1].signature, std::string("APIC"));
        QCOMPARE(xsdtEntries[2].signature, std::string("MCFG"));
    }

    // PCI Firmware Specification 3.0, 4.1.2: the header, 8 reserved bytes, then one 16-byte
    // allocation: base address (8), segment group (2), start bus, end bus, reserved (4).
    void mcfgDescribesTheEcamWindow() {
        GuestMemory memory(kRam);
        writeAcpiTables(memory, AcpiConfig{});
        const Parsed parsed = parse(memory);
        QCOMPARE(parsed.mcfg.signature, std::string("MCFG"));
        QCOMPARE(parsed.mcfg.length, uint32_t(kHeaderLength + 8 + 16));
        QCOMPARE(memory.readValue<uint8_t>(parsed.mcfg.address + 8), uint8_t(1)); // revision
        const uint64_t allocation = parsed.mcfg.address + kHeaderLength + 8;
        QCOMPARE(memory.readValue<uint64_t>(allocation), kvmscope::pc::kPciEcamAddress);
        QCOMPARE(memory.readValue<uint16_t>(allocation + 8), uint16_t(0));
        QCOMPARE(memory.readValue<uint8_t>(allocation + 10), uint8_t(0));
        QCOMPARE(memory.readValue<uint8_t>(allocation + 11),
                 uint8_t(kvmscope::pc::kPciEcamBuses - 1));
        QCOMPARE(memory.readValue<uint32_t>(allocation + 12), uint32_t(0));
        // The window is 1 MiB per bus, as large as PcPlatform.h says, and aligned to its size.
        QCOMPARE(kvmscope::pc::kPciEcamSize, uint64_t(kvmscope::pc::kPciEcamBuses) << 20);
        QCOMPARE(kvmscope::pc::kPciEcamAddress % kvmscope::pc::kPciEcamSize, uint64_t(0));
    }

    void mcfgRefusesAnEcamWindowOfNoBus() {
        GuestMemory memory(kRam);
        AcpiConfig config;
        config.pciEcamBuses = 0;
        QVERIFY_THROWS_EXCEPTION(kvmscope::InputError, writeAcpiTables(memory, config));
        config.pciEcamBuses = 257;
        QVERIFY_THROWS_EXCEPTION(kvmscope::InputError, writeAcpiTables(memory, config));
    }

    void everyTableHasItsLengthChecksumAndIds_data() { cpuCounts(); }
    void everyTableHasItsLengthChecksumAndIds() {
        QFETCH(unsigned, cpus);
        GuestMemory memory(kRam);
        writeAcpiTables(memory, AcpiConfig{cpus});
        const Parsed parsed = parse(memory);
        const std::map<std::string, uint32_t> expectedLengths = {
            {"XSDT", 60},
            {"RSDT", 48},
            {"MCFG", 60},
            {"FACP", 276}, // FADT revision 6 (ACPI 6.4, table 5.9)
            {"APIC", 44 + 8 * cpus + 12 + 10 + 6},
            {"DSDT", uint32_t(kHeaderLength + acpi::buildDsdtAml().size())},
        };
        for (const Table& table :
             {parsed.xsdt, parsed.rsdt, parsed.fadt, parsed.madt, parsed.mcfg, parsed.dsdt}) {
            QVERIFY2(expectedLengths.count(table.signature), table.signature.c_str());
            QCOMPARE(table.length, expectedLengths.at(table.signature));
            QVERIFY(table.address >= 0xe0000 && table.address + table.length <= 0xf0000);
            QCOMPARE(byteSum(memory, table.address, table.length), uint8_t(0));
            QCOMPARE(stringAt(memory, table.address + 10, 6), std::string("KVMSCP"));
            QCOMPARE(stringAt(memory, table.address + 16, 8), std::string("KVMSCOPE"));
            QCOMPARE(stringAt(memory, table.address + 28, 4), std::string("KVMS"));
        }
        // No table overlaps another (nor the RSDP or FACS).
        std::vector<std::pair<uint64_t, uint64_t>> ranges = {{parsed.rsdp, 36}, {parsed.facs, 64}};
        for (const Table& table :
             {parsed.xsdt, parsed.rsdt, parsed.fadt, parsed.madt, parsed.mcfg, parsed.dsdt})
            ranges.emplace_back(table.address, table.length);
        std::sort(ranges.begin(), ranges.end());
        for (size_t i = 1; i < ranges.size(); ++i)
            QVERIFY(ranges[i - 1].first + ranges[i - 1].second <= ranges[i].first);
    }

    void fadtDescribesPowerOffAndReset_data() { cpuCounts(); }
    void fadtDescribesPowerOffAndReset() {
        QFETCH(unsigned, cpus);
        GuestMemory memory(kRam);
        writeAcpiTables(memory, AcpiConfig{cpus});
        const Parsed parsed = parse(memory);
        const uint64_t fadt = parsed.fadt.address;
        QVERIFY(fadt != 0);
        QCOMPARE(memory.readValue<uint8_t>(fadt + 8), uint8_t(6)); // revision
        // DSDT / X_DSDT agree; the FACS has one pointer, FIRMWARE_CTRL (X_FIRMWARE_CTRL zero, so
        // that an OS reading both does not see two FACS).
        QCOMPARE(parsed.dsdt.signature, std::string("DSDT"));
        QCOMPARE(uint64_t(memory.readValue<uint32_t>(fadt + 40)), parsed.dsdt.address);
        QCOMPARE(memory.readValue<uint64_t>(fadt + 132), uint64_t(0));
        QCOMPARE(parsed.facs % 64, uint64_t(0));
        QCOMPARE(stringAt(memory, parsed.facs, 4), std::string("FACS"));
        QCOMPARE(memory.readValue<uint32_t>(parsed.facs + 4), uint32_t(64));
        QVERIFY(parsed.facs >= 0xe0000 && parsed.facs + 64 <= 0xf0000);

        QCOMPARE(memory.readValue<uint16_t>(fadt + 46), uint16_t(9));     // SCI_INT
        QCOMPARE(memory.readValue<uint32_t>(fadt + 48), uint32_t(0));     // SMI_CMD
        QCOMPARE(memory.readValue<uint32_t>(fadt + 56), uint32_t(0x600)); // PM1a_EVT_BLK
        QCOMPARE(memory.readValue<uint32_t>(fadt + 60), uint32_t(0));     // PM1b_EVT_BLK
        QCOMPARE(memory.readValue<uint32_t>(fadt + 64), uint32_t(0x604)); // PM1a_CNT_BLK
        QCOMPARE(memory.readValue<uint32_t>(fadt + 76), uint32_t(0));     // PM_TMR_BLK
        QCOMPARE(memory.readValue<uint8_t>(fadt + 88), uint8_t(4));       // PM1_EVT_LEN
        QCOMPARE(memory.readValue<uint8_t>(fadt + 89), uint8_t(2));       // PM1_CNT_LEN
        QCOMPARE(memory.readValue<uint8_t>(fadt + 91), uint8_t(0));       // PM_TMR_LEN
        QCOMPARE(memory.readValue<uint16_t>(fadt + 109), uint16_t(0x3));  // LEGACY_DEVICES|8042

        const auto flags = memory.readValue<uint32_t>(fadt + 112);
        QVERIFY(flags & (1u << 10));    // RESET_REG_SUP
        QVERIFY(!(flags & (1u << 20))); // HW_REDUCED_ACPI
        QVERIFY(!(flags & (1u << 8)));  // TMR_VAL_EXT: there is no PM timer

        // RESET_REG: System I/O, 8 bits wide at bit 0, byte access, port 0xcf9; RESET_VALUE 6.
        QCOMPARE(memory.readValue<uint8_t>(fadt + 116), uint8_t(1));
        QCOMPARE(memory.readValue<uint8_t>(fadt + 117), uint8_t(8));
        QCOMPARE(memory.readValue<uint8_t>(fadt + 118), uint8_t(0));
        QCOMPARE(memory.readValue<uint8_t>(fadt + 119), uint8_t(1));
        QCOMPARE(memory.readValue<uint64_t>(fadt + 120), uint64_t(0xcf9));
        QCOMPARE(memory.readValue<uint8_t>(fadt + 128), uint8_t(0x06));

        // X_PM1a_EVT_BLK (offset 148) and X_PM1a_CNT_BLK (172): System I/O, 32 and 16 bits.
        QCOMPARE(memory.readValue<uint8_t>(fadt + 148), uint8_t(1));
        QCOMPARE(memory.readValue<uint8_t>(fadt + 149), uint8_t(32));
        QCOMPARE(memory.readValue<uint64_t>(fadt + 152), uint64_t(0x600));
        QCOMPARE(memory.readValue<uint8_t>(fadt + 172), uint8_t(1));
        QCOMPARE(memory.readValue<uint8_t>(fadt + 173), uint8_t(16));
        QCOMPARE(memory.readValue<uint64_t>(fadt + 176), uint64_t(0x604));
        // X_PM_TMR_BLK (208): absent.
        QCOMPARE(byteSum(memory, fadt + 208, 12), uint8_t(0));
        QCOMPARE(memory.readValue<uint64_t>(fadt + 212), uint64_t(0));
    }

    void madtListsEveryCpuAndTheIoApic_data() { cpuCounts(); }
    void madtListsEveryCpuAndTheIoApic() {
        QFETCH(unsigned, cpus);
        GuestMemory memory(kRam);
        writeAcpiTables(memory, AcpiConfig{cpus});
        const Parsed parsed = parse(memory);
        const uint64_t madt = parsed.madt.address;
        QVERIFY(madt != 0);
        QCOMPARE(memory.readValue<uint32_t>(madt + 36), uint32_t(0xfee00000));
        QCOMPARE(memory.readValue<uint32_t>(madt + 40) & 1u, uint32_t(1)); // PCAT_COMPAT

        const MadtEntries entries = parseMadt(memory, parsed.madt);
        QVERIFY(entries.lengthsAddUp);
        QCOMPARE(entries.unknown, 0u);
        QCOMPARE(entries.wrongLengths, 0u);
        QCOMPARE(entries.uidAndApicId.size(), size_t(cpus));
        for (unsigned cpu = 0; cpu < cpus; ++cpu) {
            QCOMPARE(entries.uidAndApicId[cpu].first, uint8_t(cpu));
            QCOMPARE(entries.uidAndApicId[cpu].second, uint8_t(cpu));
            QCOMPARE(entries.localApicFlags[cpu] & 1u, uint32_t(1)); // enabled
        }
        QCOMPARE(entries.ioApics.size(), size_t(1));
        QCOMPARE(entries.ioApics[0].id, uint8_t(cpus));
        QCOMPARE(entries.ioApics[0].address, uint32_t(0xfec00000));
        QCOMPARE(entries.ioApics[0].gsiBase, uint32_t(0));

        // Only the SCI's override: ISA IRQ 9 on GSI 9, active high (01), level (11 << 2). No
        // IRQ 0 -> GSI 2 override: KVM routes the PIT to pin 0.
        QCOMPARE(entries.overrides.size(), size_t(1));
        QCOMPARE(entries.overrides[0].bus, uint8_t(0));
        QCOMPARE(entries.overrides[0].source, uint8_t(9));
        QCOMPARE(entries.overrides[0].gsi, uint32_t(9));
        QCOMPARE(entries.overrides[0].flags, uint16_t(0x000d));

        QCOMPARE(entries.nmis.size(), size_t(1));
        QCOMPARE(entries.nmis[0].uid, uint8_t(0xff));
        QCOMPARE(entries.nmis[0].lint, uint8_t(1));
    }

    void dsdtDeclaresSoftOff_data() { cpuCounts(); }
    void dsdtDeclaresSoftOff() {
        QFETCH(unsigned, cpus);
        GuestMemory memory(kRam);
        writeAcpiTables(memory, AcpiConfig{cpus});
        const Parsed parsed = parse(memory);
        QCOMPARE(memory.readValue<uint8_t>(parsed.dsdt.address + 8), uint8_t(2)); // revision
        const auto body =
            memory.span(parsed.dsdt.address + kHeaderLength, parsed.dsdt.length - kHeaderLength);
        // Name (_S5, Package () { 0, 0, 0, 0 }), ACPI 6.4 20.2.5.1 and 20.2.5.4.
        const uint8_t s5[] = {0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12,
                              0x06, 0x04, 0x00, 0x00, 0x00, 0x00};
        QVERIFY(std::search(body.begin(), body.end(), std::begin(s5), std::end(s5)) != body.end());
    }

    void configurationReachesTheTables() {
        GuestMemory memory(kRam);
        AcpiConfig config{2};
        config.pm1aEventPort = 0xb000;
        config.pm1aControlPort = 0xb004;
        config.sciIrq = 10;
        config.resetPort = 0x92;
        config.resetValue = 0x01;
        writeAcpiTables(memory, config);
        const Parsed parsed = parse(memory);
        const uint64_t fadt = parsed.fadt.address;
        QCOMPARE(memory.readValue<uint32_t>(fadt + 56), uint32_t(0xb000));
        QCOMPARE(memory.readValue<uint64_t>(fadt + 152), uint64_t(0xb000));
        QCOMPARE(memory.readValue<uint32_t>(fadt + 64), uint32_t(0xb004));
        QCOMPARE(memory.readValue<uint64_t>(fadt + 176), uint64_t(0xb004));
        QCOMPARE(memory.readValue<uint16_t>(fadt + 46), uint16_t(10));
        QCOMPARE(memory.readValue<uint64_t>(fadt + 120), uint64_t(0x92));
        QCOMPARE(memory.readValue<uint8_t>(fadt + 128), uint8_t(0x01));
        const MadtEntries entries = parseMadt(memory, parsed.madt);
        QCOMPARE(entries.overrides.size(), size_t(1));
        QCOMPARE(entries.overrides[0].source, uint8_t(10));
        QCOMPARE(entries.overrides[0].gsi, uint32_t(10));
        QCOMPARE(byteSum(memory, fadt, parsed.fadt.length), uint8_t(0));
    }

    void rejectsWhatCannotBeDescribed() {
        GuestMemory memory(kRam);
        QVERIFY_THROWS_EXCEPTION(InputError, writeAcpiTables(memory, AcpiConfig{0}));
        QVERIFY_THROWS_EXCEPTION(InputError, writeAcpiTables(memory, AcpiConfig{256}));
        AcpiConfig badSci{1};
        badSci.sciIrq = 16;
        QVERIFY_THROWS_EXCEPTION(InputError, writeAcpiTables(memory, badSci));
        // Nothing was written by the failed calls.
        QCOMPARE(findRsdp(memory), uint64_t(0));
    }
};

QTEST_APPLESS_MAIN(AcpiTablesTest)
#include "AcpiTablesTest.moc"
