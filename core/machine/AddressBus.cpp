#include "machine/AddressBus.h"

#include <algorithm>
#include <fmt/format.h>

namespace kvmscope {

void AddressBus::add(uint64_t base, uint64_t length, BusDevice& device, const std::string& owner) {
    if (length == 0 || length - 1 > ~0ull - base) // empty, or the last byte past 2^64 - 1
        throw Error(fmt::format("{} bus: {} asks for an invalid range base {:#x} length {:#x}",
                                name_, owner, base, length));
    const uint64_t last = base + length - 1;
    auto next = std::lower_bound(ranges_.begin(), ranges_.end(), base,
                                 [](const Range& r, uint64_t b) { return r.base < b; });
    auto overlaps = [&](const Range& r) { return r.base <= last && base <= r.base + r.length - 1; };
    for (auto it : {next, next == ranges_.begin() ? ranges_.end() : std::prev(next)}) {
        if (it != ranges_.end() && overlaps(*it))
            throw Error(fmt::format("{} bus: {} range [{:#x}, {:#x}] overlaps {} at [{:#x}, {:#x}]",
                                    name_, owner, base, last, it->owner, it->base,
                                    it->base + it->length - 1));
    }
    ranges_.insert(next, Range{base, length, &device, owner});
}

const AddressBus::Range* AddressBus::find(uint64_t address) const {
    // Few ranges and a hot path: the first range whose base is above `address`, then one back.
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), address,
                               [](uint64_t a, const Range& r) { return a < r.base; });
    if (it == ranges_.begin())
        return nullptr;
    --it;
    return address - it->base < it->length ? &*it : nullptr;
}

bool AddressBus::read(uint64_t address, std::span<uint8_t> data) const {
    const Range* range = find(address);
    if (!range)
        return false;
    range->device->read(address - range->base, data);
    return true;
}

bool AddressBus::write(uint64_t address, std::span<const uint8_t> data) const {
    const Range* range = find(address);
    if (!range)
        return false;
    range->device->write(address - range->base, data);
    return true;
}

} // namespace kvmscope
