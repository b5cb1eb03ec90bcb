#pragma once
// Guest RAM in a snapshot: the section "ram" holds the RAM size, then runs of pages that are not
// all zeros (guest-physical address and page count, then the pages), so an idle 4 GiB guest
// saves its few hundred MiB in use, not 4 GiB. Pages between runs are zero on restore.
#include <cstdint>

namespace kvmscope {
class GuestMemory;
}

namespace kvmscope::snapshot {

class SnapshotReader;
class SnapshotWriter;

inline constexpr uint64_t kRamPageSize = 4096;

struct RamImageStats {
    uint64_t pagesStored = 0;
    uint64_t pagesZero = 0;
};

RamImageStats writeRam(SnapshotWriter& writer, const GuestMemory& memory);
// Throws LoadError naming the file, the section and the value when the saved RAM size is not
// `memory`'s, a run lies outside RAM, runs overlap or go backwards, or the section is cut short;
// `memory` is changed only when the whole section checks out.
RamImageStats readRam(const SnapshotReader& reader, GuestMemory& memory);

} // namespace kvmscope::snapshot
