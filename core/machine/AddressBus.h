#pragma once
// A bus maps address ranges (I/O ports, or guest-physical MMIO addresses) to devices. Ranges never
// overlap; lookups happen on the vcpu threads.
//
// Two kinds of range. Fixed ranges (`add`) are registered while the machine is assembled and never
// change: their table is immutable once the vcpus run, and a lookup in it takes no lock and no
// atomic operation. Movable ranges (`map`/`unmap`: PCI BARs, which the guest places and moves
// while it runs, PCI Local Bus Spec 3.0, 6.2.5.1) live in a second table that is looked up only
// when no fixed range claims the address. It is replaced as a whole on every change (readers
// never see a half-updated table) and the old one is freed once no lookup is still reading it: a
// reader counts itself in for the few instructions of the search, not for the device's handler.
#include "common/Error.h"
#include "machine/BusDevice.h"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kvmscope {

class AddressBus {
public:
    struct Range {
        uint64_t base;
        uint64_t length;
        BusDevice* device;
        std::string owner; // device name, for error messages and the GUI
    };

    explicit AddressBus(std::string name) : name_(std::move(name)) {}
    ~AddressBus();
    AddressBus(const AddressBus&) = delete;
    AddressBus& operator=(const AddressBus&) = delete;

    // Registers the fixed range [base, base + length) for `device`, before the vcpus run. Throws
    // Error naming both owners when the range overlaps one already registered (fixed or
    // movable), or when it is empty or wraps around.
    void add(uint64_t base, uint64_t length, BusDevice& device, const std::string& owner);

    // Registers a movable range, from any thread, while vcpus look addresses up. Returns an
    // empty string when it is in place, else why not (empty, wraps, or overlaps a range; the
    // message names both): a guest that places a BAR badly is refused, not thrown at. `device`
    // must outlive the bus, since a vcpu may still be calling it just after an unmap.
    std::string map(uint64_t base, uint64_t length, BusDevice& device, const std::string& owner);
    // Removes the movable range at `base` that belongs to `device`; false when there is none.
    bool unmap(uint64_t base, BusDevice& device);

    // Dispatches an access; returns false (and leaves `data` untouched) when no device claims
    // `address`. The device sees the offset from the start of its range.
    bool read(uint64_t address, std::span<uint8_t> data) const;
    bool write(uint64_t address, std::span<const uint8_t> data) const;

    // The fixed range holding `address` (valid for the bus's life), or null.
    const Range* find(uint64_t address) const;
    // The fixed or movable range holding `address`, as a copy (a movable one may go at any time).
    std::optional<Range> rangeAt(uint64_t address) const;
    // The fixed ranges, sorted by base.
    const std::vector<Range>& ranges() const { return ranges_; }
    // The movable ranges now, sorted by base.
    std::vector<Range> movableRanges() const;
    const std::string& name() const { return name_; }

private:
    using Table = std::vector<Range>;
    struct Hit {
        BusDevice* device;
        uint64_t offset;
    };
    std::optional<Hit> lookup(uint64_t address) const;
    // Why [base, base + length) cannot be added next to `table` and the fixed ranges, or "".
    std::string conflict(uint64_t base, uint64_t length, const std::string& owner,
                         const Table* movable) const;
    void publish(Table* table); // with movableMutex_ held; frees the table it replaces

    std::string name_;
    std::vector<Range> ranges_; // fixed, sorted by base

    // The movable ranges, sorted by base; null while there are none.
    std::atomic<Table*> movable_{nullptr};
    // Lookups reading *movable_ now; a replaced table is freed once this has been 0.
    mutable std::atomic<uint32_t> movableReaders_{0};
    mutable std::mutex movableMutex_; // serialises map/unmap
};

} // namespace kvmscope
