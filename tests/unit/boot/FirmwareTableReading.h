#pragma once
// Reading firmware tables back from guest RAM as a guest does: their byte sums and anchors
// (MP spec 1.4 4.1, SMBIOS 3.0 5.2).
#include "machine/GuestMemory.h"

#include <cstdint>
#include <cstring>

namespace kvmscope::testing {

// The sum of `length` bytes from `address`, modulo 256: 0 for a valid table.
inline uint8_t byteSum(const GuestMemory& memory, uint64_t address, uint64_t length) {
    uint8_t sum = 0;
    for (const uint8_t byte : memory.span(address, length))
        sum = static_cast<uint8_t>(sum + byte);
    return sum;
}

// True when the bytes at `address` are `anchor` (without its NUL).
inline bool anchorAt(const GuestMemory& memory, uint64_t address, const char* anchor) {
    const size_t length = std::strlen(anchor);
    return std::memcmp(memory.span(address, length).data(), anchor, length) == 0;
}

} // namespace kvmscope::testing
