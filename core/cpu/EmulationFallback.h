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
// Anything else stays an internal error that stops the VM with the bytes shown: kvmscope is not
// an instruction emulator, and each entry here is one whose whole behaviour fits in a line.
#include <cstdint>
#include <span>

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
};

constexpr uint64_t kCr0MonitorCoprocessor = 1u << 1; // CR0.MP
constexpr uint64_t kCr0TaskSwitched = 1u << 3;       // CR0.TS
constexpr uint16_t kFpuStatusErrorSummary = 1u << 7; // FSW.ES

// `instruction` starts at RIP (as many bytes as KVM reported); `cr0` and `fpuStatus` (the x87
// status word) are the vcpu's at the exit.
FallbackAction decideFallback(std::span<const uint8_t> instruction, uint64_t cr0,
                              uint16_t fpuStatus);

} // namespace kvmscope::cpu
