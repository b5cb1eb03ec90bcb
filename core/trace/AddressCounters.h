#pragma once
// Per-vcpu exit counters per I/O port and per MMIO address: how many exits, and how many bytes,
// each (kind, address, direction) caused. Written on every port or MMIO exit by the vcpu's own
// thread, so the write path takes no lock and allocates nothing: an open-addressing table of
// fixed capacity, filled as addresses are first seen and never emptied. Once kMaxAddresses
// distinct addresses are in it, exits at any further address count into one overflow bucket
// ("other addresses"), so a guest that sweeps the address space cannot grow it.
//
// Readers (the GUI's timer, tests, any thread) take snapshot(). Every field is a relaxed atomic:
// a snapshot may be a few exits behind the writer, but it never reads a torn value, and a slot's
// key is published with release/acquire, so a reader never sees a slot's counts without its key.
#include "trace/ExitRecord.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace kvmscope::trace {

class AddressCounters {
public:
    // Distinct (kind, address, direction) entries before the overflow bucket takes over.
    static constexpr size_t kMaxAddresses = 256;

    struct Entry {
        AccessKind access = AccessKind::None; // PortIn/PortOut/MmioRead/MmioWrite
        uint64_t address = 0;                 // port or guest-physical address
        uint64_t exits = 0;
        uint64_t bytes = 0; // bytes moved: size x repeat count for string I/O
    };
    struct Snapshot {
        std::vector<Entry> entries; // in no particular order
        uint64_t overflowExits = 0; // exits at addresses that found the table full
        uint64_t overflowBytes = 0;
    };

    // Vcpu thread only. `access` None is ignored (not a port or MMIO exit).
    void record(AccessKind access, uint64_t address, uint64_t bytes);

    // Any thread.
    Snapshot snapshot() const;
    size_t addressCount() const { return used_.load(std::memory_order_relaxed); }

private:
    // Twice as many slots as entries: linear probing stays short (load factor <= 1/2), and a
    // miss ends at an empty slot without scanning the table.
    static constexpr size_t kSlots = 2 * kMaxAddresses;
    static_assert((kSlots & (kSlots - 1)) == 0, "the slot index is a mask");

    struct Slot {
        std::atomic<uint8_t> access{0}; // AccessKind; 0 (None) = empty. Published last (release).
        std::atomic<uint64_t> address{0};
        std::atomic<uint64_t> exits{0};
        std::atomic<uint64_t> bytes{0};
    };

    static size_t slotOf(AccessKind access, uint64_t address);

    std::array<Slot, kSlots> slots_{};
    std::atomic<size_t> used_{0};
    std::atomic<uint64_t> overflowExits_{0};
    std::atomic<uint64_t> overflowBytes_{0};
};

} // namespace kvmscope::trace
