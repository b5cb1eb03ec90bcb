#pragma once
// One vcpu's state at a stop, as the front ends inspect it: read by one call() on the vcpu's own
// thread when it parks, then handed around as a value. The GUI's register, code, call-stack,
// page-walk and go-to views all read the one snapshot of a stop instead of each asking the vcpu
// thread again (docs/design.md, "One snapshot per stop"), and so they can be tested with made-up
// snapshots, without /dev/kvm. The memory they read beyond the registers comes from a GuestView
// (inspect/GuestView.h), relative to a snapshot's paging registers.
//
// This header is also how a front end sees the vcpu's state types (cpu::CpuState and the KVM
// register structs): the GUI includes nothing of cpu/ or kvm/ itself.
#include "cpu/CpuState.h" // first: its kvm/compat.h must precede Disassembler.h's <linux/kvm.h>
#include "debug/Disassembler.h"
#include "debug/PageWalker.h"

#include <cstdint>
#include <span>
#include <vector>

namespace kvmscope::cpu {
class VcpuRunner;
}

namespace kvmscope::inspect {

// Where a snapshot's vcpu was. A snapshot is only taken of a parked vcpu, so never "running"
// (cpu::RunState would always read Paused there): what matters to a viewer is whether the vcpu
// has run yet and whether its machine has stopped for good.
enum class ParkedState {
    Created, // booted, never run: the boot state
    Paused,  // paused, stepped, or stopped by the debugger: it may run again
    Stopped, // its machine stopped for good (Machine::stopState): readable, never run again
};
const char* toString(ParkedState state);

// KVM_TRANSLATE's answer for one linear address (api.rst 4.38). On x86 it reports only validity
// and the physical address (docs/debugger.md, "Page walker"), so only those are kept.
struct KvmTranslation {
    uint64_t linear = 0;
    bool valid = false;
    uint64_t physical = 0;
};

struct VcpuSnapshot {
    uint32_t vcpu = 0;
    // The vcpu's stops, counted by whoever takes the snapshots (MachineSession). A snapshot taken
    // again at the same stop (after an edit) keeps the number, so a viewer tells a new stop,
    // whose changes it highlights, from an edit of the one it shows.
    uint64_t stop = 0;
    ParkedState runState = ParkedState::Paused;
    cpu::CpuState cpu;
    uint64_t pc = 0; // RIP as a linear address (cpu::linearPc)
    // KVM_TRANSLATE of pc first, then of each address asked for when the snapshot was taken.
    std::vector<KvmTranslation> translations;

    // KVM_TRANSLATE's answer for `linear`, or null when the snapshot was not asked for it.
    const KvmTranslation* translation(uint64_t linear) const;
    // The translation of RIP; null only in a made-up snapshot without one.
    const KvmTranslation* pcTranslation() const { return translation(pc); }
    debug::CodeMode codeMode() const { return debug::codeModeOf(cpu.sregs); }
};

// The snapshot of the parked `runner`, read in one call() on its thread: its CpuState (every part,
// as VcpuRunner::readState), RIP's linear address, and KVM_TRANSLATE of it and of each address in
// `translate`. `stop` and `runState` are the caller's to fill. Throws Error when the vcpu does
// not serve the call within `timeoutMs` (it runs: pause it first), KvmError when KVM refuses.
VcpuSnapshot captureVcpuSnapshot(cpu::VcpuRunner& runner, std::span<const uint64_t> translate,
                                 int timeoutMs);

// KVM_TRANSLATE of `linear` on the parked `runner`, in one call: for an address that a snapshot
// was not taken with. Throws as captureVcpuSnapshot.
KvmTranslation translateOnVcpu(cpu::VcpuRunner& runner, uint64_t linear, int timeoutMs);

// An edit of one general register (the register view's), as the kvm_regs field it writes.
struct RegisterWrite {
    __u64 kvm_regs::*field = nullptr;
    uint64_t value = 0;
};

// Writes `write` (KVM_GET_REGS, the field changed, KVM_SET_REGS) and takes the snapshot of the
// state after it, both in the same call() on the vcpu's thread. Throws as captureVcpuSnapshot.
VcpuSnapshot writeAndCapture(cpu::VcpuRunner& runner, const RegisterWrite& write,
                             std::span<const uint64_t> translate, int timeoutMs);

} // namespace kvmscope::inspect
