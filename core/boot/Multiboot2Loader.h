#pragma once
// Multiboot 2 kernels (Multiboot2 Specification 2.0), loaded directly: by the header's address
// tag (3.1.5) or by the ELF program headers, one optional module (the initrd), and the boot
// information (3.6). Entered as 3.3 says (docs/boot.md, "Multiboot 2").
#include "boot/BootPlan.h"
#include "machine/GuestMemory.h"

#include <span>

namespace kvmscope::boot {

// Loads the kernel in `image` (read from options.imagePath), places `initrd` (read from
// options.initrdPath; ignored when that is empty) as module 0 on the first 4 KiB boundary after
// the kernel, and writes the boot information into layout::kMultibootInfoRange: load base
// address, command line, boot loader name "kvmscope", the module, the memory map (the machine's
// e820 map), basic memory information, the framebuffer (the linear framebuffer in the mode the
// kernel's framebuffer tag asks for when options.framebuffer is set and the dispi can show it,
// EGA text 80x25 otherwise; plan.framebufferSet then says which mode to set), and a copy of the
// ACPI RSDP (acpiRootPointer(): the new-RSDP tag, and the old one when the kernel asks for it).
// The plan enters 32-bit protected mode with EAX = 0x36D76289 and EBX = the structure's address.
// Throws LoadError naming the file, the field and its value for a header it cannot honour
// (Multiboot2Header.h) or an image that does not fit.
BootPlan loadMultiboot2(std::span<const uint8_t> image, const BootOptions& options,
                        std::span<const uint8_t> initrd, GuestMemory& memory);

} // namespace kvmscope::boot
