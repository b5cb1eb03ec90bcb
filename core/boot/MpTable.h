#pragma once
// The Intel MultiProcessor Specification 1.4 tables that tell a guest how many processors there
// are and how ISA interrupts reach the I/O APIC, as a PC BIOS would leave them (docs/boot.md,
// "MP table").
#include "machine/GuestMemory.h"

namespace kvmscope::boot {

constexpr unsigned kMaxMpTableCpus = 255;

// Writes the floating pointer structure at layout::kMpFloatingPointerAddress (the first KiB of
// the EBDA, the first place section 4 says to search), the BIOS data area words that point there
// (EBDA segment, 639 KiB of base memory), and the configuration table at
// layout::kMpConfigTableAddress: one processor per cpu (local APIC id = index, cpu 0 the BSP),
// bus 0 "ISA", the I/O APIC (id = cpus, at 0xfec00000), ISA IRQs 0-15 to I/O APIC pins 0-15, and
// ExtINT on LINT0 / NMI on LINT1 of every local APIC. Throws InputError unless 1 <= cpus <= 255.
void writeMpTable(GuestMemory& memory, unsigned cpus);

} // namespace kvmscope::boot
