#include "snapshot/RamImage.h"

#include "common/Error.h"
#include "machine/GuestMemory.h"
#include "snapshot/SnapshotFile.h"

#include <cstring>
#include <fmt/format.h>
#include <span>
#include <vector>

namespace kvmscope::snapshot {
namespace {

constexpr const char* kSection = "ram";

struct RunHeader {
    uint64_t address;
    uint64_t pages;
};

bool isZero(const uint8_t* page) {
    const auto* words = reinterpret_cast<const uint64_t*>(page);
    for (size_t i = 0; i < kRamPageSize / sizeof(uint64_t); ++i)
        if (words[i] != 0)
            return false;
    return true;
}

template <typename T> std::span<const uint8_t> bytesOf(const T& value) {
    return {reinterpret_cast<const uint8_t*>(&value), sizeof value};
}

} // namespace

RamImageStats writeRam(SnapshotWriter& writer, const GuestMemory& memory) {
    RamImageStats stats;
    writer.beginSection(kSection);
    const uint64_t ramSize = memory.ramSize();
    writer.append(bytesOf(ramSize));
    for (const MemoryRegion& region : memory.regions()) {
        const uint64_t pages = region.size / kRamPageSize;
        uint64_t page = 0;
        while (page < pages) {
            if (isZero(region.host + page * kRamPageSize)) {
                ++stats.pagesZero;
                ++page;
                continue;
            }
            uint64_t end = page + 1;
            while (end < pages && !isZero(region.host + end * kRamPageSize))
                ++end;
            const RunHeader run{region.guestAddress + page * kRamPageSize, end - page};
            writer.append(bytesOf(run));
            writer.append({region.host + page * kRamPageSize, run.pages * kRamPageSize});
            stats.pagesStored += run.pages;
            page = end;
        }
    }
    writer.endSection();
    return stats;
}

RamImageStats readRam(const SnapshotReader& reader, GuestMemory& memory) {
    const std::span<const uint8_t> payload = reader.section(kSection);
    auto bad = [&](const std::string& what) {
        return LoadError(reader.path(), fmt::format("section 'ram': {}", what));
    };
    uint64_t ramSize = 0;
    if (payload.size() < sizeof ramSize)
        throw bad(fmt::format("{} bytes, too short for the RAM size", payload.size()));
    std::memcpy(&ramSize, payload.data(), sizeof ramSize);
    if (ramSize != memory.ramSize())
        throw bad(fmt::format("the snapshot's RAM is {} bytes ({} MiB); this machine has {} "
                              "({} MiB)",
                              ramSize, ramSize >> 20, memory.ramSize(), memory.ramSize() >> 20));
    // First check every run, then copy: a bad file changes nothing.
    struct Run {
        uint64_t address;
        uint64_t pages;
        const uint8_t* data;
    };
    std::vector<Run> runs;
    uint64_t at = sizeof ramSize;
    uint64_t previousEnd = 0;
    while (at < payload.size()) {
        RunHeader header{};
        if (payload.size() - at < sizeof header)
            throw bad(fmt::format("a run header at offset {} is cut short", at));
        std::memcpy(&header, payload.data() + at, sizeof header);
        at += sizeof header;
        if (header.pages == 0 || header.address % kRamPageSize != 0 ||
            header.pages > (payload.size() - at) / kRamPageSize)
            throw bad(fmt::format("the run at {:#x} of {} pages does not fit the section",
                                  header.address, header.pages));
        if (!memory.contains(header.address, header.pages * kRamPageSize))
            throw bad(fmt::format("the run at {:#x} of {} pages is not inside this machine's "
                                  "RAM",
                                  header.address, header.pages));
        if (header.address < previousEnd)
            throw bad(fmt::format("the run at {:#x} overlaps or precedes the one before it",
                                  header.address));
        previousEnd = header.address + header.pages * kRamPageSize;
        runs.push_back({header.address, header.pages, payload.data() + at});
        at += header.pages * kRamPageSize;
    }

    RamImageStats stats;
    size_t next = 0;
    for (const MemoryRegion& region : memory.regions()) {
        for (uint64_t address = region.guestAddress; address < region.end();) {
            if (next < runs.size() && runs[next].address == address) {
                const uint64_t bytes = runs[next].pages * kRamPageSize;
                std::memcpy(region.host + (address - region.guestAddress), runs[next].data, bytes);
                stats.pagesStored += runs[next].pages;
                address += bytes;
                ++next;
                continue;
            }
            // Not saved: zero. Reading an untouched page maps the shared zero page, so only
            // pages the guest wrote since cost a write here.
            uint8_t* page = region.host + (address - region.guestAddress);
            if (!isZero(page))
                std::memset(page, 0, kRamPageSize);
            ++stats.pagesZero;
            address += kRamPageSize;
        }
    }
    return stats;
}

} // namespace kvmscope::snapshot
