#pragma once
// What the vcpu thread does with one exit from KVM_RUN, decided from the kvm_run alone: the exit
// reason and its union member (api.rst 5, "The kvm_run structure") and the little the runner
// knows about the run (a requested single step, whether the debugger's int3 breakpoints are
// armed, the step-check addresses, the exit breakpoints). decodeExit needs no vcpu fd and
// performs nothing: the runner (cpu/VcpuRunner.cpp) dispatches the access, completes the
// instruction or parks as the action says, and the tests hand it kvm_run structures filled in
// by hand.
//
// The decision is on the exit path: for a port or MMIO exit it allocates nothing and takes no
// lock (design: "Threads"). Only a stop formats its description, and only armed exit breakpoints
// take their own lock (debug/ExitBreakpoints.h).
#include "cpu/VcpuStop.h"
#include "kvm/compat.h"

#include <asm/debugreg.h>
#include <cstdint>
#include <span>

namespace kvmscope::debug {
class ExitBreakpoints;
}

namespace kvmscope::cpu {

// DR6.BS (Intel SDM vol. 3B 18.2.3; DR_STEP in the kernel's UAPI): the #DB was a single-step trap.
constexpr uint64_t kDr6SingleStep = DR_STEP;

// What the runner knows about the run an exit belongs to.
struct ExitContext {
    uint32_t vcpu = 0;                // for the stop's description
    bool singleStep = false;          // a requested step runs (KVM_GUESTDBG_SINGLESTEP)
    bool softwareBreakpoints = false; // KVM has KVM_GUESTDBG_USE_SW_BP: an int3 is the debugger's
    std::span<const uint64_t> stepCheck; // linear addresses a continue by steps stops at
    const debug::ExitBreakpoints* exitBreakpoints = nullptr; // checked before any other decision
};

struct ExitAction {
    enum class Kind {
        Resume,       // nothing for user space (IRQ window, TPR access, a step-check step that
                      // did not land on one of its addresses): KVM_RUN again
        DispatchIo,   // KVM_EXIT_IO: hand the access to the port bus; the next KVM_RUN completes it
        DispatchMmio, // KVM_EXIT_MMIO: the same with the MMIO bus
        CompleteInstruction, // KVM_EXIT_INTERNAL_ERROR on an instruction the host's emulator
                             // could not run (`instruction`): kvmscope may complete it
                             // (cpu/EmulationFallback.h) and run on; if not, the vcpu stops
                             // with StopCause::InternalError (describeStop)
        StepDone,            // the requested single step finished; `stepPc` is the next instruction
        Interrupted,         // KVM_EXIT_INTR: a signal, a kick; leave KVM_RUN without a stop
        Stop,                // park the vcpu and report `stop`
    };
    Kind kind = Kind::Resume;
    // DispatchIo/DispatchMmio in a requested single step: the access is the step's instruction,
    // which completing the access ends (decodeExit says why).
    bool endsStep = false;
    uint64_t stepPc = 0; // StepDone: linear address of the next instruction (KVM_EXIT_DEBUG pc)
    std::span<const uint8_t> instruction; // CompleteInstruction: its bytes, in the kvm_run
    VcpuStop stop;                        // Stop: the stop to report

    // Whether a requested single step ended with this exit.
    bool finishesStep() const { return kind == Kind::StepDone || endsStep; }
    // Whether KVM_RUN is entered again once the exit is handled (CompleteInstruction: decided
    // by the runner).
    bool runsOn() const {
        return (kind == Kind::Resume || kind == Kind::DispatchIo || kind == Kind::DispatchMmio) &&
               !endsStep;
    }
};

// The action for the exit in `run`.
ExitAction decodeExit(const kvm_run& run, const ExitContext& context);

} // namespace kvmscope::cpu
