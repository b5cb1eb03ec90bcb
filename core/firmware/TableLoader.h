#pragma once
// The BIOS linker/loader script ("etc/table-loader") and the ACPI files it acts on
// ("etc/acpi/tables", "etc/acpi/rsdp"), through which QEMU hands firmware its ACPI tables over
// fw_cfg: the firmware allocates memory for each file, copies it in, adds the address where one
// file landed to the pointer fields of another, and fills in the checksums. The command format is
// the one SeaBIOS's src/fw/romfile_loader.h reads (QEMU: hw/acpi/bios-linker-loader.c): 128-byte
// little-endian entries, a 32-bit command and its arguments, file names of 56 bytes.
//
// kvmscope's tables are the ones a direct boot gets (boot/acpi/AcpiTables.h). buildAcpiFiles
// reads them back from guest memory the way an OS finds them (RSDP, then RSDT and XSDT, then
// what the FADT points at) and turns every table pointer into an offset plus an ADD_POINTER, so
// whatever table the writer adds is carried along without a change here.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kvmscope {
class GuestMemory;
}

namespace kvmscope::firmware {

namespace loader {
inline constexpr uint32_t kAllocate = 1;    // COMMAND_ALLOCATE
inline constexpr uint32_t kAddPointer = 2;  // COMMAND_ADD_POINTER
inline constexpr uint32_t kAddChecksum = 3; // COMMAND_ADD_CHECKSUM
inline constexpr uint8_t kZoneHigh = 1;     // ALLOC_ZONE_HIGH: anywhere in RAM below 4 GiB
inline constexpr uint8_t kZoneFSeg = 2;     // ALLOC_ZONE_FSEG: 0xe0000-0xfffff (the RSDP)
inline constexpr size_t kEntrySize = 128;
inline constexpr size_t kFileNameSize = 56;
} // namespace loader

inline constexpr std::string_view kTableLoaderFile = "etc/table-loader";
inline constexpr std::string_view kAcpiTablesFile = "etc/acpi/tables";
inline constexpr std::string_view kAcpiRsdpFile = "etc/acpi/rsdp";

// Writes the commands, one 128-byte entry each.
class TableLoaderScript {
public:
    // ALLOCATE: copy `file` into memory aligned to `alignment` (a power of two) in `zone`.
    void allocate(std::string_view file, uint32_t alignment, uint8_t zone);
    // ADD_POINTER: add the address where `sourceFile` was placed to the `size`-byte (1, 2, 4 or
    // 8) little-endian value at `offset` of `destinationFile`.
    void addPointer(std::string_view destinationFile, std::string_view sourceFile, uint32_t offset,
                    uint8_t size);
    // ADD_CHECKSUM: subtract the byte sum of [start, start + length) of `file` from the byte at
    // `checksumOffset`, making the range sum to 0 when that byte was 0 before.
    void addChecksum(std::string_view file, uint32_t checksumOffset, uint32_t start,
                     uint32_t length);

    const std::vector<uint8_t>& bytes() const { return bytes_; }

private:
    uint8_t* newEntry(uint32_t command);

    std::vector<uint8_t> bytes_;
};

struct AcpiFiles {
    std::vector<uint8_t> tables; // every table but the RSDP, pointers as offsets into this file
    std::vector<uint8_t> rsdp;   // the RSDP, its RSDT/XSDT addresses as offsets into `tables`
    std::vector<uint8_t> loader; // the script that places both and patches them
    size_t tableCount = 0;
};

// Reads the tables reachable from the RSDP at `rsdpAddress` and makes the three files. The
// checksum bytes are left 0 in the files; the script computes them after the pointers. Throws
// Error when the tables cannot be read (a length outside guest memory, a missing RSDP): they
// are kvmscope's own, so that is a bug, not bad input.
AcpiFiles buildAcpiFiles(const GuestMemory& memory, uint64_t rsdpAddress);

} // namespace kvmscope::firmware
