#include "debug/Debugger.h"

#include "common/Error.h"
#include "debug/HostDebugProbe.h"
#include "kvm/System.h"
#include "log/Log.h"
#include "machine/Machine.h"

#include <algorithm>
#include <fmt/format.h>

namespace kvmscope::debug {

const char* toString(DebugStopReason reason) {
    switch (reason) {
    case DebugStopReason::Breakpoint:
        return "breakpoint";
    case DebugStopReason::Watchpoint:
        return "watchpoint";
    case DebugStopReason::Step:
        return "step";
    case DebugStopReason::ExitBreakpoint:
        return "exit breakpoint";
    case DebugStopReason::DebugExit:
        return "debug exit";
    }
    return "?";
}

Debugger::Debugger(Machine& machine, const kvm::System& system, ExitBreakpoints& exitBreakpoints)
    : machine_(machine), system_(system), exitBreakpoints_(exitBreakpoints),
      inspector_(machine, *this) {}

const HostDebugSupport& Debugger::support() const {
    return hostDebugSupport(system_);
}

// --- breakpoints ------------------------------------------------------------------------------

void Debugger::showOriginalBytes(uint64_t linear, std::span<uint8_t> bytes) const {
    std::lock_guard lock(mutex_);
    table_.showOriginalBytes(linear, bytes);
}

void Debugger::afterWrite(uint64_t physical, std::span<const uint8_t> bytes) {
    // An int3 of ours inside the range keeps its 0xCC: the edit goes to the byte it saved.
    std::lock_guard lock(mutex_);
    for (const uint64_t at : table_.absorbWrite(physical, bytes))
        machine_.memory().writeValue<uint8_t>(at, BreakpointTable::kInt3Opcode);
}

Int3Patch Debugger::insertInt3(uint64_t address) {
    // The byte is patched in guest-physical memory, where the address maps now (vcpu 0's view).
    const Translation where = inspector_.translate(0, address);
    if (!where.valid)
        throw InputError(fmt::format("cannot set a breakpoint at {:#x}: {}", address, where.fault));
    const Int3Patch patch{where.physical, machine_.memory().readValue<uint8_t>(where.physical)};
    machine_.memory().writeValue<uint8_t>(where.physical, BreakpointTable::kInt3Opcode);
    return patch;
}

void Debugger::removeInt3(const Breakpoint& breakpoint) {
    machine_.memory().writeValue<uint8_t>(breakpoint.physical, breakpoint.originalByte);
}

int Debugger::addExecution(uint64_t address, BreakpointKind kind, bool temporary) {
    Breakpoint breakpoint;
    breakpoint.kind = kind;
    breakpoint.address = address;
    breakpoint.temporary = temporary;
    // The best mechanism the host probe saw work (chooseMechanism): int3, then a free debug
    // register, then stepping with an address check; none that works is a refusal. int3 does
    // not depend on the free slots, so it is patched in before mutex_ is taken (insertInt3
    // reads sregs through the vcpu thread).
    const HostDebugSupport& host = support();
    const bool int3 = chooseMechanism(kind, temporary, host, kDebugRegisterSlots).mechanism ==
                      BreakMechanism::Int3;
    if (int3) {
        const Int3Patch patch = insertInt3(address);
        breakpoint.physical = patch.physical;
        breakpoint.originalByte = patch.originalByte;
    }
    std::lock_guard lock(mutex_);
    const MechanismChoice choice = int3
                                       ? chooseMechanism(kind, temporary, host, kDebugRegisterSlots)
                                       : table_.choose(kind, temporary, host);
    if (!choice.mechanism)
        throw InputError(
            fmt::format("cannot set a {} at {:#x}: {}", toString(kind), address, choice.note));
    breakpoint.mechanism = *choice.mechanism;
    breakpoint.mechanismNote = choice.note;
    const int id = table_.add(breakpoint);
    if (choice.fallback && !temporary)
        log::get("debug")->info("{}: {}", table_.find(id)->describe(), choice.note);
    return id;
}

unsigned Debugger::freeDebugRegisters() const {
    std::lock_guard lock(mutex_);
    return table_.freeDebugRegisters();
}

int Debugger::addBreakpoint(uint64_t address) {
    const int id = addExecution(address, BreakpointKind::Software, false);
    applyDebugState();
    return id;
}

int Debugger::addHardwareBreakpoint(uint64_t address) {
    const int id = addExecution(address, BreakpointKind::Hardware, false);
    applyDebugState();
    return id;
}

int Debugger::addWatchpoint(uint64_t address, unsigned length, bool readWrite) {
    if (length != 1 && length != 2 && length != 4 && length != 8)
        throw InputError(fmt::format("a watchpoint covers 1, 2, 4 or 8 bytes, not {}", length));
    // SDM vol. 3B 18.2.5: a breakpoint address must be aligned to its length.
    if (address % length != 0)
        throw InputError(fmt::format("a {}-byte watchpoint needs an address aligned to {}, not "
                                     "{:#x}",
                                     length, length, address));
    const HostDebugSupport& host = support(); // the probe, the first time: outside mutex_
    int id = 0;
    {
        std::lock_guard lock(mutex_);
        const BreakpointKind kind =
            readWrite ? BreakpointKind::ReadWriteWatch : BreakpointKind::WriteWatch;
        // Only where the probe saw this kind of data breakpoint fire: one that cannot fire is
        // refused, never armed and silent.
        const MechanismChoice choice = table_.choose(kind, false, host);
        if (!choice.mechanism)
            throw InputError(
                fmt::format("cannot set a {} at {:#x}: {}", toString(kind), address, choice.note));
        Breakpoint breakpoint;
        breakpoint.kind = kind;
        breakpoint.mechanism = *choice.mechanism;
        breakpoint.address = address;
        breakpoint.length = length;
        id = table_.add(breakpoint);
    }
    applyDebugState();
    return id;
}

bool Debugger::removeBreakpoint(int id) {
    {
        std::lock_guard lock(mutex_);
        const std::optional<Breakpoint> removed = table_.remove(id);
        if (!removed)
            return false;
        if (removed->mechanism == BreakMechanism::Int3 && removed->enabled) // a disabled one is out
            removeInt3(*removed);
    }
    applyDebugState();
    return true;
}

bool Debugger::setBreakpointEnabled(int id, bool enabled) {
    std::optional<uint64_t> reinsertAt; // an int3 to put back, outside mutex_ (insertInt3)
    {
        std::lock_guard lock(mutex_);
        const Breakpoint* breakpoint = table_.find(id);
        if (!breakpoint)
            return false;
        if (breakpoint->enabled == enabled)
            return true;
        if (!enabled) {
            // The guest's byte goes back; the table frees the debug register.
            const std::optional<Breakpoint> armed = table_.disable(id);
            if (armed && armed->mechanism == BreakMechanism::Int3)
                removeInt3(*armed);
        } else if (breakpoint->mechanism == BreakMechanism::Int3) {
            reinsertAt = breakpoint->address;
        } else {
            table_.enable(id); // InputError when no debug register is free
        }
    }
    if (reinsertAt) {
        // Where the address maps now (the guest may have changed its page tables).
        const Int3Patch patch = insertInt3(*reinsertAt);
        std::lock_guard lock(mutex_);
        table_.enableInt3(id, patch);
    }
    applyDebugState();
    return true;
}

std::vector<Breakpoint> Debugger::breakpoints() const {
    std::lock_guard lock(mutex_);
    return table_.all();
}

int Debugger::addExitBreakpoint(const ExitBreakpoint& breakpoint) {
    return exitBreakpoints_.add(breakpoint);
}

bool Debugger::removeExitBreakpoint(int id) {
    return exitBreakpoints_.remove(id);
}

bool Debugger::setExitBreakpointEnabled(int id, bool enabled) {
    return exitBreakpoints_.setEnabled(id, enabled);
}

std::vector<ExitBreakpoint> Debugger::exitBreakpoints() const {
    return exitBreakpoints_.list();
}

void Debugger::applyDebugState() {
    GuestDebugSettings settings;
    {
        std::lock_guard lock(mutex_);
        settings = table_.guestDebug();
    }
    for (size_t i = 0; i < machine_.vcpuCount(); ++i) {
        machine_.vcpu(i).setGuestDebug(settings.debug);
        machine_.vcpu(i).setStepCheckAddresses(settings.stepCheckAddresses);
    }
}

// --- stops ------------------------------------------------------------------------------------

DebugStop Debugger::classify(const cpu::VcpuStop& stop) const {
    DebugStop result;
    result.vcpu = stop.vcpu;
    if (stop.cause == cpu::StopCause::ExitBreakpoint) {
        result.reason = DebugStopReason::ExitBreakpoint;
        result.breakpointId = stop.exitBreakpoint;
        result.dataAddress = stop.accessAddress;
        result.value = stop.accessValue;
        result.description = stop.description;
        return result;
    }
    if (stop.cause == cpu::StopCause::Stepped) {
        result.reason = DebugStopReason::Step;
        result.pc = stop.debug.pc;
        result.description = describeStep(stop.vcpu, stop.steps, stop.debug.pc);
        return result;
    }
    const kvm_debug_exit_arch& arch = stop.debug;
    result.pc = arch.pc;
    result.reason = DebugStopReason::DebugExit;
    const Breakpoint* hit = table_.hitBy(arch);
    if (hit) {
        result.breakpointId = hit->id;
        const bool watch = hit->isWatchpoint();
        result.reason = watch ? DebugStopReason::Watchpoint : DebugStopReason::Breakpoint;
        if (watch)
            result.dataAddress = hit->address;
    }
    const std::string where = inspector_.symbols().describe(arch.pc);
    result.description =
        fmt::format("vcpu {} stopped at {:#x}{}: {}", stop.vcpu, arch.pc,
                    where.empty() ? "" : " <" + where + ">",
                    hit ? hit->describe() : "debug exit (" + stop.description + ")");
    return result;
}

void Debugger::recordStop(const DebugStop& stop) {
    {
        std::lock_guard lock(mutex_);
        lastStop_ = stop;
        ++stopSequence_;
    }
    stopChanged_.notify_all();
    stopped.emit(stop);
}

void Debugger::vcpuStopped(const cpu::VcpuStop& stop) {
    stopsBegun_.fetch_add(1);
    // All-stop: this vcpu has parked itself; the others are kicked and park too.
    for (size_t i = 0; i < machine_.vcpuCount(); ++i)
        if (i != stop.vcpu)
            machine_.vcpu(i).pause();
    DebugStop classified;
    bool hadTemporary = false;
    {
        std::lock_guard lock(mutex_);
        classified = classify(stop);
        // Before the stop is announced: its clients see the new count.
        if (classified.reason == DebugStopReason::Breakpoint ||
            classified.reason == DebugStopReason::Watchpoint)
            table_.countHit(classified.breakpointId);
        // A step-over or run-to ends at the first stop, whatever it is.
        hadTemporary = !table_.dropTemporaries().empty();
    }
    if (classified.reason == DebugStopReason::ExitBreakpoint)
        exitBreakpoints_.countHit(classified.breakpointId);
    if (hadTemporary)
        applyDebugState();
    // Steps are the user's own doing and can come by the thousand: not worth the log's time.
    if (classified.reason == DebugStopReason::Step)
        log::get("debug")->debug("{}", classified.description);
    else
        log::get("debug")->info("{}", classified.description);
    recordStop(classified);
}

std::optional<DebugStop> Debugger::lastStop() const {
    std::lock_guard lock(mutex_);
    return lastStop_;
}

std::optional<DebugStop> Debugger::waitForStop(int timeoutMs) {
    std::unique_lock lock(mutex_);
    if (!stopChanged_.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                               [this] { return stopSequence_ > waitFrom_; }))
        return std::nullopt;
    return lastStop_;
}

// --- execution control ------------------------------------------------------------------------

void Debugger::pauseAll() {
    machine_.pause();
    if (!machine_.waitUntilPaused(kDefaultTimeoutMs))
        throw Error("the vcpus did not pause");
}

void Debugger::stepOffBreakpoint(uint32_t vcpu, int timeoutMs) {
    // An instruction breakpoint is a fault: resuming at it would fire it again. Step once with
    // execution breakpoints left out (the int3 byte put back meanwhile), then re-arm.
    std::optional<Breakpoint> int3;
    const uint64_t pc = inspector_.pcOf(vcpu);
    {
        std::lock_guard lock(mutex_);
        const Breakpoint* at = table_.executionAt(pc);
        if (at && at->mechanism == BreakMechanism::Int3) {
            int3 = *at;
            removeInt3(*at);
        }
    }
    auto& runner = machine_.vcpu(vcpu);
    runner.step(true);
    const bool parked = runner.waitUntilParked(timeoutMs);
    if (int3)
        machine_.memory().writeValue<uint8_t>(int3->physical, BreakpointTable::kInt3Opcode);
    if (!parked)
        throw Error(fmt::format("vcpu {} did not finish its step", vcpu));
}

void Debugger::continueAll() {
    pauseAll();
    uint64_t sequence = 0;
    {
        std::lock_guard lock(mutex_);
        sequence = stopSequence_;
    }
    for (uint32_t i = 0; i < machine_.vcpuCount(); ++i)
        if (sitsOnBreakpoint(i))
            stepOffBreakpoint(i, kDefaultTimeoutMs);
    {
        std::lock_guard lock(mutex_);
        // A step off a breakpoint can itself stop (a watchpoint, an exit breakpoint): then the
        // machine stays paused at that new stop.
        if (stopSequence_ != sequence)
            return;
        waitFrom_ = stopSequence_;
    }
    // A vcpu can stop while the others are still being resumed; its pause() of a vcpu not yet
    // resumed would then be undone by the resume. Seen here (stopsBegun_ moved): pause them all
    // again. A stop that begins after this check pauses vcpus that are all already resumed.
    const uint64_t begun = stopsBegun_.load();
    machine_.run();
    if (stopsBegun_.load() != begun)
        machine_.pause();
}

bool Debugger::sitsOnBreakpoint(uint32_t vcpu) {
    {
        // Only with such breakpoints armed can the vcpu sit on one: spare the register read (a
        // round trip to the vcpu thread) otherwise, so a step costs little more than the bare
        // ioctls.
        std::lock_guard lock(mutex_);
        if (!table_.anyFiringExecution())
            return false;
    }
    const uint64_t pc = inspector_.pcOf(vcpu);
    std::lock_guard lock(mutex_);
    const Breakpoint* at = table_.executionAt(pc);
    return at && at->mechanism != BreakMechanism::SteppingCheck;
}

bool Debugger::pauseAndCheckOnBreakpoint(uint32_t vcpu) {
    pauseAll();
    return sitsOnBreakpoint(vcpu);
}

void Debugger::recordStep(uint32_t vcpu, uint64_t steps, std::optional<uint64_t> pc) {
    DebugStop stop;
    stop.vcpu = vcpu;
    stop.reason = DebugStopReason::Step;
    stop.pc = pc ? *pc : inspector_.pcOf(vcpu);
    stop.description = describeStep(vcpu, steps, stop.pc);
    recordStop(stop);
}

std::string Debugger::describeStep(uint32_t vcpu, uint64_t steps, uint64_t pc) const {
    const std::string where = inspector_.symbols().describe(pc);
    const std::string symbol = where.empty() ? "" : " <" + where + ">";
    if (steps == 1)
        return fmt::format("vcpu {} stepped to {:#x}{}", vcpu, pc, symbol);
    return fmt::format("vcpu {} stepped {} instructions to {:#x}{}", vcpu, steps, pc, symbol);
}

void Debugger::stepInstruction(uint32_t vcpu, int timeoutMs) {
    stepInstructions(vcpu, 1, timeoutMs);
}

uint64_t Debugger::stepInstructions(uint32_t vcpu, uint64_t count, int timeoutMs,
                                    std::vector<uint64_t>* pcs) {
    if (pcs)
        pcs->clear();
    if (count == 0)
        return 0;
    const bool onBreakpoint = pauseAndCheckOnBreakpoint(vcpu);
    uint64_t sequence = 0;
    {
        std::lock_guard lock(mutex_);
        sequence = waitFrom_ = stopSequence_;
    }
    auto stoppedMeanwhile = [&] {
        std::lock_guard lock(mutex_);
        return stopSequence_ != sequence;
    };
    auto& runner = machine_.vcpu(vcpu);
    uint64_t done = 0;
    if (onBreakpoint) {
        // The first step leaves the breakpoint (an int3 is lifted for it), the rest run as one.
        stepOffBreakpoint(vcpu, timeoutMs);
        if (stoppedMeanwhile())
            return 0; // the step hit a watchpoint or an exit breakpoint: that is the stop
        done = runner.stepsDone();
        if (pcs && runner.lastStepPc())
            pcs->push_back(*runner.lastStepPc());
        if (done == count) {
            recordStep(vcpu, done, runner.lastStepPc());
            return done;
        }
    }
    cpu::StepRequest request;
    request.count = count - done;
    request.stepsBefore = done;
    request.report = true; // the vcpu thread records the stop before it parks: no extra hand-off
    request.recordPcs = pcs != nullptr;
    runner.step(request);
    if (!runner.waitUntilParked(timeoutMs)) {
        runner.pause();
        runner.waitUntilParked(kDefaultTimeoutMs);
        if (!stoppedMeanwhile())
            recordStep(vcpu, done + runner.stepsDone(), runner.lastStepPc());
        throw Error(fmt::format("vcpu {} did not finish {} step{} in {} ms ({} done)", vcpu, count,
                                count == 1 ? "" : "s", timeoutMs, done + runner.stepsDone()));
    }
    done += runner.stepsDone();
    if (pcs) {
        const auto more = runner.stepPcs();
        pcs->insert(pcs->end(), more.begin(), more.end());
    }
    // Paused by someone else between two steps: no stop was reported, say where it is.
    if (!stoppedMeanwhile())
        recordStep(vcpu, done, runner.lastStepPc());
    return done;
}

void Debugger::stepRange(uint32_t vcpu, uint64_t begin, uint64_t end) {
    cpu::StepRequest request;
    request.count = begin < end ? UINT64_MAX : 1; // an empty range is one step (gdb's vCont)
    request.rangeBegin = begin;
    request.rangeEnd = end;
    startStepping(vcpu, request);
}

void Debugger::startSteps(uint32_t vcpu, uint64_t count) {
    if (count == 0)
        return;
    cpu::StepRequest request;
    request.count = count;
    startStepping(vcpu, request);
}

void Debugger::startStepping(uint32_t vcpu, cpu::StepRequest request) {
    const bool onBreakpoint = pauseAndCheckOnBreakpoint(vcpu);
    uint64_t sequence = 0;
    {
        std::lock_guard lock(mutex_);
        sequence = waitFrom_ = stopSequence_;
    }
    auto& runner = machine_.vcpu(vcpu);
    request.report = true;
    if (onBreakpoint) {
        stepOffBreakpoint(vcpu, kDefaultTimeoutMs);
        {
            std::lock_guard lock(mutex_);
            if (stopSequence_ != sequence)
                return; // the step hit a watchpoint or an exit breakpoint: that is the stop
        }
        const auto pc = runner.lastStepPc();
        const bool ranged = request.rangeBegin < request.rangeEnd;
        if (!pc || request.count == 1 ||
            (ranged && (*pc < request.rangeBegin || *pc >= request.rangeEnd))) {
            recordStep(vcpu, 1, pc);
            return;
        }
        if (request.count != UINT64_MAX)
            --request.count;
        request.stepsBefore = 1;
    }
    runner.step(request);
}

void Debugger::stepOver(uint32_t vcpu, int timeoutMs) {
    pauseAll();
    const uint64_t pc = inspector_.pcOf(vcpu);
    const auto code = inspector_.disassemble(vcpu, pc, 1);
    if (code.empty() || !code.front().isCall) {
        stepInstruction(vcpu, timeoutMs);
        return;
    }
    addExecution(pc + code.front().length, BreakpointKind::Software, true);
    applyDebugState();
    continueAll();
}

void Debugger::runTo(uint64_t address) {
    pauseAll();
    addExecution(address, BreakpointKind::Software, true);
    applyDebugState();
    continueAll();
}

} // namespace kvmscope::debug
