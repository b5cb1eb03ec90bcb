#include "devices/ide/PrdTable.h"

#include "machine/GuestMemory.h"

#include <algorithm>

namespace kvmscope::ide {
namespace {

constexpr uint32_t kPrdSize = 8;
constexpr uint32_t kAddressMask = 0xfffffffe; // bit 0 of the base is always 0
constexpr uint32_t kCountMask = 0xfffe;       // bit 0 of the count is always 0
constexpr uint64_t kCountZero = 65536;        // a count of 0 means 64 KiB

} // namespace

const char* toString(PrdEnd end) {
    switch (end) {
    case PrdEnd::Exact:
        return "exact";
    case PrdEnd::TableLonger:
        return "table longer than the transfer";
    case PrdEnd::TableShorter:
        return "table shorter than the transfer";
    case PrdEnd::OutsideRam:
        return "region outside RAM";
    case PrdEnd::NoEnd:
        return "no end of table";
    }
    return "?";
}

PrdWalk walkPrdTable(GuestMemory& memory, uint32_t table, uint64_t transferBytes) {
    PrdWalk walk;
    uint64_t needed = transferBytes;
    for (uint32_t index = 0; index < kMaxPrdEntries; ++index) {
        const uint64_t entry = uint64_t{table} + uint64_t{index} * kPrdSize;
        if (!memory.contains(entry, kPrdSize)) {
            walk.end = PrdEnd::OutsideRam;
            break;
        }
        const auto base = memory.readValue<uint32_t>(entry) & kAddressMask;
        const auto control = memory.readValue<uint32_t>(entry + 4);
        const uint64_t count = (control & kCountMask) ? (control & kCountMask) : kCountZero;
        const bool last = (control & kPrdEndOfTable) != 0;
        walk.entries = index + 1;
        const uint64_t take = std::min(count, needed);
        if (!memory.contains(base, take)) {
            walk.end = PrdEnd::OutsideRam;
            break;
        }
        const auto region = memory.span(base, take);
        walk.regions.push_back({region.data(), region.size()});
        needed -= take;
        if (needed == 0) {
            walk.end = (take == count && last) ? PrdEnd::Exact : PrdEnd::TableLonger;
            return walk;
        }
        if (last) {
            walk.end = PrdEnd::TableShorter;
            break;
        }
        if (index + 1 == kMaxPrdEntries)
            walk.end = PrdEnd::NoEnd;
    }
    walk.regions.clear();
    return walk;
}

} // namespace kvmscope::ide
