#pragma once
// The memory operand of an instruction kvmscope completes for a host's instruction emulator
// (cpu/EmulationFallback.h): from its segment and offset to the guest-physical bytes, with every
// check the CPU makes on a data access on the way, in the SDM's order:
//
//   segmentation  64-bit mode: only FS and GS add a base, the address must be canonical (Intel
//                 SDM vol. 3A, 3.3.7.1 and 5.3.1); otherwise the segment must be usable, readable
//                 or writable as asked, and the whole access inside its limit (5.1, 5.3).
//                 #SS(0) when the segment is SS, #GP(0) otherwise.
//   alignment     #AC(0) for a misaligned access at CPL 3 with CR0.AM and EFLAGS.AC (6.15).
//   paging        the walk of debug/PageWalker, then the access rights of SDM 4.6 (U/S, R/W with
//                 CR0.WP, SMAP with EFLAGS.AC); #PF with CR2 and the error code of SDM 4.7.
//                 The accessed and dirty flags are set as the walk would (SDM 4.8).
//
// What kvmscope does not model is refused, so the vcpu stops with the instruction shown instead
// of running on with a wrong answer: real and virtual-8086 mode, expand-down segments,
// protection keys, an operand outside guest RAM (page tables or data in MMIO space), and a
// fault on an access that crosses a page boundary (which of the two pages the CPU reports first
// is not architectural).
#include "kvm/compat.h"

#include <cstdint>
#include <span>

namespace kvmscope {
class GuestMemory;
}

namespace kvmscope::cpu {

enum class SegmentRegister { Es, Cs, Ss, Ds, Fs, Gs };

// An exception the instruction raises instead of completing (a fault: RIP stays on it).
struct CpuException {
    uint8_t vector = 0;
    bool hasErrorCode = false;
    uint32_t errorCode = 0;
    bool setsCr2 = false; // #PF: CR2 receives `cr2`, the faulting linear address
    uint64_t cr2 = 0;
};

struct OperandAccess {
    enum class Outcome {
        Done,    // the bytes were read or written
        Raise,   // the access faults with `exception`; memory is untouched
        Refused, // kvmscope does not model this case: leave the instruction to stop the vcpu
    };
    Outcome outcome = Outcome::Refused;
    CpuException exception;
    const char* refusal = ""; // why, for Outcome::Refused
};

constexpr uint8_t kStackFaultVector = 12;        // #SS
constexpr uint8_t kGeneralProtectionVector = 13; // #GP
constexpr uint8_t kPageFaultVector = 14;         // #PF
constexpr uint8_t kAlignmentCheckVector = 17;    // #AC

// #PF error code bits (SDM vol. 3A 4.7).
constexpr uint32_t kPageFaultPresent = 1u << 0; // a protection violation, not a missing page
constexpr uint32_t kPageFaultWrite = 1u << 1;
constexpr uint32_t kPageFaultUser = 1u << 2; // the access was made at CPL 3

// Reads `data.size()` bytes (1 to 8) at `segment`:`offset` into `data`, or writes them from it
// when `write`. `offset` is the instruction's effective address, already wrapped to its address
// size; `sregs` and `rflags` are the vcpu's at the instruction.
OperandAccess accessOperand(const kvm_sregs& sregs, uint64_t rflags, SegmentRegister segment,
                            uint64_t offset, std::span<uint8_t> data, bool write,
                            GuestMemory& memory);

} // namespace kvmscope::cpu
