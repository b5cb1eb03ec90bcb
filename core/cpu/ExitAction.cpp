#include "cpu/ExitAction.h"

#include "debug/ExitBreakpoints.h"

#include <algorithm>

namespace kvmscope::cpu {
namespace {

constexpr uint8_t kInt3Opcode = 0xCC; // INT3 (Intel SDM vol. 2A, "INT n/INTO/INT3/INT1")

ExitAction stopAt(StopCause cause, const kvm_run& run, const ExitContext& context) {
    ExitAction action;
    action.kind = ExitAction::Kind::Stop;
    action.stop = describeStop(context.vcpu, cause, run);
    return action;
}

ExitAction access(ExitAction::Kind kind, const ExitContext& context) {
    ExitAction action;
    action.kind = kind;
    // A step whose instruction exits for I/O or MMIO is that instruction: completing the access
    // (a KVM_RUN with immediate_exit set) ends it without running the guest further. Letting
    // KVM_RUN go on instead relies on the kernel raising the single-step trap when it completes
    // the access, which a host whose KVM emulates the instruction may skip (it was seen to run a
    // second instruction before the trap).
    action.endsStep = context.singleStep;
    return action;
}

// KVM_EXIT_DEBUG (api.rst 5: arch.pc is the linear address of the next instruction, arch.dr6
// says why, as DR6 does for a #DB).
ExitAction debugExit(const kvm_run& run, const ExitContext& context) {
    const auto& arch = run.debug.arch;
    const bool stepTrap = (arch.dr6 & kDr6SingleStep) != 0;
    if (context.singleStep && stepTrap) {
        ExitAction action;
        action.kind = ExitAction::Kind::StepDone;
        action.stepPc = arch.pc;
        return action;
    }
    // Stepping to find an address no breakpoint can mark: step on until one is reached.
    if (stepTrap && !context.stepCheck.empty() &&
        std::find(context.stepCheck.begin(), context.stepCheck.end(), arch.pc) ==
            context.stepCheck.end())
        return ExitAction{};
    // A breakpoint, a watchpoint, or a step-check address reached.
    return stopAt(StopCause::Debug, run, context);
}

// KVM_EXIT_INTERNAL_ERROR: an instruction the host's emulator could not run is one kvmscope may
// complete (cpu/EmulationFallback.h) when KVM gave its bytes (api.rst 5, "emulation_failure":
// suberror KVM_INTERNAL_ERROR_EMULATION with KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES).
// Not an int3 while the debugger has its own int3 breakpoints armed: that one is the debugger's
// (they arrive as KVM_EXIT_DEBUG where the host supports them).
// The stop is described only when it happens: on a host that emulates ring 0, Linux sends
// instructions this way often (LDMXCSR in kernel_fpu_begin(), cpu/EmulationFallback.h).
ExitAction internalError(const kvm_run& run, const ExitContext& context) {
    const auto& failure = run.emulation_failure;
    if (failure.suberror != KVM_INTERNAL_ERROR_EMULATION ||
        !(failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) ||
        failure.insn_size == 0)
        return stopAt(StopCause::InternalError, run, context);
    const std::span<const uint8_t> bytes(
        failure.insn_bytes, std::min<size_t>(failure.insn_size, sizeof failure.insn_bytes));
    if (bytes.front() == kInt3Opcode && context.softwareBreakpoints)
        return stopAt(StopCause::InternalError, run, context);
    ExitAction action;
    action.kind = ExitAction::Kind::CompleteInstruction;
    action.instruction = bytes;
    return action;
}

} // namespace

ExitAction decodeExit(const kvm_run& run, const ExitContext& context) {
    // Without exit breakpoints this is one relaxed load: the exit path stays as cheap as before.
    // A hit stops before the device sees the access, which stays pending in kvm_run.
    if (context.exitBreakpoints && context.exitBreakpoints->armed()) [[unlikely]] {
        if (const auto hit = context.exitBreakpoints->match(run)) {
            ExitAction action = stopAt(StopCause::ExitBreakpoint, run, context);
            action.stop.exitBreakpoint = hit->id;
            action.stop.accessAddress = hit->address;
            action.stop.accessValue = hit->value;
            action.stop.description += ": " + hit->description;
            return action;
        }
    }
    switch (run.exit_reason) {
    case KVM_EXIT_IO:
        return access(ExitAction::Kind::DispatchIo, context);
    case KVM_EXIT_MMIO:
        return access(ExitAction::Kind::DispatchMmio, context);
    case KVM_EXIT_DEBUG:
        return debugExit(run, context);
    case KVM_EXIT_INTR: {
        ExitAction action;
        action.kind = ExitAction::Kind::Interrupted;
        return action;
    }
    case KVM_EXIT_IRQ_WINDOW_OPEN:
    case KVM_EXIT_TPR_ACCESS:
        return ExitAction{};
    case KVM_EXIT_SHUTDOWN:
        return stopAt(StopCause::Shutdown, run, context);
    case KVM_EXIT_INTERNAL_ERROR:
        return internalError(run, context);
    case KVM_EXIT_FAIL_ENTRY:
        return stopAt(StopCause::FailEntry, run, context);
    case KVM_EXIT_HLT:
        return stopAt(StopCause::Halted, run, context);
    case KVM_EXIT_SYSTEM_EVENT:
        return stopAt(StopCause::SystemEvent, run, context);
    default:
        return stopAt(StopCause::HostError, run, context);
    }
}

} // namespace kvmscope::cpu
