#pragma once
// The BIOS-style (e820) memory map a Linux kernel reads from boot_params.e820_table: guest RAM
// as GuestMemory lays it out, with the legacy area below 1 MiB that holds the MP and ACPI tables
// marked reserved (docs/boot.md, "Linux").
#include "machine/GuestMemory.h"

#include <asm/bootparam.h>
#include <cstdint>
#include <vector>

namespace kvmscope::boot {

struct E820Map {
    std::vector<boot_e820_entry> entries; // ascending addresses, at most the zero page's 128
    uint64_t droppedEntries = 0;          // entries beyond E820_MAX_ENTRIES_ZEROPAGE, left out
};

// RAM below the EBDA ([0, 0x9fc00)), reserved [0x9fc00, 0x100000) (EBDA, VGA window, ACPI
// tables at 0xe0000, MP table at 0xf0000), RAM from 1 MiB to the end of each region; the 32-bit
// MMIO hole is simply absent, as on PC firmware, except the PCI ECAM window in it (reserved).
E820Map buildE820Map(const GuestMemory& memory);

} // namespace kvmscope::boot
