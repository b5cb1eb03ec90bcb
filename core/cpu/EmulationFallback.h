#pragma once
// The few instructions kvmscope completes itself when the host's KVM could not. On a host whose
// KVM emulates guest ring-0 code (no VMX/SVM), every ring-0 instruction goes through an
// instruction emulator, and one it cannot run stops the vcpu with KVM_EXIT_INTERNAL_ERROR
// (suberror KVM_INTERNAL_ERROR_EMULATION) and the instruction's bytes (api.rst 5,
// "emulation_failure"). Linux executes two such one-byte instructions at boot:
//
//   INT3 (0xCC)   the alternatives' int3 self-test, and text_poke_bp whenever code is patched
//                 live. #BP is a trap: RIP moves past the int3, then #BP is delivered
//                 (Intel SDM vol. 3A, 6.15 "Interrupt 3 - Breakpoint Exception").
//   FWAIT (0x9B)  after FNINIT/FNSAVE in the FPU code, on each vcpu. #NM when CR0.MP and CR0.TS
//                 are both set, #MF when an unmasked x87 exception is pending (FSW.ES), else it
//                 does nothing (SDM vol. 2B, "WAIT/FWAIT").
//
// and two with a memory operand, which Linux's kernel_fpu_begin() runs (LDMXCSR of the default
// MXCSR) and which KVM's emulator does not know (SDM vol. 2A, "LDMXCSR", vol. 2B, "STMXCSR"):
//
//   LDMXCSR m32 (0F AE /2)  MXCSR := m32; #GP(0) for a bit set outside the MXCSR_MASK
//   STMXCSR m32 (0F AE /3)  m32 := MXCSR
//
// Both: #UD with CR0.EM = 1 or CR4.OSFXSR = 0, then #NM with CR0.TS = 1, then the faults of
// reaching the operand (cpu/GuestOperand.h). The VEX forms (VLDMXCSR/VSTMXCSR) are left out:
// they also depend on XCR0, and a guest without XSAVE (what kvmscope gives Linux on such hosts)
// cannot use them.
//
// Anything else stays an internal error that stops the VM with the bytes shown: kvmscope is not
// an instruction emulator, and each entry here is one whose whole behaviour fits in a line.
#include "kvm/compat.h"

#include <cstdint>
#include <optional>
#include <span>

namespace kvmscope {
class GuestMemory;
namespace kvm {
class Vcpu;
}
} // namespace kvmscope

namespace kvmscope::cpu {

struct FallbackAction {
    enum class Kind {
        NotHandled,   // not an instruction kvmscope completes: the vcpu stops
        Skip,         // the instruction did its work: RIP += length
        SkipAndRaise, // a trap: RIP += length, then deliver `vector`
        Raise,        // a fault: RIP stays on the instruction, deliver `vector`
    };
    Kind kind = Kind::NotHandled;
    uint8_t length = 0;
    uint8_t vector = 0;
    const char* mnemonic = "";
    bool hasErrorCode = false; // Raise: the exception pushes `errorCode`
    uint32_t errorCode = 0;
    bool setsCr2 = false; // Raise of #PF: CR2 receives `cr2` first
    uint64_t cr2 = 0;
};

constexpr uint64_t kCr0MonitorCoprocessor = 1u << 1; // CR0.MP
constexpr uint64_t kCr0TaskSwitched = 1u << 3;       // CR0.TS
constexpr uint16_t kFpuStatusErrorSummary = 1u << 7; // FSW.ES

// `instruction` starts at RIP (as many bytes as KVM reported); `cr0` and `fpuStatus` (the x87
// status word) are the vcpu's at the exit.
FallbackAction decideFallback(std::span<const uint8_t> instruction, uint64_t cr0,
                              uint16_t fpuStatus);

constexpr uint64_t kCr0Emulation = 1u << 2;    // CR0.EM
constexpr uint64_t kCr4Osfxsr = 1u << 9;       // CR4.OSFXSR
constexpr uint32_t kDefaultMxcsrMask = 0xFFBF; // SDM vol. 1 11.6.6: MXCSR_MASK 0 means this

// LDMXCSR/STMXCSR with a memory operand. `action` is NotHandled for any other instruction and for
// a case kvmscope does not model (`refusal` says which); a completed STMXCSR has written guest
// memory, a completed LDMXCSR gives the new MXCSR in `mxcsr` for the caller to set.
struct MxcsrCompletion {
    FallbackAction action;
    std::optional<uint32_t> mxcsr;
    const char* refusal = "";
};

// `instruction` starts at RIP; `regs`, `sregs` and `mxcsr` are the vcpu's, `mxcsrMask` the bits
// LDMXCSR may set (hostMxcsrMask()).
MxcsrCompletion completeMxcsrInstruction(std::span<const uint8_t> instruction, const kvm_regs& regs,
                                         const kvm_sregs& sregs, uint32_t mxcsr, uint32_t mxcsrMask,
                                         GuestMemory& memory);

// The MXCSR_MASK field of an FXSAVE image taken on this host, kDefaultMxcsrMask when that field
// is 0 (SDM vol. 1 11.6.6). Guests run on the host's CPU, so this is theirs too.
uint32_t hostMxcsrMask();

struct CompletedInstruction {
    const char* mnemonic = "";
    uint64_t rip = 0; // where the instruction was
};

// On the vcpu's own thread, at the KVM_EXIT_INTERNAL_ERROR that reported the bytes of the
// instruction at RIP (`instruction`): completes it as decideFallback says, or else as
// completeMxcsrInstruction says with `memory` (null: an instruction with a memory operand stays
// refused). RIP moves past it, MXCSR or CR2 take their new value and the exception is injected
// (KVM_SET_REGS, Vcpu::setFpu, KVM_SET_SREGS, KVM_SET_VCPU_EVENTS). nullopt, the registers
// untouched, for an instruction kvmscope does not complete, or one that raises an exception
// while another event is mid-delivery (the injection would replace that event): the vcpu stops.
std::optional<CompletedInstruction>
completeInstruction(kvm::Vcpu& vcpu, std::span<const uint8_t> instruction, GuestMemory* memory);

} // namespace kvmscope::cpu
