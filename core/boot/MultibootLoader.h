#pragma once
// Multiboot 1 kernels (Multiboot Specification 0.6.96): loading by the header's address fields
// (the "a.out kludge", 3.1.3) or by the ELF32 program headers, one optional module (the initrd),
// and the boot information structure (3.3). Entered as 3.2 says (docs/boot.md, "Multiboot").
#include "boot/BootPlan.h"
#include "machine/GuestMemory.h"

#include <span>
#include <string>

namespace kvmscope::boot {

// Loads the kernel in `image` (read from options.imagePath), places `initrd` (read from
// options.initrdPath; ignored when that is empty) as module 0 on the first 4 KiB boundary after
// the kernel, and writes the boot information into layout::kMultibootInfoRange. The plan enters
// 32-bit protected mode with EAX = 0x2BADB002 and EBX = the information structure's address.
//
// Header flags (3.1.2): bits 0 (page-aligned modules) and 1 (memory information) are always
// honoured; bit 2 (video mode) cannot be, kvmscope having only VGA text mode, which is what a
// kernel gets when the loader leaves the video fields out, so it is noted, not refused; any other
// bit of 0-15 is a requirement kvmscope does not know and the kernel is refused.
BootPlan loadMultiboot(std::span<const uint8_t> image, const BootOptions& options,
                       std::span<const uint8_t> initrd, GuestMemory& memory);

} // namespace kvmscope::boot
