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

// The extent of an image loaded by load/bss addresses, as Multiboot 1's address fields (3.1.3)
// and Multiboot 2's address tag (3.1.5) give it: `loadSize` bytes from the file (load_end_addr 0:
// the rest of the file, `available` bytes) and the loaded bytes plus the bss up to `end`
// (bss_end_addr 0: no bss). Throws LoadError(file, ...) whose message starts with `fields` (the
// fields' owner, e.g. "multiboot" or "multiboot2 address tag:") when load_end_addr is not above
// load_addr or asks for more than the file has from `fileOffset`, or bss_end_addr is below the
// loaded bytes.
struct AddressFieldsExtent {
    uint64_t loadSize = 0;
    uint64_t end = 0;
};
AddressFieldsExtent addressFieldsExtent(const std::string& file, const std::string& fields,
                                        uint64_t loadAddress, uint64_t loadEndAddress,
                                        uint64_t bssEndAddress, uint64_t fileOffset,
                                        uint64_t available);

// True when [aStart, aStart + aSize) and [bStart, bStart + bSize) share a byte; sizes are
// assumed not to wrap (checkImagePlacement rejects those first).
bool rangesOverlap(uint64_t aStart, uint64_t aSize, uint64_t bStart, uint64_t bSize);

} // namespace kvmscope::boot
