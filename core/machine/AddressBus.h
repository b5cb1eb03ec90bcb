#pragma once
// A bus maps address ranges (I/O ports, or guest-physical MMIO addresses) to devices. Ranges are
// registered while the machine is assembled and never overlap; lookups happen on the vcpu threads
// and take no lock (the range table is immutable once the vcpus run).
#include "common/Error.h"
#include "machine/BusDevice.h"

#include <cstdint>
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

    // Registers [base, base + length) for `device`. Throws Error naming both owners when the range
    // overlaps one already registered, or when it is empty or wraps around.
    void add(uint64_t base, uint64_t length, BusDevice& device, const std::string& owner);

    // Dispatches an access; returns false (and leaves `data` untouched) when no device claims
    // `address`. The device sees the offset from the start of its range.
    bool read(uint64_t address, std::span<uint8_t> data) const;
    bool write(uint64_t address, std::span<const uint8_t> data) const;

    const Range* find(uint64_t address) const;
    const std::vector<Range>& ranges() const { return ranges_; }
    const std::string& name() const { return name_; }

private:
    std::string name_;
    std::vector<Range> ranges_; // sorted by base
};

} // namespace kvmscope
