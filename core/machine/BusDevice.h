#pragma once
// What a device looks like to an I/O-port or MMIO bus: two entry points, an offset into the
// device's registered range and the bytes of the access (STYLE.md: "A device is one readable
// file").
#include <cstdint>
#include <span>

namespace kvmscope {

class BusDevice {
public:
    virtual ~BusDevice() = default;
    // Fill `data` (1, 2, 4 or 8 bytes, little endian) with the value read at `offset`.
    virtual void read(uint64_t offset, std::span<uint8_t> data) = 0;
    // The guest wrote `data` at `offset`.
    virtual void write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

} // namespace kvmscope
