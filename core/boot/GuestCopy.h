#pragma once
// Copying a part of an image or an initrd into guest RAM.
#include "machine/GuestMemory.h"

#include <cstdint>
#include <span>

namespace kvmscope::boot {

// Writes `bytes` to guest RAM at `address` (the caller has checked the placement) a few MiB at
// a time, releasing each piece of a mapped file once it is copied (MappedFile::releaseRead): a
// loaded kernel or initrd is then held once, in guest RAM, rather than twice while it loads
// (docs/benchmarks.md, "RSS: loading a kernel without copies"). Bytes from the heap are copied
// in one go.
void copyIntoGuest(GuestMemory& memory, uint64_t address, std::span<const uint8_t> bytes);

} // namespace kvmscope::boot
