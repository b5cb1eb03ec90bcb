#pragma once
// The one check every loader applies before writing part of an image into guest RAM.
#include "boot/GuestLayout.h"
#include "machine/GuestMemory.h"

#include <cstdint>
#include <initializer_list>
#include <string>

namespace kvmscope::boot {

// Throws LoadError(file, ...) unless [start, start + size) is non-empty, does not wrap around
// 2^64, lies inside one guest RAM region and overlaps none of layout::kReservedForAllImages nor
// `alsoReserved`. `what` names the part and the fields it came from, e.g.
// "program header 1 (p_paddr 0x100000, p_memsz 0x2000)"; the message adds the range and the
// reason.
void checkImagePlacement(const std::string& file, const std::string& what, uint64_t start,
                         uint64_t size, const GuestMemory& memory,
                         std::initializer_list<layout::ReservedRange> alsoReserved = {});

// True when [aStart, aStart + aSize) and [bStart, bStart + bSize) share a byte; sizes are
// assumed not to wrap (checkImagePlacement rejects those first).
bool rangesOverlap(uint64_t aStart, uint64_t aSize, uint64_t bStart, uint64_t bSize);

} // namespace kvmscope::boot
