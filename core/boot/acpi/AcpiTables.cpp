#include "boot/acpi/AcpiTables.h"

#include "boot/FirmwareChecksum.h"
#include "boot/acpi/AcpiStructures.h"
#include "boot/acpi/Dsdt.h"
#include "log/Log.h"

#include <cstddef>
#include <cstring>
#include <fmt/format.h>
#include <span>
#include <vector>

namespace kvmscope::boot {
namespace {

using namespace acpi;
using Bytes = std::vector<uint8_t>;

// 5.2.6: the identification fields every table (and the RSDP) carries.
constexpr char kOemId[] = "KVMSCP";        // 6 characters
constexpr char kOemTableId[] = "KVMSCOPE"; // 8
constexpr char kCreatorId[] = "KVMS";      // 4
constexpr uint32_t kOemRevision = 1;
constexpr uint32_t kCreatorRevision = 1;

// Table revisions of ACPI 6.4: RSDT/XSDT 1 (5.2.7, 5.2.8), FADT 6 minor 4 (5.2.9), MADT 5
// (5.2.12), DSDT 2 so that AML integers are 64 bits wide (5.2.11.1), FACS 2 (5.2.10).
constexpr uint8_t kRsdpRevision = 2;
constexpr uint8_t kSdtRevision = 1;
constexpr uint8_t kFadtRevision = 6;
constexpr uint8_t kFadtMinorVersion = 4;
constexpr uint8_t kMadtRevision = 5;
constexpr uint8_t kDsdtRevision = 2;
constexpr uint8_t kFacsVersion = 2;
constexpr uint8_t kMcfgRevision = 1; // PCI Firmware Specification 3.0, table 4-2

// The interrupt controllers KVM's in-kernel irqchip puts at their PC addresses.
constexpr auto kLocalApicAddress = static_cast<uint32_t>(pc::kLocalApicAddress);
constexpr auto kIoApicAddress = static_cast<uint32_t>(pc::kIoApicAddress);
using pc::kIsaIrqs;

// Table 5.9: latencies above 100 (C2) and 1000 (C3) microseconds say the state is unsupported.
constexpr uint16_t kC2NotSupported = 101;
constexpr uint16_t kC3NotSupported = 1001;
// The CMOS RTC's century register (devices/CmosRtc.h, kCentury).
constexpr uint8_t kCmosCenturyIndex = 0x32;
// PM1 register block sizes (4.8.3.1, 4.8.3.2): two 16-bit event registers, one control register.
constexpr uint8_t kPm1EventLength = 4;
constexpr uint8_t kPm1ControlLength = 2;

constexpr uint64_t kTableAlignment = 16;

template <typename T> std::span<const uint8_t> bytesOf(const T& value) {
    return {reinterpret_cast<const uint8_t*>(&value), sizeof value};
}

template <typename T> void append(Bytes& table, const T& value) {
    const auto bytes = bytesOf(value);
    table.insert(table.end(), bytes.begin(), bytes.end());
}

TableHeader headerFor(const char (&signature)[5], uint8_t revision) {
    TableHeader header{};
    std::memcpy(header.signature, signature, 4);
    header.revision = revision;
    std::memcpy(header.oemId, kOemId, sizeof header.oemId);
    std::memcpy(header.oemTableId, kOemTableId, sizeof header.oemTableId);
    header.oemRevision = kOemRevision;
    std::memcpy(header.creatorId, kCreatorId, sizeof header.creatorId);
    header.creatorRevision = kCreatorRevision;
    return header;
}

// Fills in the header's length and checksum once the table's bytes are complete (5.2.6).
void seal(Bytes& table) {
    const auto length = static_cast<uint32_t>(table.size());
    std::memcpy(table.data() + offsetof(TableHeader, length), &length, sizeof length);
    table[offsetof(TableHeader, checksum)] = 0;
    table[offsetof(TableHeader, checksum)] = zeroSumChecksum(table);
}

GenericAddress systemIo(uint64_t port, uint8_t bitWidth, uint8_t accessSize) {
    return GenericAddress{kAddressSpaceSystemIo, bitWidth, 0, accessSize, port};
}

// 5.2.12: one Processor Local APIC per cpu, the I/O APIC, the SCI's override and LINT1 = NMI.
Bytes buildMadt(const AcpiConfig& config) {
    Bytes table;
    MadtHeader header{};
    header.header = headerFor("APIC", kMadtRevision);
    header.localApicAddress = kLocalApicAddress;
    header.flags = kMadtPcatCompat; // the in-kernel irqchip has the 8259 pair as well
    append(table, header);
    // 5.2.12.2: the OS numbers processors by these entries' order; cpu 0 (the BSP) comes first.
    for (unsigned cpu = 0; cpu < config.cpus; ++cpu) {
        const auto id = static_cast<uint8_t>(cpu);
        append(table,
               MadtLocalApic{kMadtLocalApic, sizeof(MadtLocalApic), id, id, kLocalApicEnabled});
    }
    // The I/O APIC takes the id after the last cpu, as in the MP table (boot/MpTable.h).
    append(table, MadtIoApic{kMadtIoApic, sizeof(MadtIoApic), static_cast<uint8_t>(config.cpus), 0,
                             kIoApicAddress, 0});
    // 5.2.12.5: without an override an ISA IRQ is edge-triggered, active high, on GSI = IRQ.
    // KVM's default routing connects ISA IRQ n to I/O APIC pin n, IRQ 0 (the PIT) included, so
    // the usual IRQ 0 -> GSI 2 override of PC firmware would be wrong here. The SCI is the one
    // exception to the ISA defaults: it is level-triggered, active high (5.2.9, SCI_INT).
    append(table, MadtInterruptOverride{kMadtInterruptSourceOverride, sizeof(MadtInterruptOverride),
                                        0, config.sciIrq, config.sciIrq,
                                        kIntiPolarityActiveHigh | kIntiTriggerLevel});
    // 5.2.12.7: NMI arrives on LINT1 of every local APIC (MP table "virtual wire" wiring).
    append(table, MadtLocalApicNmi{kMadtLocalApicNmi, sizeof(MadtLocalApicNmi), kAllProcessors,
                                   kIntiConforming, 1});
    seal(table);
    return table;
}

// PCI Firmware Specification 3.0, 4.1.2: one ECAM window, segment group 0, from bus 0.
Bytes buildMcfg(const AcpiConfig& config) {
    Bytes table;
    McfgHeader header{};
    header.header = headerFor("MCFG", kMcfgRevision);
    append(table, header);
    append(table, McfgAllocation{config.pciEcamAddress, 0, 0,
                                 static_cast<uint8_t>(config.pciEcamBuses - 1), 0});
    seal(table);
    return table;
}

// 5.2.11.1: the header, then the definition block.
Bytes buildDsdt() {
    Bytes table;
    append(table, headerFor("DSDT", kDsdtRevision));
    const Bytes aml = buildDsdtAml();
    table.insert(table.end(), aml.begin(), aml.end());
    seal(table);
    return table;
}

// 5.2.9. Fields not set here are zero: no PM1b, PM2, GPE blocks, no SMI command port.
Bytes buildFadt(const AcpiConfig& config, uint64_t facs, uint64_t dsdt) {
    Fadt fadt{};
    fadt.header = headerFor("FACP", kFadtRevision);
    fadt.minorVersion = kFadtMinorVersion;
    // One FACS pointer, not both: the tables sit below 1 MiB, and an OS that reads both fields
    // treats them as two FACS (Linux installs and lists the same table twice). 5.2.9 lets the
    // OS ignore X_FIRMWARE_CTRL when FIRMWARE_CTRL holds a usable address.
    fadt.firmwareControl = static_cast<uint32_t>(facs);
    fadt.xFirmwareControl = 0;
    fadt.dsdt = static_cast<uint32_t>(dsdt);
    fadt.xDsdt = dsdt;
    fadt.sciInterrupt = config.sciIrq;
    // SMI_CMD = 0: the machine is in ACPI mode from reset (AcpiPmControl's SCI_EN reads as 1),
    // so the OS never has to ask firmware to switch (4.8.2.1 "Legacy/ACPI Select").
    fadt.smiCommand = 0;
    fadt.pm1aEventBlock = config.pm1aEventPort;
    fadt.pm1EventLength = kPm1EventLength;
    fadt.xPm1aEventBlock = systemIo(config.pm1aEventPort, kPm1EventLength * 8, kAccessWord);
    fadt.pm1aControlBlock = config.pm1aControlPort;
    fadt.pm1ControlLength = kPm1ControlLength;
    fadt.xPm1aControlBlock = systemIo(config.pm1aControlPort, kPm1ControlLength * 8, kAccessWord);
    // No ACPI PM timer: PM_TMR_BLK, PM_TMR_LEN and X_PM_TMR_BLK stay 0 and TMR_VAL_EXT is clear;
    // an OS then simply has no acpi_pm clock source (nothing at 0x608 would answer).
    fadt.pmTimerBlock = 0;
    fadt.pmTimerLength = 0;
    fadt.c2Latency = kC2NotSupported;
    fadt.c3Latency = kC3NotSupported;
    fadt.century = kCmosCenturyIndex;
    // Table 5.11: ISA devices (COM1, the CMOS RTC, the PIT) exist, and an 8042 may be probed.
    fadt.iapcBootArch = kBootArchLegacyDevices | kBootArch8042;
    // Table 5.10: WBINVD works (required since ACPI 2.0), HLT is C1 on every cpu, there are no
    // fixed-feature power or sleep buttons, and the reset register below is supported.
    // HW_REDUCED_ACPI stays clear: the PM1a fixed hardware exists.
    fadt.flags = kFadtWbinvd | kFadtProcC1 | kFadtPowerButton | kFadtSleepButton | kFadtResetRegSup;
    // 4.8.3.6 "Reset Register": an 8-bit System I/O register, written with RESET_VALUE.
    fadt.resetRegister = systemIo(config.resetPort, 8, kAccessByte);
    fadt.resetValue = config.resetValue;

    Bytes table;
    append(table, fadt);
    seal(table);
    return table;
}

// 5.2.10: no global lock, no S4BIOS, no waking vector (kvmscope does not implement sleep states
// other than soft-off), so everything but the signature, length and version is 0.
Facs buildFacs() {
    Facs facs{};
    std::memcpy(facs.signature, "FACS", 4);
    facs.length = sizeof facs;
    facs.version = kFacsVersion;
    return facs;
}

// 5.2.7 RSDT (32-bit entries) and 5.2.8 XSDT (64-bit entries): both list the FADT, the MADT and
// the MCFG.
// The DSDT and FACS are found through the FADT.
template <typename Entry>
Bytes buildRootTable(const char (&signature)[5], std::span<const uint64_t> tables) {
    Bytes table;
    append(table, headerFor(signature, kSdtRevision));
    for (const uint64_t address : tables)
        append(table, static_cast<Entry>(address));
    seal(table);
    return table;
}

// 5.2.5.3.
Rsdp buildRsdp(uint64_t rsdt, uint64_t xsdt) {
    Rsdp rsdp{};
    std::memcpy(rsdp.signature, "RSD PTR ", 8);
    std::memcpy(rsdp.oemId, kOemId, sizeof rsdp.oemId);
    rsdp.revision = kRsdpRevision;
    rsdp.rsdtAddress = static_cast<uint32_t>(rsdt);
    rsdp.length = sizeof rsdp;
    rsdp.xsdtAddress = xsdt;
    rsdp.checksum = zeroSumChecksum(bytesOf(rsdp).first(kRsdpV1Length));
    rsdp.extendedChecksum = zeroSumChecksum(bytesOf(rsdp));
    return rsdp;
}

// Hands out addresses in [kAcpiAreaStart, kAcpiAreaEnd) in order.
class AreaAllocator {
public:
    uint64_t place(uint64_t size, uint64_t alignment, const char* what) {
        const uint64_t address = (next_ + alignment - 1) / alignment * alignment;
        if (address + size > kAcpiAreaEnd)
            throw InputError(fmt::format("the ACPI {} ({} bytes) does not fit below {:#x}: the "
                                         "tables are limited to {:#x}-{:#x}",
                                         what, size, kAcpiAreaEnd, kAcpiAreaStart,
                                         kAcpiAreaEnd - 1));
        next_ = address + size;
        return address;
    }

private:
    uint64_t next_ = kAcpiAreaStart;
};

// The RSDP and the two root tables it points at come first, at addresses that do not depend on
// the configuration: acpiRootPointer() works them out without writing anything.
struct RootTables {
    uint64_t rsdp = 0, xsdt = 0, rsdt = 0;
};
constexpr size_t kRootEntries = 3; // FADT, MADT, MCFG

RootTables placeRootTables(AreaAllocator& area) {
    const uint64_t xsdtSize = sizeof(TableHeader) + kRootEntries * sizeof(uint64_t);
    const uint64_t rsdtSize = sizeof(TableHeader) + kRootEntries * sizeof(uint32_t);
    RootTables root;
    root.rsdp = area.place(sizeof(Rsdp), kTableAlignment, "RSDP");
    root.xsdt = area.place(xsdtSize, kTableAlignment, "XSDT");
    root.rsdt = area.place(rsdtSize, kTableAlignment, "RSDT");
    return root;
}

void validate(const AcpiConfig& config) {
    if (config.cpus == 0 || config.cpus > kMaxAcpiCpus)
        throw InputError(fmt::format("{} cpus cannot be described by the ACPI MADT: 1 to {} "
                                     "(local APIC ids are 8-bit and the I/O APIC takes the next "
                                     "id)",
                                     config.cpus, kMaxAcpiCpus));
    if (config.sciIrq >= kIsaIrqs)
        throw InputError(fmt::format("ACPI SCI_INT {} is not an ISA IRQ (0 to {})", config.sciIrq,
                                     kIsaIrqs - 1));
    if (config.pciEcamBuses == 0 || config.pciEcamBuses > 256)
        throw InputError(
            fmt::format("an ECAM window of {} PCI buses: 1 to 256", config.pciEcamBuses));
}

} // namespace

uint64_t writeAcpiTables(GuestMemory& memory, const AcpiConfig& config) {
    validate(config);

    // Tables without pointers first, so that every size is known before anything is placed.
    const Bytes madt = buildMadt(config);
    const Bytes mcfg = buildMcfg(config);
    const Bytes dsdt = buildDsdt();

    AreaAllocator area;
    const RootTables root = placeRootTables(area);
    const uint64_t rsdpAddress = root.rsdp, xsdtAddress = root.xsdt, rsdtAddress = root.rsdt;
    const uint64_t fadtAddress = area.place(sizeof(Fadt), kTableAlignment, "FADT");
    const uint64_t facsAddress = area.place(sizeof(Facs), kFacsAlignment, "FACS");
    const uint64_t madtAddress = area.place(madt.size(), kTableAlignment, "MADT");
    const uint64_t mcfgAddress = area.place(mcfg.size(), kTableAlignment, "MCFG");
    const uint64_t dsdtAddress = area.place(dsdt.size(), kTableAlignment, "DSDT");

    const uint64_t rootEntries[kRootEntries] = {fadtAddress, madtAddress, mcfgAddress};
    const Bytes xsdt = buildRootTable<uint64_t>("XSDT", rootEntries);
    const Bytes rsdt = buildRootTable<uint32_t>("RSDT", rootEntries);
    const Bytes fadt = buildFadt(config, facsAddress, dsdtAddress);

    memory.writeValue(rsdpAddress, buildRsdp(rsdtAddress, xsdtAddress));
    memory.write(xsdtAddress, xsdt.data(), xsdt.size());
    memory.write(rsdtAddress, rsdt.data(), rsdt.size());
    memory.write(fadtAddress, fadt.data(), fadt.size());
    memory.writeValue(facsAddress, buildFacs());
    memory.write(madtAddress, madt.data(), madt.size());
    memory.write(mcfgAddress, mcfg.data(), mcfg.size());
    memory.write(dsdtAddress, dsdt.data(), dsdt.size());

    log::get("boot")->info("ACPI tables at {:#x}-{:#x}: RSDP {:#x}, {} cpus, SCI IRQ {}",
                           kAcpiAreaStart, dsdtAddress + dsdt.size(), rsdpAddress, config.cpus,
                           config.sciIrq);
    return rsdpAddress;
}

acpi::Rsdp acpiRootPointer() {
    AreaAllocator area;
    const RootTables root = placeRootTables(area);
    return buildRsdp(root.rsdt, root.xsdt);
}

} // namespace kvmscope::boot
