#include "trace/AddressCounters.h"

#include <bit>

namespace kvmscope::trace {
namespace {

// Single writer: a relaxed load and store is an exact increment, and cheaper than a locked
// read-modify-write on the exit path; readers only ever load.
void bump(std::atomic<uint64_t>& counter, uint64_t by) {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

} // namespace

size_t AddressCounters::slotOf(AccessKind access, uint64_t address) {
    // Fibonacci hashing (Knuth, TAOCP vol. 3, 6.4): the multiply spreads neighbouring ports
    // (0x3f8..0x3ff) and page-aligned MMIO addresses over the table; the top bits are the index.
    constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;
    const uint64_t key = address ^ (static_cast<uint64_t>(access) << 61);
    return static_cast<size_t>((key * kGolden) >> (64 - std::countr_zero(kSlots)));
}

void AddressCounters::record(AccessKind access, uint64_t address, uint64_t bytes) {
    if (access == AccessKind::None)
        return;
    const auto tag = static_cast<uint8_t>(access);
    for (size_t i = slotOf(access, address), probes = 0; probes < kSlots;
         i = (i + 1) & (kSlots - 1), ++probes) {
        Slot& slot = slots_[i];
        const uint8_t slotTag = slot.access.load(std::memory_order_relaxed);
        if (slotTag == tag && slot.address.load(std::memory_order_relaxed) == address) {
            bump(slot.exits, 1);
            bump(slot.bytes, bytes);
            return;
        }
        if (slotTag != 0)
            continue;
        // An empty slot ends the probe: the address is new.
        const size_t used = used_.load(std::memory_order_relaxed);
        if (used == kMaxAddresses)
            break;
        slot.address.store(address, std::memory_order_relaxed);
        slot.exits.store(1, std::memory_order_relaxed);
        slot.bytes.store(bytes, std::memory_order_relaxed);
        // Release: a reader that sees the tag also sees the address and first counts.
        slot.access.store(tag, std::memory_order_release);
        used_.store(used + 1, std::memory_order_relaxed);
        return;
    }
    bump(overflowExits_, 1);
    bump(overflowBytes_, bytes);
}

AddressCounters::Snapshot AddressCounters::snapshot() const {
    Snapshot result;
    result.entries.reserve(used_.load(std::memory_order_relaxed));
    for (const Slot& slot : slots_) {
        const uint8_t tag = slot.access.load(std::memory_order_acquire);
        if (tag == 0)
            continue;
        result.entries.push_back(Entry{static_cast<AccessKind>(tag),
                                       slot.address.load(std::memory_order_relaxed),
                                       slot.exits.load(std::memory_order_relaxed),
                                       slot.bytes.load(std::memory_order_relaxed)});
    }
    result.overflowExits = overflowExits_.load(std::memory_order_relaxed);
    result.overflowBytes = overflowBytes_.load(std::memory_order_relaxed);
    return result;
}

} // namespace kvmscope::trace
