#pragma once
// Exit breakpoints: stop the VM when the guest touches an I/O port or MMIO range (optionally only
// with a given value), or on a given KVM exit reason. The vcpu thread checks them on every exit
// to user space BEFORE any device sees the access (cpu/ExitAction.cpp), so with none set the
// check must cost next to nothing: armed() is one relaxed atomic load and takes no lock.
#include "kvm/compat.h"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace kvmscope::debug {

enum class ExitBreakKind {
    PortWrite, // OUT/OUTS to a port in [address, address + length)
    PortRead,  // IN/INS
    PortAccess,
    MmioWrite, // a guest write to MMIO overlapping [address, address + length)
    MmioRead,
    MmioAccess,
    ExitReason, // any exit to user space with KVM_EXIT_<exitReason> (e.g. KVM_EXIT_SHUTDOWN)
};
const char* toString(ExitBreakKind kind);

struct ExitBreakpoint {
    int id = 0; // assigned by ExitBreakpoints::add
    ExitBreakKind kind = ExitBreakKind::PortWrite;
    uint64_t address = 0;
    uint64_t length = 1;
    std::optional<uint64_t> value; // writes only: stop only when the written value equals this
    uint32_t exitReason = 0;       // for ExitReason
    bool enabled = true;           // a disabled one stays listed but never matches
    uint64_t hits = 0;             // stops attributed to it (ExitBreakpoints::countHit)
    std::string describe() const;
};

// The exit breakpoint that matched an exit, and what the guest did.
struct ExitBreakpointHit {
    int id = 0;
    uint64_t address = 0; // port or guest-physical MMIO address of the access
    uint64_t value = 0;   // the written value (writes), 0 otherwise
    std::string description;
};

class ExitBreakpoints {
public:
    // Thread-safe; add() returns the new breakpoint's id.
    int add(ExitBreakpoint breakpoint);
    bool remove(int id);
    // False when there is no such breakpoint. A disabled one keeps its id, place and hits.
    bool setEnabled(int id, bool enabled);
    // A stop was attributed to breakpoint `id` (the debugger, on the stopping vcpu's thread).
    void countHit(int id);
    std::vector<ExitBreakpoint> list() const;

    // Vcpu thread, every exit: true when at least one breakpoint is set and enabled.
    bool armed() const { return count_.load(std::memory_order_relaxed) != 0; }
    // Vcpu thread, only when armed(): the first breakpoint the exit in `run` matches.
    std::optional<ExitBreakpointHit> match(const kvm_run& run) const;

private:
    mutable std::mutex mutex_;
    std::vector<ExitBreakpoint> breakpoints_; // guarded by mutex_
    int nextId_ = 1;                          // guarded by mutex_
    std::atomic<size_t> count_{0};            // enabled breakpoints; written under mutex_

    void updateCount(); // callers hold mutex_
};

} // namespace kvmscope::debug
