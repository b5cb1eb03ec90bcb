#pragma once
// A small long-mode guest for the fallback's unit tests: 2 MiB of guest RAM with 4-level page
// tables (Intel SDM vol. 3A 4.5) and the vcpu registers of a 64-bit kernel, so operands can be
// resolved and faulted exactly as on a vcpu, without /dev/kvm.
#include "kvm/compat.h"
#include "machine/GuestMemory.h"

#include <cstdint>

namespace kvmscope::test {

// Paging-structure entry bits (SDM vol. 3A 4.5, table 4-19).
constexpr uint64_t kPtePresent = 1u << 0;
constexpr uint64_t kPteWritable = 1u << 1;
constexpr uint64_t kPteUser = 1u << 2;
constexpr uint64_t kPteAccessed = 1u << 5;
constexpr uint64_t kPteDirty = 1u << 6;

// Linear pages of the test guest, all in [0x200000, 0x206000) (one page table), and the
// physical frames behind them.
constexpr uint64_t kKernelPage = 0x200000;     // -> 0x100000, supervisor, writable
constexpr uint64_t kReadOnlyPage = 0x201000;   // -> 0x101000, supervisor, read-only
constexpr uint64_t kAbsentPage = 0x202000;     // not present
constexpr uint64_t kUserPage = 0x203000;       // -> 0x103000, user, writable
constexpr uint64_t kNextKernelPage = 0x204000; // -> 0x104000, supervisor, writable
constexpr uint64_t kPageTable = 0x4000;        // the PT that maps them

inline constexpr uint64_t physicalOf(uint64_t linear) {
    return linear - 0x200000 + 0x100000;
}

// CR0 = PE MP ET NE WP PG, CR4 = PAE OSFXSR OSXMMEXCPT, EFER = LME LMA NXE; CS is 64-bit code.
inline kvm_sregs longModeSregs() {
    kvm_sregs sregs{};
    sregs.cr0 = 0x80050033;
    sregs.cr3 = 0x1000;
    sregs.cr4 = 0x620;
    sregs.efer = 0xD00;
    sregs.cs = {.base = 0,
                .limit = 0xFFFFFFFF,
                .selector = 0x08,
                .type = 0xB,
                .present = 1,
                .dpl = 0,
                .db = 0,
                .s = 1,
                .l = 1,
                .g = 1,
                .avl = 0,
                .unusable = 0,
                .padding = 0};
    kvm_segment data = sregs.cs;
    data.selector = 0x10;
    data.type = 0x3;
    data.l = 0;
    data.db = 1;
    sregs.ds = sregs.es = sregs.ss = sregs.fs = sregs.gs = data;
    return sregs;
}

inline void buildPageTables(GuestMemory& memory) {
    const uint64_t table = kPtePresent | kPteWritable | kPteUser; // U/S and R/W decided by the PT
    memory.writeValue<uint64_t>(0x1000, 0x2000 | table);          // PML4[0]
    memory.writeValue<uint64_t>(0x2000, 0x3000 | table);          // PDPT[0]
    memory.writeValue<uint64_t>(0x3000 + 8, kPageTable | table);  // PD[1]: 2 MiB..4 MiB
    const auto pte = [&](uint64_t linear, uint64_t flags) {
        memory.writeValue<uint64_t>(kPageTable + ((linear >> 12) & 511) * 8,
                                    (flags & kPtePresent ? physicalOf(linear) : 0) | flags);
    };
    pte(kKernelPage, kPtePresent | kPteWritable);
    pte(kReadOnlyPage, kPtePresent);
    pte(kAbsentPage, 0);
    pte(kUserPage, kPtePresent | kPteWritable | kPteUser);
    pte(kNextKernelPage, kPtePresent | kPteWritable);
}

inline uint64_t pageTableEntry(const GuestMemory& memory, uint64_t linear) {
    return memory.readValue<uint64_t>(kPageTable + ((linear >> 12) & 511) * 8);
}

} // namespace kvmscope::test
