#pragma once
// The physical region descriptor table a PIIX3 bus master walks (Intel 82371SB datasheet, 3.6.2
// "Physical Region Descriptor Format"): entries of 8 bytes in guest RAM, each a 32-bit physical
// base address (bit 0 ignored), a 16-bit byte count (bit 0 ignored, 0 meaning 64 KiB) and, in
// bit 31 of the second dword, EOT: the last entry. The walk checks every entry and every region
// against guest RAM and stops after kMaxPrdEntries, so a table without EOT cannot run on.
#include <cstdint>
#include <sys/uio.h>
#include <vector>

namespace kvmscope {
class GuestMemory;
}

namespace kvmscope::ide {

// The datasheet's table may not cross a 64 KiB boundary: at most 8192 entries.
constexpr uint32_t kMaxPrdEntries = 65536 / 8;
constexpr uint32_t kPrdEndOfTable = 0x80000000;

enum class PrdEnd : uint8_t {
    Exact,        // the regions held exactly the transfer, the last one with EOT
    TableLonger,  // the transfer ended before the regions did: valid, Active stays set
    TableShorter, // the EOT entry came before the transfer's end
    OutsideRam,   // an entry or a region lies (partly) outside guest RAM: a master abort
    NoEnd,        // kMaxPrdEntries entries without EOT and without the transfer's end
};
const char* toString(PrdEnd end);

struct PrdWalk {
    PrdEnd end = PrdEnd::Exact;
    std::vector<iovec> regions; // host views of guest RAM, in order, `transferBytes` in all
    uint32_t entries = 0;       // entries read
};

// The regions that carry the first `transferBytes` (> 0) bytes from the table at `table`.
// `regions` is filled only for Exact and TableLonger.
PrdWalk walkPrdTable(GuestMemory& memory, uint32_t table, uint64_t transferBytes);

} // namespace kvmscope::ide
