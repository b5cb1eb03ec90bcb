#include "firmware/TableLoader.h"

#include "common/Error.h"
#include "machine/GuestMemory.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <map>

namespace kvmscope::firmware {
namespace {

// ACPI 6.4 byte offsets, read as the spec gives them rather than through the writer's structs.
constexpr size_t kRsdpLength = 36;   // 5.2.5.3, revision 2
constexpr size_t kRsdpV1Length = 20; // the part the first checksum covers
constexpr size_t kRsdpChecksum = 8;
constexpr size_t kRsdpRevision = 15;
constexpr size_t kRsdpRsdtAddress = 16; // 4 bytes
constexpr size_t kRsdpXsdtAddress = 24; // 8 bytes
constexpr size_t kRsdpExtendedChecksum = 32;
constexpr size_t kHeaderLength = 36; // 5.2.6
constexpr size_t kHeaderLengthField = 4;
constexpr size_t kHeaderChecksum = 9;
constexpr size_t kFadtFirmwareCtrl = 36;   // 5.2.9, table 5.9: 4 bytes
constexpr size_t kFadtDsdt = 40;           // 4 bytes
constexpr size_t kFadtXFirmwareCtrl = 132; // 8 bytes
constexpr size_t kFadtXDsdt = 140;         // 8 bytes
constexpr size_t kFacsAlignment = 64;      // 5.2.10
constexpr size_t kTableAlignment = 16;
constexpr uint32_t kMaxTableLength = 1u << 20; // far above any table kvmscope writes
constexpr size_t kMaxTables = 64;

uint64_t loadLittleEndian(const uint8_t* bytes, size_t size) {
    uint64_t value = 0;
    for (size_t index = size; index-- > 0;)
        value = value << 8 | bytes[index];
    return value;
}

void storeLittleEndian(uint8_t* bytes, uint64_t value, size_t size) {
    for (size_t index = 0; index < size; ++index, value >>= 8)
        bytes[index] = static_cast<uint8_t>(value);
}

void copyName(uint8_t* field, std::string_view name) {
    if (name.size() >= loader::kFileNameSize)
        throw Error(fmt::format("table loader: file name '{}' is longer than {} bytes", name,
                                loader::kFileNameSize - 1));
    std::memcpy(field, name.data(), name.size());
}

// A table's place in the tables file and the pointer fields it holds.
struct PlacedTable {
    uint64_t address = 0; // where the direct-boot writer put it
    size_t offset = 0;    // in the tables file
    size_t length = 0;
    bool hasChecksum = true; // the FACS has none (5.2.10)
};

struct PointerField {
    size_t fieldOffset = 0; // in the tables file
    uint8_t size = 0;
    uint64_t target = 0; // guest address of the table it points at
};

class Collector {
public:
    explicit Collector(const GuestMemory& memory) : memory_(memory) {}

    // Places the table at `address` (once) and follows its pointers.
    size_t add(uint64_t address) {
        if (const auto known = placed_.find(address); known != placed_.end())
            return known->second.offset;
        if (placed_.size() >= kMaxTables)
            throw Error(fmt::format("table loader: more than {} ACPI tables", kMaxTables));
        if (!memory_.contains(address, 8))
            throw Error(fmt::format("table loader: ACPI table at {:#x} is outside RAM", address));
        char signature[4];
        memory_.read(address, signature, sizeof signature);
        const bool facs = std::memcmp(signature, "FACS", 4) == 0;
        const auto length = memory_.readValue<uint32_t>(address + kHeaderLengthField);
        if (length < (facs ? 8u : kHeaderLength) || length > kMaxTableLength ||
            !memory_.contains(address, length))
            throw Error(fmt::format("table loader: ACPI table '{}' at {:#x} has length {}",
                                    std::string(signature, 4), address, length));
        const size_t alignment = facs ? kFacsAlignment : kTableAlignment;
        const size_t offset = (tables_.size() + alignment - 1) / alignment * alignment;
        tables_.resize(offset + length, 0);
        memory_.read(address, tables_.data() + offset, length);
        placed_[address] = {address, offset, length, !facs};
        order_.push_back(address);
        if (!facs)
            tables_[offset + kHeaderChecksum] = 0; // the script computes it

        if (std::memcmp(signature, "RSDT", 4) == 0 || std::memcmp(signature, "XSDT", 4) == 0) {
            const uint8_t width = signature[0] == 'R' ? 4 : 8; // 5.2.7, 5.2.8
            for (size_t entry = kHeaderLength; entry + width <= length; entry += width)
                follow(offset + entry, width);
        } else if (std::memcmp(signature, "FACP", 4) == 0) {
            for (const auto& [field, width] :
                 {std::pair{kFadtFirmwareCtrl, uint8_t(4)}, std::pair{kFadtDsdt, uint8_t(4)},
                  std::pair{kFadtXFirmwareCtrl, uint8_t(8)}, std::pair{kFadtXDsdt, uint8_t(8)}})
                if (field + width <= length)
                    follow(offset + field, width);
        }
        return offset;
    }

    // The pointer at `fieldOffset` of the file, if not 0, becomes the target's offset.
    void follow(size_t fieldOffset, uint8_t size) {
        const uint64_t target = loadLittleEndian(tables_.data() + fieldOffset, size);
        if (target == 0)
            return; // an absent table (the FADT's unused FACS or DSDT form)
        pointers_.push_back({fieldOffset, size, target});
        const size_t targetOffset = add(target);
        storeLittleEndian(tables_.data() + fieldOffset, targetOffset, size);
    }

    std::vector<uint8_t>& tables() { return tables_; }
    const std::vector<PointerField>& pointers() const { return pointers_; }
    std::vector<PlacedTable> placed() const {
        std::vector<PlacedTable> result;
        for (const uint64_t address : order_)
            result.push_back(placed_.at(address));
        return result;
    }

private:
    const GuestMemory& memory_;
    std::vector<uint8_t> tables_;
    std::map<uint64_t, PlacedTable> placed_;
    std::vector<uint64_t> order_;
    std::vector<PointerField> pointers_;
};

} // namespace

uint8_t* TableLoaderScript::newEntry(uint32_t command) {
    bytes_.resize(bytes_.size() + loader::kEntrySize, 0);
    uint8_t* entry = bytes_.data() + bytes_.size() - loader::kEntrySize;
    storeLittleEndian(entry, command, 4);
    return entry;
}

// romfile_loader.h: command(4), then the union at offset 4.
void TableLoaderScript::allocate(std::string_view file, uint32_t alignment, uint8_t zone) {
    uint8_t* entry = newEntry(loader::kAllocate);
    copyName(entry + 4, file);                                          // file[56]
    storeLittleEndian(entry + 4 + loader::kFileNameSize, alignment, 4); // align
    entry[4 + loader::kFileNameSize + 4] = zone;                        // zone
}

void TableLoaderScript::addPointer(std::string_view destinationFile, std::string_view sourceFile,
                                   uint32_t offset, uint8_t size) {
    uint8_t* entry = newEntry(loader::kAddPointer);
    copyName(entry + 4, destinationFile);                                // dest_file[56]
    copyName(entry + 4 + loader::kFileNameSize, sourceFile);             // src_file[56]
    storeLittleEndian(entry + 4 + 2 * loader::kFileNameSize, offset, 4); // offset
    entry[4 + 2 * loader::kFileNameSize + 4] = size;                     // size
}

void TableLoaderScript::addChecksum(std::string_view file, uint32_t checksumOffset, uint32_t start,
                                    uint32_t length) {
    uint8_t* entry = newEntry(loader::kAddChecksum);
    copyName(entry + 4, file);                                               // file[56]
    storeLittleEndian(entry + 4 + loader::kFileNameSize, checksumOffset, 4); // offset
    storeLittleEndian(entry + 4 + loader::kFileNameSize + 4, start, 4);      // start
    storeLittleEndian(entry + 4 + loader::kFileNameSize + 8, length, 4);     // length
}

AcpiFiles buildAcpiFiles(const GuestMemory& memory, uint64_t rsdpAddress) {
    if (!memory.contains(rsdpAddress, kRsdpLength))
        throw Error(fmt::format("table loader: the RSDP at {:#x} is outside RAM", rsdpAddress));
    AcpiFiles files;
    files.rsdp.resize(kRsdpLength);
    memory.read(rsdpAddress, files.rsdp.data(), kRsdpLength);
    if (std::memcmp(files.rsdp.data(), "RSD PTR ", 8) != 0 || files.rsdp[kRsdpRevision] < 2)
        throw Error(fmt::format("table loader: no ACPI 2.0 RSDP at {:#x}", rsdpAddress));

    Collector collector(memory);
    TableLoaderScript script;
    // The tables anywhere in RAM below 4 GiB (the RSDT holds 32-bit pointers), 64-byte aligned
    // for the FACS inside; the RSDP where an OS scans for it (5.2.5.1).
    script.allocate(kAcpiTablesFile, kFacsAlignment, loader::kZoneHigh);
    script.allocate(kAcpiRsdpFile, kTableAlignment, loader::kZoneFSeg);
    for (const auto& [field, width] :
         {std::pair{kRsdpRsdtAddress, uint8_t(4)}, std::pair{kRsdpXsdtAddress, uint8_t(8)}}) {
        const uint64_t target = loadLittleEndian(files.rsdp.data() + field, width);
        if (target == 0)
            continue;
        storeLittleEndian(files.rsdp.data() + field, collector.add(target), width);
        script.addPointer(kAcpiRsdpFile, kAcpiTablesFile, static_cast<uint32_t>(field), width);
    }
    for (const PointerField& pointer : collector.pointers())
        script.addPointer(kAcpiTablesFile, kAcpiTablesFile,
                          static_cast<uint32_t>(pointer.fieldOffset), pointer.size);
    // Checksums after the pointers they cover; the RSDP's first checksum before the extended
    // one, which covers it.
    const auto placed = collector.placed();
    for (const PlacedTable& table : placed)
        if (table.hasChecksum)
            script.addChecksum(
                kAcpiTablesFile, static_cast<uint32_t>(table.offset + kHeaderChecksum),
                static_cast<uint32_t>(table.offset), static_cast<uint32_t>(table.length));
    files.rsdp[kRsdpChecksum] = 0;
    files.rsdp[kRsdpExtendedChecksum] = 0;
    script.addChecksum(kAcpiRsdpFile, kRsdpChecksum, 0, kRsdpV1Length);
    script.addChecksum(kAcpiRsdpFile, kRsdpExtendedChecksum, 0, kRsdpLength);

    files.tables = std::move(collector.tables());
    files.loader = script.bytes();
    files.tableCount = placed.size();
    return files;
}

} // namespace kvmscope::firmware
