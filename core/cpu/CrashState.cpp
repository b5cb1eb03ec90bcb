#include "cpu/CrashState.h"

#include "common/Error.h"
#include "trace/ExitRecord.h"

#include <fmt/format.h>

namespace kvmscope::cpu {

CrashState readCrashState(VcpuRunner& runner, uint32_t vcpu, int timeoutMs) {
    CrashState state;
    state.vcpu = vcpu;
    try {
        state.now = runner.readState(timeoutMs);
        state.lastExit = runner.lastExit(timeoutMs);
    } catch (const Error& error) {
        state.error = error.what();
    }
    return state;
}

std::string formatCrashState(const CrashState& state, uint64_t reportNs) {
    std::string text;
    if (state.now) {
        text += fmt::format("vcpu {} as KVM reports it after the stop:\n{}\n", state.vcpu,
                            formatRegisters(*state.now));
        if (state.resetByKvm())
            text += "KVM reset this vcpu when it reported the shutdown (an AMD host's SHUTDOWN "
                    "intercept leaves its state undefined): these are its reset values, not the "
                    "crash.\n";
    } else {
        text += fmt::format("vcpu {}: registers unavailable: {}\n", state.vcpu, state.error);
    }
    if (state.lastExit) {
        const uint64_t ago =
            reportNs > state.lastExit->timestampNs ? reportNs - state.lastExit->timestampNs : 0;
        text += fmt::format("vcpu {} at its last exit to kvmscope before the stop ({}, {:.1f} ms "
                            "before this report):\n{}",
                            state.vcpu, trace::exitReasonName(state.lastExit->reason),
                            static_cast<double>(ago) / 1e6,
                            formatGeneralRegisters(state.lastExit->regs));
    }
    return text;
}

} // namespace kvmscope::cpu
