#pragma once
// Linux (or any kernel) by the PVH boot ABI (Xen's docs/misc/pvh.pandoc): the ELF vmlinux's
// PT_LOAD segments at their physical addresses, an hvm_start_info with the memory map, the
// command line, the initrd as module 0 and the RSDP, and entry in 32-bit protected mode with
// paging off at the address of the XEN_ELFNOTE_PHYS32_ENTRY note, EBX = the start info. No
// decompressor runs: the kernel starts at its own 32-bit entry (docs/boot.md, "PVH").
#include "boot/BootPlan.h"
#include "boot/linux/PvhStartInfo.h"
#include "common/ElfFile.h"
#include "machine/GuestMemory.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kvmscope::boot {

struct PvhEntryNote {
    uint64_t entry = 0; // the physical 32-bit entry address
    std::string where;  // "PT_NOTE program header 4" or "SHT_NOTE section 12", for messages
};

// Looks for the note named "Xen" of type XEN_ELFNOTE_PHYS32_ENTRY (18) in the ELF's PT_NOTE
// segments, then, when none holds it, in its SHT_NOTE sections. Throws LoadError(path, ...) for
// what ElfFile refuses (a header, a table, a segment or section, or a note that runs past the
// file or its area), a descriptor that is not 4 or 8 bytes, or an entry above 4 GiB; nullopt
// when there is no such note.
std::optional<PvhEntryNote> findPvhEntryNote(const ElfFile& elf);
std::optional<PvhEntryNote> findPvhEntryNote(std::span<const uint8_t> elf, const std::string& path);

// For format detection: true when `image` is an ELF that parseElf accepts and findPvhEntryNote
// finds the note in. Never throws.
bool hasPvhEntryNote(std::span<const uint8_t> image);

// The PVH memory map: the e820 map Linux gets by the boot protocol (buildE820Map), as
// hvm_memmap_table_entry records (the type values are e820's).
std::vector<pvh::hvm_memmap_table_entry> buildPvhMemoryMap(const GuestMemory& memory);

// Loads options.imagePath's `image`, an ELF with the PVH note or a bzImage whose payload
// (xz, gzip or zstd) is one, and `initrd` (options.initrdPath; none when empty) as module 0, and
// writes the start info, memory map, module list and command line. The plan enters 32-bit
// protected mode at the note's entry with EBX = the start info. Throws LoadError naming the file,
// the field and the value for a missing or malformed note, an entry outside the loaded segments,
// a segment outside RAM below 4 GiB (the MMIO hole included), an initrd that does not fit, or a
// command line that is too long; InputError for a NUL in the command line.
BootPlan loadPvh(std::span<const uint8_t> image, const BootOptions& options,
                 std::span<const uint8_t> initrd, GuestMemory& memory);

// loadPvh for a kernel that may not have a PVH entry: nullopt, with `memory` untouched, when
// `image` (or, for a bzImage, its payload) is no ELF with the note, or is a bzImage whose
// payload kvmscope cannot decompress; otherwise what loadPvh does, errors included. loadImage
// uses it to boot an auto-detected bzImage by PVH where the host emulates ring 0.
std::optional<BootPlan> loadPvhIfItHasEntry(std::span<const uint8_t> image,
                                            const BootOptions& options,
                                            std::span<const uint8_t> initrd, GuestMemory& memory);

} // namespace kvmscope::boot
