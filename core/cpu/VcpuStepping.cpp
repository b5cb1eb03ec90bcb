// VcpuRunner's step requests: a count of single steps, gdb's range stepping, the step-check
// addresses, each stepped on the vcpu thread one KVM_RUN after another without parking in
// between (docs/debugger.md, "Many steps in one request"). A step is KVM_GUESTDBG_SINGLESTEP
// added to the armed guest-debug state (api.rst 4.59 KVM_SET_GUEST_DEBUG; applyGuestDebug), and
// it ends at the step's KVM_EXIT_DEBUG or at the access its instruction exits for
// (cpu/ExitAction.h).
#include "cpu/ExitAction.h"
#include "cpu/VcpuRunner.h"

#include <algorithm>
#include <fmt/format.h>

namespace kvmscope::cpu {

void VcpuRunner::step(const StepRequest& request) {
    {
        std::lock_guard lock(mutex_);
        if (request_ == Request::Quit)
            return;
        request_ = Request::Step;
        stepRequest_ = request;
        stepRequest_.count = std::max<uint64_t>(request.count, 1);
        ++stepSerial_;
    }
    setState(RunState::Running); // see resume()
    changed_.notify_all();
}

void VcpuRunner::setStepCheckAddresses(std::vector<uint64_t> linearAddresses) {
    {
        std::lock_guard lock(mutex_);
        stepCheck_ = std::move(linearAddresses);
    }
    if (state_.load() == RunState::Running)
        kick();
}

void VcpuRunner::runSteps(const StepRequest& request, uint64_t serial) {
    lastStepPc_.store(kNoStepPc, std::memory_order_relaxed);
    stepsDone_.store(0, std::memory_order_relaxed);
    stepPcs_.clear();
    const bool ranged = request.rangeBegin < request.rangeEnd;
    uint64_t done = 0;
    uint64_t pc = 0;
    // Every way out leaves the count and the last completed step's address for the caller.
    auto finish = [&] {
        lastStepPc_.store(done > 0 ? pc : kNoStepPc, std::memory_order_relaxed);
        stepsDone_.store(done, std::memory_order_release);
    };
    while (done < request.count) {
        if (!runUntilInterrupted(true)) {
            // A stop (it has reported itself and asked to park), a pause, or a kick that only
            // brought new breakpoints: the last steps again with them, the others end here.
            if (stepsContinue(serial))
                continue;
            finish();
            return;
        }
        ++done;
        // The step's KVM_EXIT_DEBUG gave the next instruction's address; a step that ended at an
        // access did not, and the registers (the access completed) say it.
        const auto reported = lastStepPc_.load(std::memory_order_relaxed);
        pc = reported != kNoStepPc ? reported : currentLinearPc();
        if (request.recordPcs)
            stepPcs_.push_back(pc);
        runStepWithoutBreakpoints_ = false; // only the first step leaves them out
        if (done == request.count ||
            (ranged && (pc < request.rangeBegin || pc >= request.rangeEnd)))
            break;
        // More steps to go onto an address no breakpoint can mark (debugger: SteppingCheck):
        // that ends them as the stop it is, the same one a continue by steps reports. A debug
        // register's or an int3's breakpoint fires by itself in the next step's KVM_RUN.
        if (std::find(runStepCheck_.begin(), runStepCheck_.end(), pc) != runStepCheck_.end()) {
            finish();
            VcpuStop stop{vcpu_.id(), StopCause::Debug, KVM_EXIT_DEBUG, 0, {}};
            stop.debug.exception = 1; // #DB
            stop.debug.dr6 = kDr6SingleStep;
            stop.debug.pc = pc;
            stop.description = fmt::format("vcpu {} stopped: stepped onto {:#x}", vcpu_.id(), pc);
            reportStop(stop);
            return;
        }
        if (!stepsContinue(serial)) {
            finish();
            return;
        }
    }
    finish();
    if (!request.report)
        return;
    VcpuStop stop{vcpu_.id(), StopCause::Stepped, KVM_EXIT_DEBUG, 0, {}};
    stop.steps = request.stepsBefore + done;
    stop.debug.exception = 1;
    stop.debug.dr6 = kDr6SingleStep;
    stop.debug.pc = pc;
    stop.description = fmt::format("vcpu {} stepped {} instruction{} to {:#x}", vcpu_.id(),
                                   stop.steps, stop.steps == 1 ? "" : "s", pc);
    {
        // Parks unless another request came meanwhile (a pause, a resume, a new step request).
        std::lock_guard lock(mutex_);
        if (request_ == Request::Step && stepSerial_ == serial)
            request_ = Request::Pause;
    }
    host_.vcpuStopped(stop);
}

bool VcpuRunner::stepsContinue(uint64_t serial) {
    if (host_.machineStopping())
        return false;
    std::lock_guard lock(mutex_);
    if (request_ != Request::Step || stepSerial_ != serial)
        return false;
    // Still ours. A kick since (setGuestDebug, setStepCheckAddresses) set immediate_exit: take
    // the settings it announced and clear it, as a new run does.
    runDebug_ = armedDebug_;
    runStepCheck_ = stepCheck_;
    clearKick();
    return true;
}

uint64_t VcpuRunner::currentLinearPc() {
    return linearPc(vcpu_.regs(), vcpu_.sregs());
}

std::vector<uint64_t> VcpuRunner::stepPcs() const {
    // Written by the vcpu thread before it parks; the park (setState under mutex_) orders it.
    std::lock_guard lock(mutex_);
    return stepPcs_;
}

std::optional<uint64_t> VcpuRunner::lastStepPc() const {
    const uint64_t pc = lastStepPc_.load(std::memory_order_relaxed);
    if (pc == kNoStepPc)
        return std::nullopt;
    return pc;
}

} // namespace kvmscope::cpu
