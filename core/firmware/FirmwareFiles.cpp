#include "firmware/FirmwareFiles.h"

#include "common/Error.h"
#include "firmware/TableLoader.h"
#include "machine/GuestMemory.h"
#include "machine/PcPlatform.h"

#include <cstring>
#include <fmt/format.h>

namespace kvmscope::firmware {
namespace {

template <typename T> std::vector<uint8_t> littleEndian(T value) {
    std::vector<uint8_t> bytes(sizeof(T));
    for (size_t index = 0; index < sizeof(T); ++index)
        bytes[index] = static_cast<uint8_t>(uint64_t(value) >> (8 * index));
    return bytes;
}

void appendE820(std::vector<uint8_t>& file, uint64_t address, uint64_t length, uint32_t type) {
    for (const auto& part : {littleEndian(address), littleEndian(length), littleEndian(type)})
        file.insert(file.end(), part.begin(), part.end());
}

// SMBIOS 3.0 (DSP0134 5.2.2): the 64-bit entry point's fields.
constexpr size_t kEntryPointLength = 0x18;
constexpr size_t kEntryPointChecksum = 0x05;
constexpr size_t kEntryPointMaxSize = 0x0c; // 4 bytes
constexpr size_t kEntryPointAddress = 0x10; // 8 bytes
constexpr uint32_t kMaxStructureTable = 0x10000;
constexpr uint8_t kTypeBios = 0;
constexpr uint8_t kTypeEndOfTable = 127;

uint8_t checksumOf(const std::vector<uint8_t>& bytes) {
    uint8_t sum = 0;
    for (const uint8_t byte : bytes)
        sum = static_cast<uint8_t>(sum + byte);
    return static_cast<uint8_t>(-sum);
}

} // namespace

std::vector<uint8_t> buildE820File(const GuestMemory& memory) {
    std::vector<uint8_t> file;
    for (const MemoryRegion& region : memory.regions())
        appendE820(file, region.guestAddress, region.size, kE820Ram);
    // The ECAM window the MCFG describes: Linux uses MMCONFIG only where the firmware reserved
    // it, in the e820 map or as a motherboard resource (PCI Firmware Specification 3.0, 4.1.2;
    // arch/x86/pci/mmconfig-shared.c, is_mmconf_reserved). The DSDT does the latter; SeaBIOS
    // hands this map on to the OS, so a guest booted through it finds the window here too.
    appendE820(file, pc::kPciEcamAddress, pc::kPciEcamSize, kE820Reserved);
    appendE820(file, pc::kKvmIdentityMapAddress,
               pc::kKvmTssAddress + pc::kKvmTssSize - pc::kKvmIdentityMapAddress, kE820Reserved);
    return file;
}

std::string pciOptionRomFile(uint16_t vendorId, uint16_t deviceId) {
    return fmt::format("pci{:04x},{:04x}.rom", vendorId, deviceId);
}

FwCfgItems buildFirmwareItems(const GuestMemory& memory, const FirmwareItemsConfig& config) {
    FwCfgItems items;
    items.addLegacy(fwcfg::kRamSize, "RAM size", littleEndian<uint64_t>(memory.ramSize()));
    items.addLegacy(fwcfg::kNbCpus, "CPUs", littleEndian<uint16_t>(uint16_t(config.cpus)));
    items.addLegacy(fwcfg::kMaxCpus, "max CPUs", littleEndian<uint16_t>(uint16_t(config.maxCpus)));
    items.addLegacy(fwcfg::kBootMenu, "boot menu", littleEndian<uint16_t>(config.bootMenu ? 1 : 0));
    items.addFile(std::string(kE820File), buildE820File(memory));
    items.addFile(std::string(kBootOrderFile),
                  std::vector<uint8_t>(config.bootOrder.begin(), config.bootOrder.end()));
    items.addFile(std::string(kBootMenuWaitFile), littleEndian<uint16_t>(config.bootMenuWaitMs));
    for (const std::string_view name :
         {kAcpiTablesFile, kAcpiRsdpFile, kTableLoaderFile, kSmbiosAnchorFile, kSmbiosTablesFile})
        items.addFile(std::string(name), {});
    for (const OptionRom& rom : config.optionRoms)
        items.addFile(std::string(kOptionRomPrefix) + rom.name, rom.bytes);
    for (const PciOptionRom& rom : config.pciOptionRoms)
        items.addFile(pciOptionRomFile(rom.vendorId, rom.deviceId), rom.bytes);
    return items;
}

SmbiosFiles buildSmbiosFiles(const GuestMemory& memory, uint64_t entryPointAddress) {
    if (!memory.contains(entryPointAddress, kEntryPointLength))
        throw Error(
            fmt::format("SMBIOS: the entry point at {:#x} is outside RAM", entryPointAddress));
    SmbiosFiles files;
    files.anchor.resize(kEntryPointLength);
    memory.read(entryPointAddress, files.anchor.data(), kEntryPointLength);
    if (std::memcmp(files.anchor.data(), "_SM3_", 5) != 0)
        throw Error(fmt::format("SMBIOS: no 3.0 entry point at {:#x}", entryPointAddress));
    uint32_t maxSize = 0;
    uint64_t tableAddress = 0;
    std::memcpy(&maxSize, files.anchor.data() + kEntryPointMaxSize, sizeof maxSize);
    std::memcpy(&tableAddress, files.anchor.data() + kEntryPointAddress, sizeof tableAddress);
    if (maxSize == 0 || maxSize > kMaxStructureTable || !memory.contains(tableAddress, maxSize))
        throw Error(fmt::format("SMBIOS: structure table at {:#x} of {} bytes is not in RAM",
                                tableAddress, maxSize));
    std::vector<uint8_t> table(maxSize);
    memory.read(tableAddress, table.data(), maxSize);

    // Each structure: its formatted part (type, length, handle, ...), then its strings, each
    // NUL-terminated, and one more NUL (a structure without strings has two) (6.1.2, 6.1.3).
    size_t at = 0;
    while (at + 4 <= table.size()) {
        const uint8_t type = table[at];
        const size_t formatted = table[at + 1];
        size_t end = at + formatted;
        while (end + 1 < table.size() && !(table[end] == 0 && table[end + 1] == 0))
            ++end;
        end += 2;
        if (formatted < 4 || end > table.size())
            throw Error(fmt::format("SMBIOS: structure at offset {} of the table is cut off", at));
        if (type != kTypeBios)
            files.tables.insert(files.tables.end(), table.begin() + static_cast<long>(at),
                                table.begin() + static_cast<long>(end));
        at = end;
        if (type == kTypeEndOfTable)
            break;
    }

    const auto size = static_cast<uint32_t>(files.tables.size());
    std::memcpy(files.anchor.data() + kEntryPointMaxSize, &size, sizeof size);
    std::memset(files.anchor.data() + kEntryPointAddress, 0, 8); // the firmware's to place
    files.anchor[kEntryPointChecksum] = 0;
    files.anchor[kEntryPointChecksum] = checksumOf(files.anchor);
    return files;
}

} // namespace kvmscope::firmware
