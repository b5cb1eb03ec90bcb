#include "cpu/VcpuStop.h"

#include "trace/ExitRecord.h"

#include <algorithm>
#include <fmt/format.h>

namespace kvmscope::cpu {

const char* toString(StopCause cause) {
    switch (cause) {
    case StopCause::None:
        return "none";
    case StopCause::Shutdown:
        return "triple fault (shutdown)";
    case StopCause::InternalError:
        return "internal error";
    case StopCause::FailEntry:
        return "failed entry";
    case StopCause::Halted:
        return "halted";
    case StopCause::Debug:
        return "debug exit";
    case StopCause::ExitBreakpoint:
        return "exit breakpoint";
    case StopCause::SystemEvent:
        return "system event";
    case StopCause::Stepped:
        return "stepped";
    case StopCause::HostError:
        return "host error";
    }
    return "?";
}

bool VcpuStop::crash() const {
    return cause == StopCause::Shutdown || cause == StopCause::InternalError ||
           cause == StopCause::FailEntry || cause == StopCause::HostError;
}

VcpuStop describeStop(uint32_t vcpu, StopCause cause, const kvm_run& run) {
    VcpuStop stop{vcpu, cause, run.exit_reason, 0, {}};
    std::string detail;
    switch (run.exit_reason) {
    case KVM_EXIT_INTERNAL_ERROR: {
        // api.rst 5: suberror 1 = KVM_INTERNAL_ERROR_EMULATION; data[] holds the instruction
        // bytes when the kernel provides them
        // (KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES).
        detail = fmt::format("suberror {}", run.internal.suberror);
        const uint32_t n = std::min<uint32_t>(run.internal.ndata, 16);
        if (n > 0) {
            detail += ", data";
            for (uint32_t i = 0; i < n; ++i)
                detail += fmt::format(" {:#x}", run.internal.data[i]);
        }
        break;
    }
    case KVM_EXIT_FAIL_ENTRY:
        detail = fmt::format("hardware entry failure reason {:#x} on cpu {}",
                             run.fail_entry.hardware_entry_failure_reason, run.fail_entry.cpu);
        break;
    case KVM_EXIT_SYSTEM_EVENT:
        stop.systemEventType = run.system_event.type;
        detail = fmt::format("type {}", run.system_event.type);
        break;
    case KVM_EXIT_DEBUG:
        stop.debug = run.debug.arch;
        detail = fmt::format("exception {} pc {:#x} dr6 {:#x} dr7 {:#x}", run.debug.arch.exception,
                             run.debug.arch.pc, run.debug.arch.dr6, run.debug.arch.dr7);
        break;
    default:
        break;
    }
    stop.description =
        fmt::format("vcpu {} stopped: {} (KVM_EXIT_{}{}{})", vcpu, toString(cause),
                    trace::exitReasonName(run.exit_reason), detail.empty() ? "" : ": ", detail);
    return stop;
}

} // namespace kvmscope::cpu
