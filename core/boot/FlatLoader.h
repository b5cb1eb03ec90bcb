#pragma once
// Flat binaries: raw bytes copied to a load address below 1 MiB and entered in real mode, like a
// boot sector (docs/boot.md, "Flat").
#include "boot/BootPlan.h"
#include "machine/GuestMemory.h"

#include <cstdint>
#include <span>
#include <string>

namespace kvmscope::boot {

// Copies `image` to `loadAddress` and plans real-mode entry there: CS = DS = ES = FS = GS = SS =
// the 64 KiB-aligned segment holding the load address (segment 0 for 0x7c00, so CS:IP =
// 0000:7C00), IP = the load address's offset in it, SP = IP (the stack grows down from just below
// the image; for IP = 0 the first push wraps to the top of the segment). Throws LoadError when
// the load address is not below 1 MiB or the image does not fit between the low tables and the
// EBDA.
BootPlan loadFlat(std::span<const uint8_t> image, const std::string& path, uint64_t loadAddress,
                  GuestMemory& memory);

} // namespace kvmscope::boot
