#pragma once
// Turning a BootPlan into x86 state: the descriptor tables and page tables the CPU mode needs in
// guest RAM (at the addresses of GuestLayout.h), and the boot vcpu's registers.
#include "boot/BootPlan.h"
#include "kvm/compat.h"
#include "machine/GuestMemory.h"

namespace kvmscope::boot {

// Protected32 and Long64: writes the GDT (null, 64-bit code, 32-bit code, data, busy TSS) and a
// zeroed TSS. Long64 also: identity page tables for [0, 4 GiB) with 2 MiB pages (PML4, PDPT,
// four page directories). Real mode needs nothing. Adds a note to the plan.
void writeCpuTables(BootPlan& plan, GuestMemory& memory);

// Fills `regs` (RIP, RSP, RFLAGS = 0x2 with interrupts off, RAX-RDI from the plan; everything
// else zero) and `sregs` (segments, descriptor table registers, CR0/CR3/CR4, EFER) for the plan's
// mode. `sregs` comes from KVM_GET_SREGS: apic_base and interrupt_bitmap are kept. Throws
// InputError for a real-mode plan whose entry is not inside its segment.
void applyBootPlan(const BootPlan& plan, kvm_regs& regs, kvm_sregs& sregs);

} // namespace kvmscope::boot
