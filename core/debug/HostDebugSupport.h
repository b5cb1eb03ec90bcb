#pragma once
// What this host's KVM can do for a debugger, one finding per mechanism, and the choice of
// mechanism each breakpoint gets from those findings. Pure code: the findings come from
// debug/HostDebugProbe.h (tiny guests in throwaway VMs), and tests hand in their own.
//
// A breakpoint takes the best mechanism the probe saw work and never one it saw fail: a
// breakpoint that cannot fire is refused (InputError naming the finding), never armed and silent.
#include <array>
#include <optional>
#include <string>

namespace kvmscope::debug {

enum class BreakpointKind {
    Software,       // "break here": int3 where the host allows it, else the fallbacks below
    Hardware,       // an execution breakpoint in a debug register (DR0-DR3), else stepping
    WriteWatch,     // a data watchpoint on writes
    ReadWriteWatch, // a data watchpoint on reads and writes
};
const char* toString(BreakpointKind kind);

// How a breakpoint is realised.
enum class BreakMechanism {
    Int3,          // 0xCC in guest memory, KVM_GUESTDBG_USE_SW_BP
    DebugRegister, // a DR0-DR3 slot, KVM_GUESTDBG_USE_HW_BP
    SteppingCheck, // the vcpus single-step and compare RIP (slow)
};
const char* toString(BreakMechanism mechanism);

// One mechanism as the probe saw it.
struct ProbeFinding {
    bool works = false;
    std::string detail; // what was observed, e.g. "... in ring 0 gave KVM_EXIT_HLT"
};

struct HostDebugSupport {
    ProbeFinding int3Ring0;      // int3 with USE_SW_BP reaches us as KVM_EXIT_DEBUG (#BP)
    ProbeFinding int3Ring3;      // the same from CPL 3
    ProbeFinding executionRing0; // a DR0 execution breakpoint stops at its instruction
    ProbeFinding executionRing3; // the same from CPL 3
    ProbeFinding writeWatch;     // a DR0 write watchpoint fires on a store
    ProbeFinding readWriteWatch; // a DR0 read/write watchpoint fires on a load
    ProbeFinding stepRing0;      // KVM_GUESTDBG_SINGLESTEP stops after each instruction
    ProbeFinding stepRing3;      // the same from CPL 3

    struct Entry {
        const char* name; // "int3 in ring 0", ...
        ProbeFinding HostDebugSupport::*finding;
    };
    // Every finding with its name, in the order above (the Host dock and gdb's monitor list it).
    static const std::array<Entry, 8>& entries();

    // What the breakpoint kinds rest on. int3 needs both rings: an int3 that reaches the guest
    // instead of kvmscope would be taken by the guest as its own #BP. Debug registers and
    // stepping are judged in ring 0, where kvmscope's guests and the kernels it debugs run.
    bool int3() const { return int3Ring0.works && int3Ring3.works; }
    bool executionBreakpoints() const { return executionRing0.works; }
    bool stepping() const { return stepRing0.works; }
};

// The mechanism a new breakpoint of `kind` gets, or why there is none. `temporary` ones (step
// over, run to) never patch memory; `freeDebugRegisters` is how many of DR0-DR3 are free.
struct MechanismChoice {
    std::optional<BreakMechanism> mechanism; // empty: refused
    // Refused: why, naming the probe's finding. Chosen below the best for its kind (a fallback):
    // why the better ones could not be used. Empty otherwise.
    std::string note;
    bool fallback = false; // a better mechanism for this kind exists but cannot be used here
};
MechanismChoice chooseMechanism(BreakpointKind kind, bool temporary, const HostDebugSupport& host,
                                unsigned freeDebugRegisters);

} // namespace kvmscope::debug
