#pragma once
// kvmscope's debug engine for one machine: breakpoints (hardware, int3, or stepping with an
// address check where neither can be used), watchpoints, exit breakpoints, single-step, step
// over a call, continue and run-to, all-stop across vcpus, and the guest's memory, code and page
// tables as the stopped vcpu sees them. A GUI view and a gdb stub are both clients of this API:
// they observe stops through the stopped() signal or lastStop()/waitForStop().
//
// Threads: control calls (continueAll, step..., add/remove) come from one controlling thread (the
// GUI's or the stub's); a vcpu thread reports a stop through vcpuStopped(), which pauses every
// other vcpu (all-stop) and records the stop. Every vcpu ioctl stays on the vcpu's own thread.
#include "common/Signal.h"
#include "cpu/VcpuRunner.h"
#include "debug/BreakpointTable.h"
#include "debug/ExitBreakpoints.h"
#include "debug/GuestInspector.h"
#include "debug/HostDebugSupport.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace kvmscope {
class Machine;
namespace kvm {
class System;
}
} // namespace kvmscope

namespace kvmscope::debug {

enum class DebugStopReason {
    Breakpoint,     // an execution breakpoint (any mechanism)
    Watchpoint,     // a data watchpoint
    Step,           // a requested single step finished
    ExitBreakpoint, // an exit breakpoint matched; the access is still pending
    DebugExit,      // a debug exit no breakpoint of ours explains
};
const char* toString(DebugStopReason reason);

struct DebugStop {
    uint32_t vcpu = 0;
    DebugStopReason reason = DebugStopReason::DebugExit;
    int breakpointId = 0;     // Breakpoint, Watchpoint, ExitBreakpoint
    uint64_t pc = 0;          // linear address of the next instruction (0 for exit breakpoints)
    uint64_t dataAddress = 0; // watched address, or the port / MMIO address
    uint64_t value = 0;       // ExitBreakpoint: the value written
    std::string description;
};

class Debugger : private MemoryPatches {
public:
    static constexpr unsigned kDebugRegisterSlots = BreakpointTable::kDebugRegisterSlots;
    static constexpr int kDefaultTimeoutMs = 5000;

    Debugger(Machine& machine, const kvm::System& system, ExitBreakpoints& exitBreakpoints);

    // --- breakpoints (linear addresses); each returns the new id, throws InputError when the
    // request cannot be met: no free debug register, a misaligned watchpoint, or no mechanism
    // this host's probe saw work (chooseMechanism, debug/HostDebugSupport.h). The mechanism a
    // breakpoint got is in breakpoints() and its describe().
    int addBreakpoint(uint64_t address); // software: int3, else a debug register, else stepping
    int addHardwareBreakpoint(uint64_t address); // a debug register, else stepping
    int addWatchpoint(uint64_t address, unsigned length, bool readWrite);
    // Free slots of DR0-DR3 now (what chooseMechanism is given).
    unsigned freeDebugRegisters() const;
    bool removeBreakpoint(int id);
    // Disarms or re-arms breakpoint `id` (execution or watchpoint) with the mechanism it was
    // given; false when there is no such id. A disabled debug-register breakpoint frees its slot
    // for others; enabling it takes any free slot again and throws InputError when all four are
    // taken meanwhile (it stays disabled). An int3 is re-inserted where the address maps now
    // (InputError when it no longer maps).
    bool setBreakpointEnabled(int id, bool enabled);
    std::vector<Breakpoint> breakpoints() const;

    int addExitBreakpoint(const ExitBreakpoint& breakpoint);
    bool removeExitBreakpoint(int id);
    bool setExitBreakpointEnabled(int id, bool enabled); // false when there is no such id
    std::vector<ExitBreakpoint> exitBreakpoints() const;

    // --- execution control (all-stop: the others stay paused while one vcpu steps).
    // Pauses the machine if needed, moves every vcpu that sits on an execution breakpoint off it
    // (one step with execution breakpoints left out), then resumes all vcpus.
    void continueAll();
    // One instruction on `vcpu`; returns when it is done (throws Error on timeout).
    void stepInstruction(uint32_t vcpu, int timeoutMs = kDefaultTimeoutMs);
    // `count` instructions on `vcpu`, stepped on its own thread one after another (one hand-off
    // for all, not one per step); ends early at a breakpoint, watchpoint or exit breakpoint,
    // which is then the stop. Returns the steps done; with `pcs`, the linear address of the next
    // instruction after each. On timeout the vcpu is paused where it is, the stop recorded, and
    // Error thrown.
    uint64_t stepInstructions(uint32_t vcpu, uint64_t count, int timeoutMs = kDefaultTimeoutMs,
                              std::vector<uint64_t>* pcs = nullptr);
    // gdb's range stepping (vCont;r): steps `vcpu` once, then on while the next instruction is
    // in [begin, end). Returns at once, like continueAll: the stop (Step when the range is left)
    // comes through stopped() / waitForStop().
    void stepRange(uint32_t vcpu, uint64_t begin, uint64_t end);
    // `count` instructions on `vcpu` like stepInstructions, but returns at once: the stop comes
    // through stopped() (the GUI's "Step N", which must not block its thread for the seconds
    // a long run of steps can take). A pause ends it between two steps without a stop.
    void startSteps(uint32_t vcpu, uint64_t count);
    // Steps over a call (a temporary breakpoint after it, then continue); otherwise one step.
    void stepOver(uint32_t vcpu, int timeoutMs = kDefaultTimeoutMs);
    // Continue until any vcpu reaches `address` (a temporary breakpoint).
    void runTo(uint64_t address);

    // The last stop, and a wait for a stop after the last continue/step.
    std::optional<DebugStop> lastStop() const;
    std::optional<DebugStop> waitForStop(int timeoutMs);

    // --- what the stopped vcpu sees: guest memory and code, int3 bytes shown as the guest's own
    // and edits under an int3 kept by its saved byte (debug/GuestInspector.h).
    GuestInspector& guest() { return inspector_; }
    const GuestInspector& guest() const { return inspector_; }

    const HostDebugSupport& hostSupport() const { return support(); }

    // Called by the machine on the vcpu thread for StopCause::Debug and ExitBreakpoint.
    void vcpuStopped(const cpu::VcpuStop& stop);

    // Emitted on the vcpu thread that stopped, after lastStop() shows the stop; every client
    // (the GUI, the gdb stub) sees every stop.
    Signal<DebugStop> stopped;

private:
    const HostDebugSupport& support() const;
    int addExecution(uint64_t address, BreakpointKind kind, bool temporary);
    Int3Patch insertInt3(uint64_t address); // patches 0xCC where `address` maps now
    void removeInt3(const Breakpoint& breakpoint);
    void applyDebugState();                              // pushes the breakpoints to every vcpu
    DebugStop classify(const cpu::VcpuStop& stop) const; // callers hold mutex_
    void pauseAll();
    void stepOffBreakpoint(uint32_t vcpu, int timeoutMs);
    // Whether paused `vcpu` sits on an execution breakpoint it must be stepped off (one that
    // fires by itself: an int3 or a debug register).
    bool sitsOnBreakpoint(uint32_t vcpu);
    // pauseAll, then sitsOnBreakpoint.
    bool pauseAndCheckOnBreakpoint(uint32_t vcpu);
    void recordStep(uint32_t vcpu, uint64_t steps, std::optional<uint64_t> pc);
    // The asynchronous runs of steps: off a breakpoint first where needed, then `request` (its
    // count including that first step) on the vcpu thread, which records the stop.
    void startStepping(uint32_t vcpu, cpu::StepRequest request);
    std::string describeStep(uint32_t vcpu, uint64_t steps, uint64_t pc) const;
    void recordStop(const DebugStop& stop);
    // MemoryPatches, for the inspector: the int3s' original bytes.
    void showOriginalBytes(uint64_t linear, std::span<uint8_t> bytes) const override;
    void afterWrite(uint64_t physical, std::span<const uint8_t> bytes) override;

    Machine& machine_;
    const kvm::System& system_;
    ExitBreakpoints& exitBreakpoints_;
    GuestInspector inspector_;

    mutable std::mutex mutex_;
    std::condition_variable stopChanged_;
    BreakpointTable table_;             // guarded by mutex_
    std::optional<DebugStop> lastStop_; // guarded by mutex_
    uint64_t stopSequence_ = 0;         // guarded by mutex_: stops recorded so far
    uint64_t waitFrom_ = 0;             // guarded by mutex_: waitForStop wants a later stop
    // Counted as a vcpu begins to report a stop, before it pauses the others: continueAll uses
    // it to see a stop that raced with its resuming the vcpus one by one.
    std::atomic<uint64_t> stopsBegun_{0};
};

} // namespace kvmscope::debug
