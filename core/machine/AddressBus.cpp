#include "machine/AddressBus.h"

#include <algorithm>
#include <fmt/format.h>
#include <memory>
#include <thread>

namespace kvmscope {
namespace {

// The range of a table sorted by base that holds `address`, or end().
template <typename Table> auto rangeHolding(Table& table, uint64_t address) {
    // Few ranges and a hot path: the first range whose base is above `address`, then one back.
    auto it = std::upper_bound(table.begin(), table.end(), address,
                               [](uint64_t a, const AddressBus::Range& r) { return a < r.base; });
    if (it == table.begin())
        return table.end();
    --it;
    return address - it->base < it->length ? it : table.end();
}

// The range of `table` that [base, last] overlaps, or null.
const AddressBus::Range* overlapping(const std::vector<AddressBus::Range>& table, uint64_t base,
                                     uint64_t last) {
    auto next = std::lower_bound(table.begin(), table.end(), base,
                                 [](const AddressBus::Range& r, uint64_t b) { return r.base < b; });
    auto overlaps = [&](const AddressBus::Range& r) {
        return r.base <= last && base <= r.base + r.length - 1;
    };
    for (auto it : {next, next == table.begin() ? table.end() : std::prev(next)})
        if (it != table.end() && overlaps(*it))
            return &*it;
    return nullptr;
}

} // namespace

AddressBus::~AddressBus() {
    delete movable_.load();
}

std::string AddressBus::conflict(uint64_t base, uint64_t length, const std::string& owner,
                                 const Table* movable) const {
    if (length == 0 || length - 1 > ~0ull - base) // empty, or the last byte past 2^64 - 1
        return fmt::format("{} bus: {} asks for an invalid range base {:#x} length {:#x}", name_,
                           owner, base, length);
    const uint64_t last = base + length - 1;
    const Range* other = overlapping(ranges_, base, last);
    if (!other && movable)
        other = overlapping(*movable, base, last);
    if (other)
        return fmt::format("{} bus: {} range [{:#x}, {:#x}] overlaps {} at [{:#x}, {:#x}]", name_,
                           owner, base, last, other->owner, other->base,
                           other->base + other->length - 1);
    return {};
}

void AddressBus::add(uint64_t base, uint64_t length, BusDevice& device, const std::string& owner) {
    std::lock_guard lock(movableMutex_);
    if (std::string why = conflict(base, length, owner, movable_.load()); !why.empty())
        throw Error(why);
    auto next = std::lower_bound(ranges_.begin(), ranges_.end(), base,
                                 [](const Range& r, uint64_t b) { return r.base < b; });
    ranges_.insert(next, Range{base, length, &device, owner});
}

void AddressBus::publish(Table* table) {
    if (table && table->empty()) {
        delete table;
        table = nullptr;
    }
    Table* old = movable_.exchange(table);
    // A lookup that counted itself in before the exchange may still read `old`; one that counts
    // itself in after it sees the new table. Both orders are sequentially consistent, so once
    // the count has been seen at 0, nobody reads `old` any more.
    while (movableReaders_.load() != 0)
        std::this_thread::yield();
    delete old;
}

std::string AddressBus::map(uint64_t base, uint64_t length, BusDevice& device,
                            const std::string& owner) {
    std::lock_guard lock(movableMutex_);
    const Table* current = movable_.load();
    if (std::string why = conflict(base, length, owner, current); !why.empty())
        return why;
    auto table = std::make_unique<Table>(current ? *current : Table{});
    auto next = std::lower_bound(table->begin(), table->end(), base,
                                 [](const Range& r, uint64_t b) { return r.base < b; });
    table->insert(next, Range{base, length, &device, owner});
    publish(table.release());
    return {};
}

bool AddressBus::unmap(uint64_t base, BusDevice& device) {
    std::lock_guard lock(movableMutex_);
    const Table* current = movable_.load();
    if (!current)
        return false;
    auto table = std::make_unique<Table>(*current);
    auto it = std::find_if(table->begin(), table->end(),
                           [&](const Range& r) { return r.base == base && r.device == &device; });
    if (it == table->end())
        return false;
    table->erase(it);
    publish(table.release());
    return true;
}

const AddressBus::Range* AddressBus::find(uint64_t address) const {
    auto it = rangeHolding(ranges_, address);
    return it == ranges_.end() ? nullptr : &*it;
}

std::optional<AddressBus::Range> AddressBus::rangeAt(uint64_t address) const {
    if (const Range* fixed = find(address))
        return *fixed;
    std::lock_guard lock(movableMutex_);
    if (const Table* table = movable_.load()) {
        auto it = rangeHolding(*table, address);
        if (it != table->end())
            return *it;
    }
    return std::nullopt;
}

std::vector<AddressBus::Range> AddressBus::movableRanges() const {
    std::lock_guard lock(movableMutex_);
    const Table* table = movable_.load();
    return table ? *table : Table{};
}

std::optional<AddressBus::Hit> AddressBus::lookup(uint64_t address) const {
    if (const Range* fixed = find(address))
        return Hit{fixed->device, address - fixed->base};
    // Most buses never get a movable range: no atomic read-modify-write for them.
    if (movable_.load(std::memory_order_relaxed) == nullptr)
        return std::nullopt;
    movableReaders_.fetch_add(1);
    std::optional<Hit> hit;
    if (const Table* table = movable_.load()) {
        auto it = rangeHolding(*table, address);
        if (it != table->end())
            hit = Hit{it->device, address - it->base};
    }
    movableReaders_.fetch_sub(1);
    return hit;
}

bool AddressBus::read(uint64_t address, std::span<uint8_t> data) const {
    const auto hit = lookup(address);
    if (!hit)
        return false;
    hit->device->read(hit->offset, data);
    return true;
}

bool AddressBus::write(uint64_t address, std::span<const uint8_t> data) const {
    const auto hit = lookup(address);
    if (!hit)
        return false;
    hit->device->write(hit->offset, data);
    return true;
}

} // namespace kvmscope
