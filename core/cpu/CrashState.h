#pragma once
// What kvmscope can say about a vcpu after its guest crashed, for the headless report and the
// window's crash dialog alike: the state KVM reports now, and the general registers at the last
// exit that reached kvmscope before the stop. On AMD hosts KVM resets a vcpu at the SHUTDOWN
// intercept of a triple fault (the VMCB is undefined there), so "now" is the processor's reset
// state and only the last exit still shows the guest's own registers; the report says which is
// which rather than passing a reset state off as the crash.
#include "cpu/CpuState.h"
#include "cpu/VcpuRunner.h"

#include <optional>
#include <string>

namespace kvmscope::cpu {

struct CrashState {
    uint32_t vcpu = 0;
    std::optional<CpuState> now;                  // empty when it could not be read (error)
    std::optional<VcpuRunner::LastExit> lastExit; // empty without sync regs or any exit
    std::string error;
    // `now` is the reset state: KVM reset the vcpu when it reported the stop.
    bool resetByKvm() const { return now && isResetState(*now); }
};

// Reads both from the parked runner (each through call(), on the vcpu thread).
CrashState readCrashState(VcpuRunner& runner, uint32_t vcpu, int timeoutMs);

// The report: KVM's state now (with a note when it is the reset state), then the registers at
// the last exit with its reason and how long before `reportNs` (trace::monotonicNs()) it was.
std::string formatCrashState(const CrashState& state, uint64_t reportNs);

} // namespace kvmscope::cpu
