#include "inspect/CrashReport.h"

#include "cpu/CrashState.h"
#include "machine/Machine.h"
#include "trace/ExitRecord.h"

namespace kvmscope::inspect {

CrashReport readCrashReport(Machine& machine, uint32_t vcpu, int timeoutMs) {
    const cpu::CrashState state = cpu::readCrashState(machine.vcpu(vcpu), vcpu, timeoutMs);
    return CrashReport{vcpu, state.resetByKvm(), state.lastExit.has_value(),
                       cpu::formatCrashState(state, trace::monotonicNs())};
}

} // namespace kvmscope::inspect
