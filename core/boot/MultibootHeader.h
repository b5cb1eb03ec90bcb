#pragma once
// Finding the Multiboot 1 header in an image (Multiboot Specification 0.6.96, 3.1.1): the magic,
// 32-bit aligned, within the first 8192 bytes, with magic + flags + checksum == 0.
#include "boot/Multiboot.h"

#include <cstdint>
#include <optional>
#include <span>

namespace kvmscope::boot {

struct MultibootHeaderSearch {
    // The first aligned magic whose checksum holds: the header.
    std::optional<uint64_t> headerOffset;
    // The first aligned magic found at all, valid or not, and what followed it, so that an error
    // can say why it was not taken.
    std::optional<uint64_t> firstMagicOffset;
    uint32_t firstMagicFlags = 0;
    uint32_t firstMagicChecksum = 0;
};

MultibootHeaderSearch searchMultibootHeader(std::span<const uint8_t> image);

} // namespace kvmscope::boot
