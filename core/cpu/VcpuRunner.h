#pragma once
// One thread per vcpu, looping on KVM_RUN (design: "Threads and signals").
//
// - The vcpu thread handles I/O and MMIO exits itself, synchronously, by dispatching to the
//   buses; the path allocates nothing and takes only the exit trace's short lock.
// - Every vcpu ioctl is issued on this thread. Other threads ask for work with call(), which
//   queues a function that the thread runs while parked.
// - pause()/step()/stop() kick the thread: set kvm_run.immediate_exit and send it a signal, so
//   KVM_RUN returns EINTR at once wherever it is (api.rst 5: "immediate_exit").
// - Stop-worthy exits (shutdown, internal error, failed entry, debug, halt without an in-kernel
//   irqchip, system events) park the vcpu and are reported at once through the VcpuHost and the
//   stopped() signal; all other exits only go to the ExitTrace, which readers drain on a timer.
//   What an exit means is decided from the kvm_run alone (cpu/ExitAction.h); the runner does it.
// - The runner is the one owner of the vcpu's guest-debug state (KVM_SET_GUEST_DEBUG): the
//   debugger hands it the armed breakpoints (setGuestDebug), and each run applies them with
//   KVM_GUESTDBG_SINGLESTEP added for a step, so a step keeps breakpoints and watchpoints armed.
// - Exit breakpoints (debug/ExitBreakpoints.h) are checked on each exit before the device sees
//   the access; a hit parks the vcpu with the access still pending, and the next run performs it
//   exactly once.
// - A step request may ask for many instructions (a count, or gdb's range stepping): the vcpu
//   thread steps them one KVM_RUN after another without parking in between, so N steps cost one
//   hand-off between threads instead of N (each hand-off is two context switches). Stepping is
//   defined in cpu/VcpuStepping.cpp, the thread, its parking, kicks and call() here.
#include "common/Signal.h"
#include "cpu/CpuState.h"
#include "cpu/VcpuStop.h"
#include "kvm/Vcpu.h"
#include "trace/AddressCounters.h"
#include "trace/ExitTrace.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <string>
#include <thread>
#include <type_traits>

namespace kvmscope {
class AddressBus;
class GuestMemory;
namespace debug {
class ExitBreakpoints;
}
} // namespace kvmscope

namespace kvmscope::cpu {

struct ExitAction;

enum class RunState { Created, Running, Paused, Stopped };
const char* toString(RunState state);

// What the runner needs from its machine, called on the vcpu thread.
class VcpuHost {
public:
    virtual ~VcpuHost() = default;
    // A stop-worthy exit parked this vcpu; the machine decides what the VM does.
    virtual void vcpuStopped(const VcpuStop& stop) = 0;
    // True once the machine is stopping (a device asked to power off or exit): leave KVM_RUN.
    virtual bool machineStopping() const = 0;
};

// What a step() runs: one instruction by default.
struct StepRequest {
    uint64_t count = 1; // at most this many instructions
    // gdb's range stepping (vCont;r): after each step, go on only while the next instruction's
    // linear address lies in [rangeBegin, rangeEnd). An empty range: `count` alone decides.
    uint64_t rangeBegin = 0;
    uint64_t rangeEnd = 0;
    // The first step runs with the armed breakpoints left out: it moves a vcpu off the
    // breakpoint it stopped at (an instruction breakpoint is a fault and would fire again).
    bool firstWithoutBreakpoints = false;
    // Report the end through VcpuHost::vcpuStopped (StopCause::Stepped) before parking, so the
    // debugger records the stop on this thread. Not reported: a step interrupted by pause(), or
    // one that ended at another stop (a breakpoint, an exit breakpoint), which reports itself.
    bool report = false;
    bool recordPcs = false; // keep each step's next-instruction address (stepPcs())
    // Steps of the same user request already done by an earlier one (the debugger's step off a
    // breakpoint): added to the reported count.
    uint64_t stepsBefore = 0;
};

class VcpuRunner {
public:
    VcpuRunner(kvm::Vcpu vcpu, const AddressBus& ioBus, const AddressBus& mmioBus, VcpuHost& host);
    ~VcpuRunner(); // stops and joins the thread

    uint32_t index() const { return vcpu_.id(); }
    RunState state() const { return state_.load(); }
    const trace::ExitTrace& trace() const { return trace_; }
    // Instructions kvmscope completed itself because the host's instruction emulator could not
    // (cpu/EmulationFallback.h); 0 on hosts that run ring 0 natively.
    uint64_t instructionsCompleted() const {
        return instructionsCompleted_.load(std::memory_order_relaxed);
    }
    // Exits per port / MMIO address (and direction) on this vcpu; snapshot from any thread.
    const trace::AddressCounters& addressCounters() const { return addressCounters_; }

    // Starts the thread parked; nothing runs until resume() or step().
    void start();
    // Thread-safe, non-blocking requests.
    void resume();
    void pause();
    // Single steps (KVM_GUESTDBG_SINGLESTEP) as `request` says, then park. Armed breakpoints
    // and watchpoints stay armed: a step that reaches one ends there with that stop. pause()
    // ends a run of steps between two instructions.
    void step(const StepRequest& request);
    // One instruction; `withoutBreakpoints` as StepRequest::firstWithoutBreakpoints.
    void step(bool withoutBreakpoints = false) {
        StepRequest request;
        request.firstWithoutBreakpoints = withoutBreakpoints;
        step(request);
    }
    // After a step request has parked: the linear address of the next instruction after its
    // last completed step (from the step's KVM_EXIT_DEBUG, or the registers when the step ended
    // at an I/O access); nullopt when no step completed (a stop or a pause came first).
    std::optional<uint64_t> lastStepPc() const;
    // After a step request has parked: how many of its steps completed, and (with recordPcs)
    // the next-instruction address after each.
    uint64_t stepsDone() const { return stepsDone_.load(std::memory_order_acquire); }
    std::vector<uint64_t> stepPcs() const;
    void stop(); // leave the loop for good; the thread ends

    // Blocks until the vcpu is parked (Paused or Stopped) or `timeoutMs` passes.
    bool waitUntilParked(int timeoutMs) const;
    // Blocks until the thread has ended.
    void join();

    // Runs `work` on the vcpu thread the next time it is parked (now, if it is) and waits for the
    // result. Throws what `work` throws. Throws Error if the vcpu does not park within
    // `timeoutMs` (it is running: pause it first).
    template <typename Work>
    std::invoke_result_t<Work&, kvm::Vcpu&> call(Work work, int timeoutMs = 2000);

    // The general registers at the last exit that reached kvmscope before the vcpu stopped for
    // good (KVM_CAP_SYNC_REGS; a shutdown's own exit is not one). A triple fault is reported on
    // AMD hosts after KVM has reset the vcpu (SVM leaves its state undefined at a SHUTDOWN
    // intercept), so this is the last state of the guest's own that anyone saw.
    struct LastExit {
        kvm_regs regs{};
        // The system registers too where KVM copies them (KVM_SYNC_X86_SREGS): the descriptor
        // tables, paging and mode a triple-fault autopsy needs (inspect/TripleFaultAutopsy.h).
        kvm_sregs sregs{};
        bool hasSregs = false;
        uint32_t reason = 0;      // KVM_EXIT_*
        uint64_t timestampNs = 0; // CLOCK_MONOTONIC, as exit records
    };
    // Thread-safe once the vcpu is parked; nullopt without sync regs or before any exit.
    std::optional<LastExit> lastExit(int timeoutMs = 2000);

    // Convenience wrappers over call().
    CpuState readState(int timeoutMs = 2000);
    void writeState(const CpuState& state, unsigned parts, int timeoutMs = 2000);

    // The MSRs readState() reads (normally the host's KVM_GET_MSR_INDEX_LIST).
    void setMsrIndices(std::vector<uint32_t> indices) { msrIndices_ = std::move(indices); }
    // Set before start() and never after, so any thread may read it (cpu::readCpuState).
    const std::vector<uint32_t>& msrIndices() const { return msrIndices_; }
    // Before start(): have KVM copy the general registers into kvm_run on every exit
    // (KVM_CAP_SYNC_REGS with KVM_SYNC_X86_REGS), so exit records carry RIP at no ioctl cost.
    void setSyncRegs(bool enabled) { syncRegs_ = enabled; }
    // Before start(): the system registers as well (KVM_SYNC_X86_SREGS), kept for lastExit().
    // Only with setSyncRegs(true).
    void setSyncSregs(bool enabled) { syncSregs_ = enabled; }
    // Before start(): the exit breakpoints to check on every exit (nullptr: none).
    void setExitBreakpoints(const debug::ExitBreakpoints* breakpoints) {
        exitBreakpoints_ = breakpoints;
    }
    // Before start(): the guest RAM the runner reads and writes when it completes an instruction
    // with a memory operand for the host's emulator (cpu/EmulationFallback.h); without it, such
    // instructions stop the vcpu.
    void setGuestMemory(GuestMemory* memory) { memory_ = memory; }

    // Thread-safe. The guest-debug state every later run applies (control 0: debugging off).
    // A running vcpu is kicked and re-enters KVM_RUN with it at once.
    void setGuestDebug(const kvm_guest_debug& debug);
    // Thread-safe. Linear addresses at which the vcpu must stop although no hardware breakpoint
    // or int3 can be used there: while the list is not empty the vcpu runs by single steps and
    // stops (StopCause::Debug with DR6.BS) when the step lands on one of them.
    void setStepCheckAddresses(std::vector<uint64_t> linearAddresses);

    // Emitted on the thread that changed the state (mostly the vcpu thread) as the runner parks,
    // runs or finishes. Stops go to the VcpuHost (the machine), which tells its own clients.
    Signal<uint32_t, RunState> stateChanged;

private:
    enum class Request { Pause, Run, Step, Quit };

    void threadMain();
    // Runs the vcpu until an exit ends the run (a stop, a finished step) or a kick interrupts
    // it; returns true when a requested single step completed.
    bool runUntilInterrupted(bool singleStep);
    // Records the exit, decides what it means (cpu/ExitAction.h) and does it: dispatches the
    // access, completes the instruction, or parks and reports the stop.
    ExitAction handleExit(bool singleStep);
    void applyGuestDebug(bool singleStep);
    void dispatchIo(kvm_run& run);
    void dispatchMmio(kvm_run& run);
    void recordExit(const kvm_run& run);
    void completePendingIo();
    // Parks the vcpu (unless it is quitting) and tells the host why, on the vcpu thread.
    void reportStop(const VcpuStop& stop);
    void clearKick(); // consumes a kick aimed at an earlier run: clears immediate_exit
    void setState(RunState state);
    void kick();
    void enqueue(std::function<void()> work, int timeoutMs, std::future<void>& done);

    // Stepping (cpu/VcpuStepping.cpp).
    void runSteps(const StepRequest& request, uint64_t serial);
    // Whether a run of steps goes on after an interrupted or completed step: takes the new
    // guest-debug settings of a kick meant for them (false: pause, stop or another request).
    bool stepsContinue(uint64_t serial);
    uint64_t currentLinearPc(); // vcpu thread: RIP as a linear address (KVM_GET_REGS/SREGS)

    kvm::Vcpu vcpu_;
    const AddressBus& ioBus_;
    const AddressBus& mmioBus_;
    VcpuHost& host_;
    trace::ExitTrace trace_;
    trace::AddressCounters addressCounters_;
    std::vector<uint32_t> msrIndices_;
    bool syncRegs_ = false;
    bool syncSregs_ = false;
    std::optional<LastExit> lastExit_; // vcpu thread only (read through call())
    bool lastExitNeedsCompletion_ = false;
    const debug::ExitBreakpoints* exitBreakpoints_ = nullptr;
    // An exit breakpoint parked the vcpu before the device saw the access in kvm_run: the next
    // run dispatches it first (vcpu thread only).
    bool exitBreakPending_ = false;
    static constexpr uint64_t kNoStepPc = ~0ull;
    std::atomic<uint64_t> lastStepPc_{kNoStepPc};
    std::atomic<uint64_t> stepsDone_{0};
    std::vector<uint64_t> stepPcs_;  // written by the vcpu thread while stepping, read once parked
    kvm_guest_debug appliedDebug_{}; // what KVM has now (vcpu thread only)
    std::atomic<uint64_t> instructionsCompleted_{0};
    GuestMemory* memory_ = nullptr; // for completed instructions' memory operands
    // Copies of the guarded settings below, taken when a run starts (vcpu thread only).
    kvm_guest_debug runDebug_{};
    bool runStepWithoutBreakpoints_ = false;
    std::vector<uint64_t> runStepCheck_;
    uint64_t exitsSincePark_ = 0;

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    Request request_ = Request::Pause;                             // guarded by mutex_
    std::deque<std::shared_ptr<std::packaged_task<void()>>> work_; // guarded by mutex_
    kvm_guest_debug armedDebug_{};                                 // guarded by mutex_
    StepRequest stepRequest_;                                      // guarded by mutex_
    uint64_t stepSerial_ = 0;         // guarded by mutex_: step requests so far
    std::vector<uint64_t> stepCheck_; // guarded by mutex_
    std::atomic<RunState> state_{RunState::Created};
    std::atomic<bool> threadInKvm_{false};
    std::thread thread_;
    std::atomic<pthread_t> threadHandle_{};
};

// --- template implementation -------------------------------------------------------------
template <typename Work>
std::invoke_result_t<Work&, kvm::Vcpu&> VcpuRunner::call(Work work, int timeoutMs) {
    using Result = std::invoke_result_t<Work&, kvm::Vcpu&>;
    if constexpr (std::is_void_v<Result>) {
        std::future<void> done;
        enqueue([this, &work] { work(vcpu_); }, timeoutMs, done);
        done.get();
    } else {
        std::optional<Result> result;
        std::future<void> done;
        enqueue([this, &work, &result] { result.emplace(work(vcpu_)); }, timeoutMs, done);
        done.get();
        return std::move(*result);
    }
}

} // namespace kvmscope::cpu
