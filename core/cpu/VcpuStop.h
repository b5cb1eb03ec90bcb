#pragma once
// Why a vcpu stopped by itself, and the report of that stop which the machine (VcpuHost) and the
// debugger receive. A stop at an exit is described from the kvm_run alone (describeStop), so the
// exit decoding (cpu/ExitAction.h) and its tests need no vcpu.
#include "kvm/compat.h"

#include <cstdint>
#include <string>

namespace kvmscope::cpu {

// Why a vcpu stopped by itself.
enum class StopCause {
    None,
    Shutdown,       // KVM_EXIT_SHUTDOWN: triple fault
    InternalError,  // KVM_EXIT_INTERNAL_ERROR (e.g. the emulator could not run an instruction)
    FailEntry,      // KVM_EXIT_FAIL_ENTRY: the hardware refused the state
    Halted,         // KVM_EXIT_HLT (only without an in-kernel irqchip)
    Debug,          // KVM_EXIT_DEBUG not caused by a requested single step
    ExitBreakpoint, // an exit breakpoint matched (the I/O or MMIO access is still pending)
    SystemEvent,    // KVM_EXIT_SYSTEM_EVENT (shutdown/reset/crash requested through the kernel)
    Stepped,        // a step request that asked for a report finished (StepRequest::report)
    HostError,      // KVM_RUN itself failed, or an exit kvmscope does not handle
};
const char* toString(StopCause cause);

struct VcpuStop {
    uint32_t vcpu = 0;
    StopCause cause = StopCause::None;
    uint32_t exitReason = 0;
    uint32_t systemEventType = 0; // KVM_SYSTEM_EVENT_* for StopCause::SystemEvent
    std::string description; // complete sentence, with exit data (e.g. suberror, instruction bytes)
    kvm_debug_exit_arch debug{}; // StopCause::Debug: exception, linear pc, DR6, DR7
    int exitBreakpoint = 0;      // StopCause::ExitBreakpoint: its id
    uint64_t accessAddress = 0;  // StopCause::ExitBreakpoint: port or MMIO address
    uint64_t accessValue = 0;    // StopCause::ExitBreakpoint: the value written
    uint64_t steps = 0;          // StopCause::Stepped: instructions stepped (pc in debug.pc)
    bool crash() const;          // the guest failed (status 4 on the CLI)
};

// The stop `cause` of vcpu `vcpu` at the exit in `run`, with the exit's data (api.rst 5, the
// exit reason's union member) in the fields and the description, e.g. "vcpu 0 stopped: failed
// entry (KVM_EXIT_FAIL_ENTRY: hardware entry failure reason 0x21 on cpu 3)".
VcpuStop describeStop(uint32_t vcpu, StopCause cause, const kvm_run& run);

} // namespace kvmscope::cpu
