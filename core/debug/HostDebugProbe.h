#pragma once
// The host probe: which debug mechanisms this host's KVM really delivers, found by running a
// tiny 32-bit guest per mechanism in a throwaway VM (flat segments loaded through
// KVM_SET_SREGS, paging off; CPL 0, or CPL 3 by loading CS and SS with DPL 3, SDM vol. 3A 5.5):
//
//   int3 in ring 0 / ring 3          int3 with KVM_GUESTDBG_USE_SW_BP: KVM_EXIT_DEBUG, #BP
//   execution breakpoint ring 0 / 3  DR0 on the second instruction: KVM_EXIT_DEBUG, DR6.B0, there
//   write watchpoint                 DR0 R/W=01 on a stored dword: KVM_EXIT_DEBUG, DR6.B0
//   read/write watchpoint            DR0 R/W=11 on a loaded dword: KVM_EXIT_DEBUG, DR6.B0
//   single-step in ring 0 / ring 3   KVM_GUESTDBG_SINGLESTEP: DR6.BS after each of two nops
//
// Every probe guest ends: the IDT limit is 0, so an exception the guest takes instead of
// kvmscope (a #BP or #DB that KVM lets through, a ring-3 hlt) shuts it down by a triple fault,
// the rest of its memory is hlt, and the runs are bounded. What each one saw is kept as text.
#include "debug/HostDebugSupport.h"

namespace kvmscope::kvm {
class System;
}

namespace kvmscope::debug {

// Runs every probe now (a few ms each on hardware; each one VM).
HostDebugSupport probeHostDebugSupport(const kvm::System& system);

// The check behind the ring-3 probes: a probe guest loaded with CS and SS of DPL 3 runs at
// CPL 3 when its hlt raises #GP (a shutdown here) instead of giving KVM_EXIT_HLT. `works` says
// it did; the detail says what was seen.
ProbeFinding probeRing3Privilege(const kvm::System& system);

// Whether the host's KVM raises #GP for LDMXCSR of a reserved MXCSR bit, as the SDM requires:
// `works` when it does (a shutdown through the probe's empty IDT), after a valid value ran on to
// hlt. QEMU's TCG, under which the nested test harness runs its KVM, loads the value instead.
// Not used by the debugger: it tells tests of the guest-visible behaviour what to expect.
ProbeFinding probeLdmxcsrReservedBitFault(const kvm::System& system);

// The same, once per process, then cached: the answer is a property of the host's KVM, not of
// a machine. Thread-safe.
const HostDebugSupport& hostDebugSupport(const kvm::System& system);

} // namespace kvmscope::debug
