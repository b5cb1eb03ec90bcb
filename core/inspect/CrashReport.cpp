#include "inspect/CrashReport.h"

#include "cpu/CrashState.h"
#include "inspect/TripleFaultAutopsy.h"
#include "machine/Machine.h"
#include "trace/ExitRecord.h"

namespace kvmscope::inspect {
namespace {

// The best state known at the fault: KVM's own where it did not reset the vcpu, else the last
// exit's where KVM copied its system registers too; nullopt with the reason otherwise.
std::optional<FaultState> faultStateOf(const cpu::CrashState& state, std::string& why) {
    if (state.now && !state.resetByKvm()) {
        FaultState fault;
        fault.source = FaultState::Source::AtShutdown;
        fault.regs = state.now->regs;
        fault.sregs = state.now->sregs;
        fault.events = state.now->events;
        return fault;
    }
    if (state.lastExit && state.lastExit->hasSregs) {
        FaultState fault;
        fault.source = FaultState::Source::LastExit;
        fault.regs = state.lastExit->regs;
        fault.sregs = state.lastExit->sregs;
        fault.lastExitReason = state.lastExit->reason;
        return fault;
    }
    if (!state.now)
        why = "the vcpu's registers could not be read: " + state.error;
    else if (state.lastExit)
        why = "KVM reset the vcpu at the shutdown, and this KVM does not copy the system "
              "registers to kvm_run at each exit (KVM_SYNC_X86_SREGS): the descriptor tables and "
              "paging at the fault are unknown";
    else
        why = "KVM reset the vcpu at the shutdown, and no exit before it recorded the guest's "
              "state";
    return std::nullopt;
}

} // namespace

CrashReport readCrashReport(Machine& machine, uint32_t vcpu, int timeoutMs) {
    const cpu::CrashState state = cpu::readCrashState(machine.vcpu(vcpu), vcpu, timeoutMs);
    CrashReport report{vcpu,
                       state.resetByKvm(),
                       state.lastExit.has_value(),
                       cpu::formatCrashState(state, trace::monotonicNs()),
                       {},
                       {}};
    const std::optional<MachineStop> stop = machine.stopState();
    if (!stop || stop->kind != StopKind::Crash || stop->exitReason != KVM_EXIT_SHUTDOWN ||
        stop->vcpu != vcpu)
        return report;
    std::string why;
    if (const std::optional<FaultState> fault = faultStateOf(state, why)) {
        const TripleFaultAutopsy autopsy = reconstructTripleFault(*fault, guestViewOf(machine));
        report.autopsySummary = autopsy.summary;
        report.autopsy = formatAutopsy(autopsy);
    } else {
        report.autopsySummary = "no autopsy: " + why;
        report.autopsy = "Triple-fault autopsy: none: " + why + "\n";
    }
    return report;
}

} // namespace kvmscope::inspect
