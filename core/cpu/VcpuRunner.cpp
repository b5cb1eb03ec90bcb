#include "cpu/VcpuRunner.h"

#include "common/Error.h"
#include "cpu/EmulationFallback.h"
#include "debug/ExitBreakpoints.h"
#include "kvm/Ioctl.h"
#include "log/Log.h"
#include "machine/AddressBus.h"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fmt/format.h>

namespace kvmscope::cpu {
namespace {

// The signal that kicks a vcpu out of KVM_RUN. Its handler does nothing: the point is that the
// ioctl returns EINTR. SA_RESTART keeps other syscalls on the vcpu thread (a serial sink's write)
// from failing; KVM_RUN is never restarted (it returns EINTR itself).
constexpr int kKickSignal = SIGUSR1;

// DR6.BS (SDM vol. 3B 18.2.3): the #DB was a single-step trap.
constexpr uint64_t kDr6SingleStep = 1u << 14;
constexpr uint8_t kInt3Opcode = 0xCC;    // INT3 (Intel SDM vol. 2A, "INT n/INTO/INT3/INT1")
constexpr uint8_t kBreakpointVector = 3; // #BP

void onKick(int) {}

void installKickHandler() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction action {};
        action.sa_handler = onKick;
        action.sa_flags = SA_RESTART;
        sigemptyset(&action.sa_mask);
        sigaction(kKickSignal, &action, nullptr);
    });
}

std::atomic_ref<uint8_t> immediateExit(kvm_run* run) {
    return std::atomic_ref<uint8_t>(run->immediate_exit);
}

} // namespace

const char* toString(RunState state) {
    switch (state) {
    case RunState::Created:
        return "created";
    case RunState::Running:
        return "running";
    case RunState::Paused:
        return "paused";
    case RunState::Stopped:
        return "stopped";
    }
    return "?";
}

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

VcpuRunner::VcpuRunner(kvm::Vcpu vcpu, const AddressBus& ioBus, const AddressBus& mmioBus,
                       VcpuHost& host)
    : vcpu_(std::move(vcpu)), ioBus_(ioBus), mmioBus_(mmioBus), host_(host) {}

VcpuRunner::~VcpuRunner() {
    stop();
    join();
}

void VcpuRunner::start() {
    installKickHandler();
    // Ask KVM to copy the general registers into kvm_run on every exit (KVM_CAP_SYNC_REGS,
    // api.rst 5 "kvm_valid_regs") so the trace can show RIP without a KVM_GET_REGS per exit.
    // The machine probes the capability. kvm_dirty_regs stays 0: kvmscope writes registers with
    // KVM_SET_REGS, never through the run page. Set before the thread exists, so no race.
    if (syncRegs_)
        vcpu_.runState()->kvm_valid_regs = KVM_SYNC_X86_REGS;
    thread_ = std::thread([this] { threadMain(); });
}

void VcpuRunner::kick() {
    immediateExit(vcpu_.runState()).store(1, std::memory_order_release);
    if (threadInKvm_.load(std::memory_order_acquire))
        pthread_kill(threadHandle_.load(), kKickSignal);
}

void VcpuRunner::resume() {
    {
        std::lock_guard lock(mutex_);
        if (request_ == Request::Quit)
            return;
        request_ = Request::Run;
    }
    // Running from the caller's point of view at once, so that waitUntilParked() waits for the
    // park that follows this request rather than returning on the previous one.
    setState(RunState::Running);
    changed_.notify_all();
}

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

void VcpuRunner::setGuestDebug(const kvm_guest_debug& debug) {
    {
        std::lock_guard lock(mutex_);
        armedDebug_ = debug;
    }
    // A running vcpu leaves KVM_RUN and, its request unchanged, re-enters with the new state.
    if (state_.load() == RunState::Running)
        kick();
}

void VcpuRunner::setStepCheckAddresses(std::vector<uint64_t> linearAddresses) {
    {
        std::lock_guard lock(mutex_);
        stepCheck_ = std::move(linearAddresses);
    }
    if (state_.load() == RunState::Running)
        kick();
}

void VcpuRunner::pause() {
    {
        std::lock_guard lock(mutex_);
        // Already asked to pause: the thread parks, or has, without being woken again (the
        // debugger pauses every vcpu before each step, most of them long parked).
        if (request_ == Request::Quit || request_ == Request::Pause)
            return;
        request_ = Request::Pause;
    }
    kick();
    changed_.notify_all();
}

void VcpuRunner::stop() {
    {
        std::lock_guard lock(mutex_);
        request_ = Request::Quit;
    }
    if (thread_.joinable())
        kick();
    changed_.notify_all();
}

void VcpuRunner::join() {
    if (thread_.joinable())
        thread_.join();
}

bool VcpuRunner::waitUntilParked(int timeoutMs) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::milliseconds(timeoutMs), [this] {
        const RunState s = state_.load();
        return s == RunState::Paused || s == RunState::Stopped;
    });
}

void VcpuRunner::setState(RunState state) {
    {
        std::lock_guard lock(mutex_);
        if (state_.exchange(state) == state)
            return;
    }
    changed_.notify_all();
    stateChanged.emit(vcpu_.id(), state);
}

void VcpuRunner::enqueue(std::function<void()> work, int timeoutMs, std::future<void>& done) {
    auto task = std::make_shared<std::packaged_task<void()>>(std::move(work));
    done = task->get_future();
    {
        std::lock_guard lock(mutex_);
        if (state_.load() == RunState::Stopped || !thread_.joinable())
            throw Error(fmt::format("vcpu {} has no running thread", vcpu_.id()));
        work_.push_back(task);
    }
    changed_.notify_all();
    if (done.wait_for(std::chrono::milliseconds(timeoutMs)) == std::future_status::ready)
        return;
    // Not served in time: withdraw the request unless the vcpu thread has already taken it.
    std::lock_guard lock(mutex_);
    for (auto it = work_.begin(); it != work_.end(); ++it) {
        if (*it == task) {
            work_.erase(it);
            throw Error(fmt::format("vcpu {} is {}: pause it before reading or writing its state",
                                    vcpu_.id(), toString(state_.load())));
        }
    }
    // Taken: it is running right now and will finish; the caller's done.get() waits for it.
}

void VcpuRunner::threadMain() {
    threadHandle_.store(pthread_self());
    auto logger = log::get("cpu");
    std::unique_lock lock(mutex_);
    for (;;) {
        // Park: serve queued work until asked to run, step or quit. The state says Paused before
        // any work is served, so whoever's call() returned sees the vcpu parked (it is).
        while (request_ == Request::Pause || !work_.empty()) {
            if (request_ == Request::Pause && state_.load() != RunState::Paused) {
                lock.unlock();
                setState(RunState::Paused);
                lock.lock();
                continue;
            }
            if (!work_.empty()) {
                auto task = std::move(work_.front());
                work_.pop_front();
                lock.unlock();
                (*task)();
                lock.lock();
                continue;
            }
            changed_.wait(lock);
        }
        if (request_ == Request::Quit)
            break;
        const bool singleStep = request_ == Request::Step;
        const StepRequest stepRequest = stepRequest_;
        const uint64_t stepSerial = stepSerial_;
        runDebug_ = armedDebug_;
        runStepWithoutBreakpoints_ = singleStep && stepRequest.firstWithoutBreakpoints;
        runStepCheck_ = stepCheck_;
        // Consume any kick aimed at the previous run; a kick from now on interrupts this one.
        immediateExit(vcpu_.runState()).store(0, std::memory_order_release);
        lock.unlock();
        setState(RunState::Running);
        try {
            if (singleStep)
                runSteps(stepRequest, stepSerial);
            else
                runUntilInterrupted(false);
        } catch (const std::exception& error) {
            VcpuStop stop{vcpu_.id(), StopCause::HostError, 0, 0, error.what()};
            logger->error("vcpu {}: {}", vcpu_.id(), error.what());
            lock.lock();
            request_ = Request::Pause;
            lock.unlock();
            host_.vcpuStopped(stop);
        }
        lock.lock();
        // A run of steps that nothing else ended parks now (pause, resume or a new step request
        // from another thread meanwhile win).
        if (singleStep && request_ == Request::Step && stepSerial_ == stepSerial)
            request_ = Request::Pause;
        if (host_.machineStopping() && request_ != Request::Quit)
            request_ = Request::Pause;
    }
    lock.unlock();
    setState(RunState::Stopped);
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
            {
                std::lock_guard lock(mutex_);
                if (request_ != Request::Quit)
                    request_ = Request::Pause;
            }
            host_.vcpuStopped(stop);
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
    immediateExit(vcpu_.runState()).store(0, std::memory_order_release);
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

void VcpuRunner::applyGuestDebug(bool singleStep) {
    kvm_guest_debug wanted = runStepWithoutBreakpoints_ ? kvm_guest_debug{} : runDebug_;
    if (singleStep || !runStepCheck_.empty())
        wanted.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
    // KVM_SET_GUEST_DEBUG costs an ioctl: issue it only when the state changes, so a run of steps
    // or of continues with the same breakpoints pays for it once.
    if (std::memcmp(&wanted, &appliedDebug_, sizeof wanted) == 0)
        return;
    vcpu_.setGuestDebug(wanted);
    appliedDebug_ = wanted;
}

bool VcpuRunner::runUntilInterrupted(bool singleStep) {
    if (singleStep)
        lastStepPc_.store(kNoStepPc, std::memory_order_relaxed);
    applyGuestDebug(singleStep);
    if (exitBreakPending_) {
        // The access an exit breakpoint stopped: the device sees it now, once, and KVM_RUN below
        // completes it (an IN's value reaches RAX, RIP moves past the instruction).
        exitBreakPending_ = false;
        kvm_run& run = *vcpu_.runState();
        if (run.exit_reason == KVM_EXIT_IO)
            dispatchIo(run);
        else
            dispatchMmio(run);
        lastExitNeedsCompletion_ = true;
    }
    bool stepDone = false;
    for (;;) {
        threadInKvm_.store(true, std::memory_order_release);
        const int result = vcpu_.run();
        threadInKvm_.store(false, std::memory_order_release);
        if (result == -EINTR) {
            lastExitNeedsCompletion_ = false; // KVM_RUN completed the pending access first
            break;
        }
        if (!handleExit(singleStep, stepDone))
            break;
        if (host_.machineStopping())
            break;
    }
    completePendingIo();
    return stepDone;
}

void VcpuRunner::completePendingIo() {
    // api.rst 5 (KVM_EXIT_IO/MMIO): the access is complete and the registers consistent only
    // after the next KVM_RUN; one with immediate_exit set completes it without running the guest.
    if (!lastExitNeedsCompletion_)
        return;
    lastExitNeedsCompletion_ = false;
    auto flag = immediateExit(vcpu_.runState());
    const uint8_t previous = flag.exchange(1);
    vcpu_.run();
    flag.store(previous);
}

bool VcpuRunner::handleExit(bool singleStep, bool& stepDone) {
    kvm_run& run = *vcpu_.runState();
    recordExit(run);
    lastExitNeedsCompletion_ = false;
    // Without exit breakpoints this is one relaxed load: the exit path stays as cheap as before.
    if (exitBreakpoints_ && exitBreakpoints_->armed()) [[unlikely]] {
        if (stopAtExitBreakpoint(run))
            return false;
    }
    StopCause cause = StopCause::None;
    switch (run.exit_reason) {
    case KVM_EXIT_IO:
        dispatchIo(run);
        lastExitNeedsCompletion_ = true;
        return !stepEndsAtAccess(singleStep, stepDone);
    case KVM_EXIT_MMIO:
        dispatchMmio(run);
        lastExitNeedsCompletion_ = true;
        return !stepEndsAtAccess(singleStep, stepDone);
    case KVM_EXIT_DEBUG: {
        const bool stepTrap = (run.debug.arch.dr6 & kDr6SingleStep) != 0;
        if (singleStep && stepTrap) {
            stepDone = true;
            lastStepPc_.store(run.debug.arch.pc, std::memory_order_relaxed);
            return false;
        }
        // Stepping to find an address no breakpoint can mark: step on until one is reached.
        // arch.pc is the linear address of the next instruction (api.rst 5, KVM_EXIT_DEBUG).
        if (stepTrap && !runStepCheck_.empty() &&
            std::find(runStepCheck_.begin(), runStepCheck_.end(), run.debug.arch.pc) ==
                runStepCheck_.end())
            return true;
        cause = StopCause::Debug;
        break;
    }
    case KVM_EXIT_INTR:
        return false;
    case KVM_EXIT_IRQ_WINDOW_OPEN:
    case KVM_EXIT_TPR_ACCESS:
        return true;
    case KVM_EXIT_SHUTDOWN:
        cause = StopCause::Shutdown;
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        if (completeUnemulatedInstruction(run))
            return true;
        cause = StopCause::InternalError;
        break;
    case KVM_EXIT_FAIL_ENTRY:
        cause = StopCause::FailEntry;
        break;
    case KVM_EXIT_HLT:
        cause = StopCause::Halted;
        break;
    case KVM_EXIT_SYSTEM_EVENT:
        cause = StopCause::SystemEvent;
        break;
    default:
        cause = StopCause::HostError;
        break;
    }
    const VcpuStop stop = describeStop(cause, run);
    {
        std::lock_guard lock(mutex_);
        if (request_ != Request::Quit)
            request_ = Request::Pause;
    }
    host_.vcpuStopped(stop);
    return false;
}

// KVM_EXIT_INTERNAL_ERROR for an instruction the host's emulator could not run: complete the few
// that kvmscope can (cpu/EmulationFallback.h says which and why) and run on. Not done when the
// debugger has its own int3 breakpoints armed (they arrive as KVM_EXIT_DEBUG where the host
// supports them) or when another event is mid-delivery.
bool VcpuRunner::completeUnemulatedInstruction(const kvm_run& run) {
    const auto& failure = run.emulation_failure;
    if (failure.suberror != KVM_INTERNAL_ERROR_EMULATION ||
        !(failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) ||
        failure.insn_size == 0)
        return false;
    const std::span<const uint8_t> bytes(
        failure.insn_bytes, std::min<size_t>(failure.insn_size, sizeof failure.insn_bytes));
    if (bytes.front() == kInt3Opcode && (appliedDebug_.control & KVM_GUESTDBG_USE_SW_BP))
        return false;
    const kvm_sregs sregs = vcpu_.sregs();
    kvm_fpu fpu = vcpu_.fpu();
    kvm_regs regs = vcpu_.regs();
    FallbackAction action = decideFallback(bytes, sregs.cr0, fpu.fsw);
    std::optional<uint32_t> mxcsr;
    if (action.kind == FallbackAction::Kind::NotHandled && memory_) {
        // A completed STMXCSR has written guest RAM already: the checks below only ever turn
        // down a Raise, so RIP always moves past a store that was made.
        const MxcsrCompletion completion =
            completeMxcsrInstruction(bytes, regs, sregs, fpu.mxcsr, hostMxcsrMask(), *memory_);
        if (*completion.refusal)
            log::get("kvm")->warn("vcpu {}: not completing the instruction at RIP {:#x}: {}",
                                  vcpu_.id(), regs.rip, completion.refusal);
        action = completion.action;
        mxcsr = completion.mxcsr;
    }
    if (action.kind == FallbackAction::Kind::NotHandled)
        return false;
    kvm_vcpu_events events = vcpu_.events();
    const bool raises = action.kind != FallbackAction::Kind::Skip;
    if (raises && (events.exception.injected || events.exception.pending ||
                   events.interrupt.injected || events.nmi.injected))
        return false;
    const uint64_t at = regs.rip;
    if (mxcsr) {
        fpu.mxcsr = *mxcsr;
        vcpu_.setFpu(fpu);
    }
    if (action.kind != FallbackAction::Kind::Raise) {
        regs.rip += action.length;
        vcpu_.setRegs(regs);
    }
    if (action.setsCr2) {
        // A #PF reports its linear address in CR2, which the injected exception does not carry
        // (KVM_CAP_EXCEPTION_PAYLOAD is not enabled): set it first.
        kvm_sregs faulting = sregs;
        faulting.cr2 = action.cr2;
        vcpu_.setSregs(faulting);
    }
    if (raises) {
        events.flags = 0; // leave NMI-pending, SIPI, shadow and SMM state as KVM has them
        events.exception.injected = 1;
        events.exception.nr = action.vector;
        events.exception.has_error_code = action.hasErrorCode;
        events.exception.error_code = action.errorCode;
        vcpu_.setEvents(events);
    }
    if (instructionsCompleted_.fetch_add(1, std::memory_order_relaxed) == 0)
        log::get("kvm")->info("vcpu {}: completing instructions KVM's emulator cannot run, first "
                              "{} at RIP {:#x}",
                              vcpu_.id(), action.mnemonic, at);
    return true;
}

bool VcpuRunner::stepEndsAtAccess(bool singleStep, bool& stepDone) {
    // A step whose instruction exits for I/O or MMIO is that instruction: completing the access
    // (completePendingIo, immediate_exit set) ends it without running the guest further. Letting
    // KVM_RUN go on instead relies on the kernel raising the single-step trap when it completes
    // the access, which a host whose KVM emulates the instruction may skip (it was seen to run a
    // second instruction before the trap).
    if (singleStep)
        stepDone = true;
    return singleStep;
}

bool VcpuRunner::stopAtExitBreakpoint(kvm_run& run) {
    const auto hit = exitBreakpoints_->match(run);
    if (!hit)
        return false;
    // The access stays pending in kvm_run; the next run dispatches it (runUntilInterrupted) and
    // no KVM_RUN may complete it before: completePendingIo() must not run for it.
    exitBreakPending_ = run.exit_reason == KVM_EXIT_IO || run.exit_reason == KVM_EXIT_MMIO;
    VcpuStop stop = describeStop(StopCause::ExitBreakpoint, run);
    stop.exitBreakpoint = hit->id;
    stop.accessAddress = hit->address;
    stop.accessValue = hit->value;
    stop.description += ": " + hit->description;
    {
        std::lock_guard lock(mutex_);
        if (request_ != Request::Quit)
            request_ = Request::Pause;
    }
    host_.vcpuStopped(stop);
    return true;
}

void VcpuRunner::dispatchIo(kvm_run& run) {
    auto* base = reinterpret_cast<uint8_t*>(&run) + run.io.data_offset;
    const size_t size = run.io.size;
    for (uint32_t i = 0; i < run.io.count; ++i) {
        uint8_t* element = base + i * size;
        if (run.io.direction == KVM_EXIT_IO_OUT) {
            ioBus_.write(run.io.port, {element, size});
        } else if (!ioBus_.read(run.io.port, {element, size})) {
            // Nothing decodes the port: the ISA bus floats high.
            std::fill(element, element + size, 0xff);
        }
    }
}

void VcpuRunner::dispatchMmio(kvm_run& run) {
    const size_t length = std::min<size_t>(run.mmio.len, sizeof run.mmio.data);
    if (run.mmio.is_write) {
        mmioBus_.write(run.mmio.phys_addr, {run.mmio.data, length});
    } else if (!mmioBus_.read(run.mmio.phys_addr, {run.mmio.data, length})) {
        std::fill(run.mmio.data, run.mmio.data + length, 0xff);
    }
}

std::optional<VcpuRunner::LastExit> VcpuRunner::lastExit(int timeoutMs) {
    return call([this](kvm::Vcpu&) { return lastExit_; }, timeoutMs);
}

void VcpuRunner::recordExit(const kvm_run& run) {
    trace::ExitRecord record;
    record.timestampNs = trace::monotonicNs();
    record.reason = run.exit_reason;
    record.vcpu = vcpu_.id();
    if (run.kvm_valid_regs & KVM_SYNC_X86_REGS) {
        record.rip = run.s.regs.regs.rip;
        record.ripValid = true;
        // Not a shutdown's: on AMD hosts KVM has already reset the vcpu when it reports one.
        if (run.exit_reason != KVM_EXIT_SHUTDOWN)
            lastExit_ = LastExit{run.s.regs.regs, run.exit_reason, record.timestampNs};
    }
    if (run.exit_reason == KVM_EXIT_IO) {
        record.address = run.io.port;
        record.size = run.io.size;
        record.count = run.io.count;
        record.access = run.io.direction == KVM_EXIT_IO_OUT ? trace::AccessKind::PortOut
                                                            : trace::AccessKind::PortIn;
        if (run.io.direction == KVM_EXIT_IO_OUT) {
            const auto* data = reinterpret_cast<const uint8_t*>(&run) + run.io.data_offset;
            std::memcpy(&record.data, data, std::min<size_t>(run.io.size, sizeof record.data));
        }
    } else if (run.exit_reason == KVM_EXIT_MMIO) {
        record.address = run.mmio.phys_addr;
        record.size = static_cast<uint8_t>(run.mmio.len);
        record.count = 1;
        record.access =
            run.mmio.is_write ? trace::AccessKind::MmioWrite : trace::AccessKind::MmioRead;
        if (run.mmio.is_write)
            std::memcpy(&record.data, run.mmio.data,
                        std::min<size_t>(run.mmio.len, sizeof record.data));
    }
    trace_.record(record);
    // Per-address counters: only port and MMIO exits carry an access (None is ignored).
    addressCounters_.record(record.access, record.address,
                            uint64_t{record.size} * std::max<uint32_t>(record.count, 1));
}

VcpuStop VcpuRunner::describeStop(StopCause cause, const kvm_run& run) const {
    VcpuStop stop{vcpu_.id(), cause, run.exit_reason, 0, {}};
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
        fmt::format("vcpu {} stopped: {} (KVM_EXIT_{}{}{})", vcpu_.id(), toString(cause),
                    trace::exitReasonName(run.exit_reason), detail.empty() ? "" : ": ", detail);
    return stop;
}

CpuState VcpuRunner::readState(int timeoutMs) {
    return call([this](kvm::Vcpu& vcpu) { return readCpuState(vcpu, msrIndices_); }, timeoutMs);
}

void VcpuRunner::writeState(const CpuState& state, unsigned parts, int timeoutMs) {
    call(
        [&state, parts](kvm::Vcpu& vcpu) {
            if (parts & PartSregs)
                vcpu.setSregs(state.sregs);
            if (parts & PartRegs)
                vcpu.setRegs(state.regs);
            if (parts & PartFpu)
                vcpu.setFpu(state.fpu);
            if (parts & PartDebugRegs)
                vcpu.setDebugRegs(state.debugRegs);
            if ((parts & PartLapic) && state.hasLapic)
                vcpu.setLapic(state.lapic);
            if (parts & PartEvents)
                vcpu.setEvents(state.events);
            if (parts & PartMpState)
                vcpu.setMpState(state.mpState);
            if (parts & PartMsrs)
                vcpu.setMsrs(state.msrs);
        },
        timeoutMs);
}

} // namespace kvmscope::cpu
