#pragma once
// The 8-bit checksum the PC firmware tables share (MP spec 1.4 4.1, ACPI 6.4 5.2.5.3, SMBIOS
// 3.0 5.2): a byte chosen so that every byte of the structure adds up to 0 modulo 256.
#include <cstdint>
#include <span>

namespace kvmscope::boot {

// The value for the checksum byte of `bytes`, computed with that byte still 0.
inline uint8_t zeroSumChecksum(std::span<const uint8_t> bytes) {
    uint8_t sum = 0;
    for (const uint8_t byte : bytes)
        sum = static_cast<uint8_t>(sum + byte);
    return static_cast<uint8_t>(-sum);
}

} // namespace kvmscope::boot
