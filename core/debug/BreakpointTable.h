#pragma once
// The debugger's breakpoints as data: their ids, the mechanism each got, the debug-register slots
// (DR0-DR3), which are armed, their hits, the bytes kvmscope's int3s replaced; what KVM must be
// told for them (one kvm_guest_debug, the stepping-check addresses); and which breakpoint a debug
// exit belongs to.
//
// Pure code: no vcpu, no guest memory, no lock. The Debugger patches memory and talks to the
// vcpus, and holds its mutex around every call here; tests drive the table with made-up exits
// (tests/unit/debug/BreakpointTableTest.cpp).
#include "debug/HostDebugSupport.h"
#include "kvm/compat.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kvmscope::debug {

struct Breakpoint {
    int id = 0;
    BreakpointKind kind = BreakpointKind::Software;
    BreakMechanism mechanism = BreakMechanism::Int3;
    uint64_t address = 0;   // linear address
    unsigned length = 1;    // watchpoints: 1, 2, 4 or 8 bytes
    int slot = -1;          // DebugRegister: 0-3
    bool temporary = false; // set by stepOver/runTo; removed at the next stop
    uint64_t physical = 0;  // Int3: where the 0xCC is
    uint8_t originalByte = 0;
    // Disabled: listed with its id, kind, mechanism and hits, but not armed (no 0xCC in memory,
    // no DR7 enable, not stepped for) and holding no debug register (slot -1).
    bool enabled = true;
    uint64_t hits = 0; // stops attributed to it (Breakpoint/Watchpoint stops with its id)
    // A fallback mechanism: why the better ones could not be used (MechanismChoice::note).
    std::string mechanismNote;

    bool isExecution() const {
        return kind == BreakpointKind::Software || kind == BreakpointKind::Hardware;
    }
    bool isWatchpoint() const { return !isExecution(); }
    std::string describe() const;
};

// Where an int3 went: the guest-physical byte kvmscope overwrote with 0xCC, and what was there.
struct Int3Patch {
    uint64_t physical = 0;
    uint8_t originalByte = 0;
};

// What every vcpu is given for the armed breakpoints.
struct GuestDebugSettings {
    kvm_guest_debug debug{};                  // KVM_SET_GUEST_DEBUG (api.rst 4.59)
    std::vector<uint64_t> stepCheckAddresses; // VcpuRunner::setStepCheckAddresses
};

class BreakpointTable {
public:
    static constexpr unsigned kDebugRegisterSlots = 4; // DR0-DR3
    static constexpr uint8_t kInt3Opcode = 0xCC;

    // The mechanism a new breakpoint of `kind` would get now, with the debug registers that are
    // free (chooseMechanism). An int3 does not depend on them.
    MechanismChoice choose(BreakpointKind kind, bool temporary, const HostDebugSupport& host) const;

    // Adds `breakpoint` with the mechanism it was given (choose()); an Int3 one carries its
    // patch already. Gives it the next id and, for a debug register, the lowest free slot
    // (InputError when none is free). Returns the id.
    int add(Breakpoint breakpoint);
    // Removes `id`; returns it as it was (an armed Int3's byte is for the caller to put back).
    std::optional<Breakpoint> remove(int id);
    // Drops every temporary breakpoint (step over, run to); returns them.
    std::vector<Breakpoint> dropTemporaries();

    // Disarms `id`: no longer armed, its slot free for others. Returns it as it was armed (an
    // Int3's byte is for the caller to put back); nullopt when there is no such id or it was
    // disabled already.
    std::optional<Breakpoint> disable(int id);
    // Re-arms a DebugRegister (any free slot now: InputError when all four are taken, and it stays
    // disabled) or SteppingCheck breakpoint. An Int3 one needs its new patch: enableInt3.
    void enable(int id);
    void enableInt3(int id, const Int3Patch& patch);

    const Breakpoint* find(int id) const;
    const std::vector<Breakpoint>& all() const { return breakpoints_; }
    unsigned freeDebugRegisters() const;
    bool hasTemporaries() const;

    // The armed execution breakpoint at `linear` (any mechanism), or nullptr.
    const Breakpoint* executionAt(uint64_t linear) const;
    // Whether an armed execution breakpoint that fires by itself (int3 or a debug register, not
    // stepping) exists: only then can a vcpu sit on one it must be stepped off.
    bool anyFiringExecution() const;

    // The breakpoint a KVM_EXIT_DEBUG (api.rst 5) belongs to: #BP at an int3 of ours, #DB with
    // DR6 naming one of our slots, or a single-step trap onto a stepping-check address.
    const Breakpoint* hitBy(const kvm_debug_exit_arch& exit) const;
    void countHit(int id);

    // What KVM must be told for the armed breakpoints: DR0-DR3 and DR7 (SDM vol. 3B 18.2), the
    // USE_SW_BP flag for int3s, and the stepping-check addresses.
    GuestDebugSettings guestDebug() const;

    // Guest memory as the guest wrote it: where one of our int3s sits inside the `bytes` read at
    // `linear`, the original byte replaces the 0xCC.
    void showOriginalBytes(uint64_t linear, std::span<uint8_t> bytes) const;
    // The guest (or the user) wrote `bytes` at `physical`: an armed int3 inside keeps its 0xCC and
    // takes the written byte as its original. Returns the physical addresses where the caller
    // must put the 0xCC back after the write.
    std::vector<uint64_t> absorbWrite(uint64_t physical, std::span<const uint8_t> bytes);

private:
    Breakpoint* findMutable(int id);
    int freeSlot() const; // -1 when all four are taken

    std::vector<Breakpoint> breakpoints_;
    int nextId_ = 1;
};

} // namespace kvmscope::debug
