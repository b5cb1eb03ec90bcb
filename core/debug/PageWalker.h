#pragma once
// kvmscope's own x86 page-table walker: linear → guest-physical for every paging mode a guest can
// be in (no paging, 32-bit with PSE 4 MiB pages, PAE, 4-level and 5-level IA-32e paging with
// 2 MiB and 1 GiB pages), recording each step so a user can see how an address was translated.
// It is pure code over a physical-memory reader, so it is tested on synthetic tables; against a
// live guest it is cross-checked with KVM_TRANSLATE (kvm::Vcpu::translate).
// Intel SDM vol. 3A, chapter 4 ("Paging") is the reference for every bit used here.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kvmscope::debug {

enum class PagingMode {
    None,   // CR0.PG = 0: linear = physical
    Bits32, // CR4.PAE = 0 (SDM 4.3)
    Pae,    // CR4.PAE = 1, EFER.LMA = 0 (SDM 4.4)
    Level4, // EFER.LMA = 1, CR4.LA57 = 0 (SDM 4.5)
    Level5, // EFER.LMA = 1, CR4.LA57 = 1 (SDM 4.5)
};
const char* toString(PagingMode mode);

// The registers that decide the walk (from kvm_sregs).
struct PagingRegisters {
    uint64_t cr0 = 0;
    uint64_t cr3 = 0;
    uint64_t cr4 = 0;
    uint64_t efer = 0;
};
PagingMode pagingMode(const PagingRegisters& registers);

// One paging-structure entry read during the walk.
struct WalkStep {
    std::string table;         // "PML5", "PML4", "PDPT", "PD", "PT"
    uint64_t tableAddress = 0; // guest-physical base of the table
    unsigned index = 0;        // entry index taken from the linear address
    uint64_t entryAddress = 0; // guest-physical address of the entry
    uint64_t entry = 0;        // the entry as read (4 or 8 bytes)
    std::string meaning;       // what the entry says: next table, page, or why the walk ends
};

struct Translation {
    bool valid = false;     // a present mapping was found
    uint64_t physical = 0;  // guest-physical address of the linear address
    uint64_t pageSize = 0;  // 4 KiB, 2 MiB, 4 MiB or 1 GiB (0 without paging)
    bool writable = true;   // every level allows writes (R/W = 1)
    bool user = true;       // every level allows CPL 3 (U/S = 1)
    bool executable = true; // no level sets XD (only with EFER.NXE)
    PagingMode mode = PagingMode::None;
    std::vector<WalkStep> steps;
    std::string fault; // why the walk failed, when !valid
};

// Reads `length` bytes of guest-physical memory; false when the range is not readable.
using PhysicalReader = std::function<bool(uint64_t address, void* destination, size_t length)>;

Translation translate(const PagingRegisters& registers, uint64_t linear,
                      const PhysicalReader& readPhysical);

// Reads `length` bytes at linear address `linear`, translating page by page. Returns the number of
// bytes read before the first unmapped or unreadable page.
size_t readLinear(const PagingRegisters& registers, uint64_t linear, void* destination,
                  size_t length, const PhysicalReader& readPhysical);

} // namespace kvmscope::debug
