#pragma once
// ELF executables without a multiboot header: ELF64 (x86-64) kernels start in 64-bit long mode
// with the low 4 GiB identity-mapped, ELF32 (i386) kernels in 32-bit protected mode with paging
// off (docs/boot.md, "ELF").
#include "boot/BootPlan.h"
#include "machine/GuestMemory.h"

#include <span>
#include <string>

namespace kvmscope::boot {

// Loads every PT_LOAD segment at its p_paddr (never p_vaddr: a kernel linked high says where it
// wants to be in physical memory there), zeroes the bss, and plans entry at e_entry translated
// to physical. ESP/RSP = layout::kBootStackTop; no other register is defined. Throws LoadError
// for anything parseElf or checkImagePlacement rejects.
BootPlan loadElf(std::span<const uint8_t> image, const std::string& path, GuestMemory& memory);

} // namespace kvmscope::boot
