#pragma once
// What the ELF, multiboot and PVH loaders need of an x86 ELF executable (System V gABI, "ELF
// Header" and "Program Header"): its PT_LOAD segments, the only part that matters for booting,
// checked and placed in guest memory. The file itself is read by common/ElfFile.h, which checks
// every offset and size against the file.
#include "boot/GuestLayout.h"
#include "common/ElfFile.h"
#include "machine/GuestMemory.h"

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

namespace kvmscope::boot {

// One PT_LOAD program header with p_memsz > 0.
struct ElfSegment {
    unsigned index = 0; // in the program header table, for messages
    uint64_t fileOffset = 0;
    uint64_t fileSize = 0;
    uint64_t memorySize = 0;
    uint64_t physicalAddress = 0; // p_paddr: where kvmscope loads it
    uint64_t virtualAddress = 0;  // p_vaddr: what e_entry refers to
};

struct ElfImage {
    bool is64 = false;
    uint16_t machine = 0;
    uint64_t entry = 0; // e_entry, a virtual address
    std::vector<ElfSegment> segments;
};

// On top of what ElfFile checks (e_ident, e_machine EM_386 for ELF32 or EM_X86_64 for ELF64,
// e_version, the program header table's bounds): e_type ET_EXEC, at least one program header,
// and each PT_LOAD: p_filesz <= p_memsz, file bytes inside the file, p_paddr + p_memsz without
// overflow, no two segments overlapping. Throws LoadError(file.path(), ...) naming the field and
// its value.
ElfImage parseElf(const ElfFile& file);
// parseElf of ElfFile(file, path).
ElfImage parseElf(std::span<const uint8_t> file, const std::string& path);

// The guest-physical range the loaded segments span, [start, end).
struct LoadedRange {
    uint64_t start = 0;
    uint64_t end = 0;
};

// Checks every segment's placement (checkImagePlacement) and returns the range they span.
LoadedRange checkElfSegmentsPlacement(const ElfImage& image, const std::string& path,
                                      const GuestMemory& memory,
                                      std::initializer_list<layout::ReservedRange> alsoReserved);

// Copies every segment to its p_paddr and zeroes p_memsz - p_filesz after it (the bss). Checks
// every segment's placement (checkImagePlacement) before writing anything.
LoadedRange loadElfSegments(const ElfImage& image, std::span<const uint8_t> file,
                            const std::string& path, GuestMemory& memory,
                            std::initializer_list<layout::ReservedRange> alsoReserved);

// e_entry translated to a physical address through the segment whose file-backed virtual range
// holds it (p_paddr + e_entry - p_vaddr): kvmscope starts kernels with paging off or identity
// mapped, so RIP must be physical. Throws LoadError when no segment holds e_entry.
uint64_t physicalEntry(const ElfImage& image, const std::string& path);

} // namespace kvmscope::boot
