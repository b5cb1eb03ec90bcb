// boot::writeAcpiTables (boot/acpi/AcpiTables.h) on random configurations, then a walk of what it
// wrote the way an OS finds it (ACPI 6.4, 5.2.5.3 RSDP -> 5.2.7/5.2.8 RSDT/XSDT -> FADT -> FACS,
// DSDT; MADT), checking each structure: signature, length, checksum, placement inside the ACPI
// area, no two tables overlapping, and the values the configuration asked for.
//
// Input: cpus (16 bits), PM1a event and control ports, SCI IRQ, reset port, reset value, RAM size.
#include "FuzzSupport.h"
#include "boot/acpi/AcpiStructures.h"
#include "boot/acpi/AcpiTables.h"
#include "machine/GuestMemory.h"

#include <map>
#include <vector>

namespace {

using namespace kvmscope;
using namespace kvmscope::boot;
using fuzz::check;

struct Extent {
    uint64_t start;
    uint64_t length;
};

class AcpiWalker {
public:
    AcpiWalker(const GuestMemory& memory) : memory_(memory) {}

    uint8_t sum(uint64_t address, uint64_t length) const {
        uint8_t total = 0;
        for (const uint8_t byte : memory_.span(address, length))
            total = static_cast<uint8_t>(total + byte);
        return total;
    }

    // Marks [address, address + length) as taken; fails if it leaves the ACPI area or overlaps a
    // structure already seen.
    void claim(uint64_t address, uint64_t length, const char* what) {
        check(address >= kAcpiAreaStart && length <= kAcpiAreaEnd - address &&
                  length <= kAcpiAreaEnd - kAcpiAreaStart,
              what);
        for (const auto& [start, extent] : claimed_)
            check(address + length <= start || extent.start + extent.length <= address,
                  "two ACPI structures overlap");
        claimed_[address] = {address, length};
    }

    // A table with the standard header (5.2.6): returns its header after checking it.
    acpi::TableHeader table(uint64_t address, const char* signature) {
        check(address >= kAcpiAreaStart && address + sizeof(acpi::TableHeader) <= kAcpiAreaEnd,
              "a table pointer is outside the ACPI area");
        const auto header = memory_.readValue<acpi::TableHeader>(address);
        check(std::memcmp(header.signature, signature, 4) == 0, "a table has the wrong signature");
        check(header.length >= sizeof header, "a table is shorter than its header");
        claim(address, header.length, "a table does not lie inside the ACPI area");
        check(sum(address, header.length) == 0, "a table's checksum does not make it sum to 0");
        return header;
    }

private:
    const GuestMemory& memory_;
    std::map<uint64_t, Extent> claimed_;
};

void checkTables(const GuestMemory& memory, const AcpiConfig& config, uint64_t rsdpAddress) {
    AcpiWalker walker(memory);
    check(rsdpAddress == kAcpiAreaStart, "the RSDP is not at the start of the ACPI area");
    check(rsdpAddress % 16 == 0, "the RSDP is not on a 16-byte boundary (5.2.5.1)");
    const auto rsdp = memory.readValue<acpi::Rsdp>(rsdpAddress);
    check(std::memcmp(rsdp.signature, "RSD PTR ", 8) == 0, "the RSDP signature is wrong");
    check(rsdp.revision == 2, "the RSDP revision is not 2");
    check(rsdp.length == sizeof rsdp, "the RSDP length is not 36");
    check(walker.sum(rsdpAddress, 20) == 0, "the RSDP's ACPI 1.0 checksum is wrong");
    check(walker.sum(rsdpAddress, sizeof rsdp) == 0, "the RSDP's extended checksum is wrong");
    walker.claim(rsdpAddress, sizeof rsdp, "the RSDP is outside the ACPI area");

    // RSDT (32-bit entries) and XSDT (64-bit entries) must list the same tables.
    const auto rsdt = walker.table(rsdp.rsdtAddress, "RSDT");
    const auto xsdt = walker.table(rsdp.xsdtAddress, "XSDT");
    check((rsdt.length - sizeof rsdt) % 4 == 0, "the RSDT's entries are not 32-bit");
    check((xsdt.length - sizeof xsdt) % 8 == 0, "the XSDT's entries are not 64-bit");
    const uint64_t count = (rsdt.length - sizeof rsdt) / 4;
    check(count == (xsdt.length - sizeof xsdt) / 8, "the RSDT and XSDT differ in length");
    std::map<std::string, uint64_t> tables;
    for (uint64_t i = 0; i < count; ++i) {
        const auto entry = memory.readValue<uint32_t>(rsdp.rsdtAddress + sizeof rsdt + 4 * i);
        const auto extended = memory.readValue<uint64_t>(rsdp.xsdtAddress + sizeof xsdt + 8 * i);
        check(entry == extended, "the RSDT and XSDT point at different tables");
        check(entry >= kAcpiAreaStart && entry + sizeof(acpi::TableHeader) <= kAcpiAreaEnd,
              "an RSDT entry is outside the ACPI area");
        const auto header = memory.readValue<acpi::TableHeader>(entry);
        const std::string signature(header.signature, 4);
        check(tables.emplace(signature, entry).second, "a table is listed twice");
        walker.table(entry, signature.c_str());
    }
    check(tables.count("FACP") == 1 && tables.count("APIC") == 1,
          "the FADT or the MADT is missing from the RSDT");

    // FADT (5.2.9): DSDT, FACS and the fixed-hardware registers the configuration names.
    const auto fadt = memory.readValue<acpi::Fadt>(tables["FACP"]);
    check(fadt.header.length >= sizeof fadt, "the FADT is shorter than revision 6");
    check(fadt.xDsdt == 0 || fadt.xDsdt == fadt.dsdt, "the FADT's DSDT and X_DSDT differ");
    walker.table(fadt.dsdt, "DSDT");
    check(fadt.xFirmwareControl == 0 || fadt.xFirmwareControl == fadt.firmwareControl,
          "the FADT's FIRMWARE_CTRL and X_FIRMWARE_CTRL differ");
    const auto facs = memory.readValue<acpi::Facs>(fadt.firmwareControl);
    check(std::memcmp(facs.signature, "FACS", 4) == 0, "the FACS signature is wrong");
    check(facs.length == sizeof facs, "the FACS length is not 64");
    check(fadt.firmwareControl % acpi::kFacsAlignment == 0, "the FACS is not 64-byte aligned");
    walker.claim(fadt.firmwareControl, facs.length, "the FACS is outside the ACPI area");
    check(fadt.sciInterrupt == config.sciIrq, "the FADT's SCI_INT is not the configured IRQ");
    check(fadt.pm1aEventBlock == config.pm1aEventPort, "PM1a_EVT_BLK is not the configured port");
    check(fadt.pm1aControlBlock == config.pm1aControlPort,
          "PM1a_CNT_BLK is not the configured port");
    check(fadt.resetRegister.address == config.resetPort && fadt.resetValue == config.resetValue,
          "the FADT's reset register is not the configured one");

    // MADT (5.2.12): structures that tile the table exactly, one enabled local APIC per cpu with
    // APIC id = ACPI uid = index, one I/O APIC.
    const uint64_t madt = tables["APIC"];
    const auto madtHeader = memory.readValue<acpi::MadtHeader>(madt);
    uint64_t offset = sizeof madtHeader;
    std::vector<bool> seen(config.cpus, false);
    unsigned localApics = 0, ioApics = 0;
    while (offset < madtHeader.header.length) {
        check(madtHeader.header.length - offset >= 2, "a MADT structure header is cut off");
        const auto type = memory.readValue<uint8_t>(madt + offset);
        const auto length = memory.readValue<uint8_t>(madt + offset + 1);
        check(length >= 2 && length <= madtHeader.header.length - offset,
              "a MADT structure's length runs past the table");
        if (type == acpi::kMadtLocalApic) {
            check(length == sizeof(acpi::MadtLocalApic), "a local APIC structure is not 8 bytes");
            const auto apic = memory.readValue<acpi::MadtLocalApic>(madt + offset);
            check(apic.apicId == apic.processorUid && apic.apicId < config.cpus &&
                      !seen[apic.apicId],
                  "local APIC ids are not 0 to cpus - 1, each once");
            check(apic.flags & acpi::kLocalApicEnabled, "a local APIC is not enabled");
            seen[apic.apicId] = true;
            ++localApics;
        } else if (type == acpi::kMadtIoApic) {
            check(length == sizeof(acpi::MadtIoApic), "an I/O APIC structure is not 12 bytes");
            ++ioApics;
        }
        offset += length;
    }
    check(localApics == config.cpus, "the MADT does not list one local APIC per cpu");
    check(ioApics == 1, "the MADT does not list exactly one I/O APIC");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::InputReader input(data, size);
    AcpiConfig config;
    config.cpus = input.read<uint16_t>();
    config.pm1aEventPort = input.read<uint16_t>();
    config.pm1aControlPort = input.read<uint16_t>();
    config.sciIrq = input.read<uint8_t>();
    config.resetPort = input.read<uint16_t>();
    config.resetValue = input.read<uint8_t>();
    // 1 MiB (just enough for the ACPI area) to 256 MiB.
    const uint64_t ramSize = (uint64_t{input.read<uint8_t>()} + 1) << 20;
    const bool valid = config.cpus >= 1 && config.cpus <= kMaxAcpiCpus && config.sciIrq < 16;

    GuestMemory memory(ramSize);
    uint64_t rsdp = 0;
    try {
        rsdp = writeAcpiTables(memory, config);
    } catch (const InputError& error) {
        if (valid)
            fuzz::fail(std::string("writeAcpiTables refused a valid configuration: ") +
                       error.what());
        return 0;
    } catch (const std::exception& error) {
        fuzz::failOnException("writeAcpiTables", error);
    }
    check(valid, "writeAcpiTables accepted a configuration it documents as invalid");
    checkTables(memory, config, rsdp);
    return 0;
}
