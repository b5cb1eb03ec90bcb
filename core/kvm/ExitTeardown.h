#pragma once
// Lets a process that is about to exit do so without waiting for the kernel to destroy its VM.
//
// Destroying a VM that has an in-kernel irqchip waits for SRCU grace periods, one per I/O-bus
// device it unregisters (PIC, IOAPIC, PIT, ...). That costs 1-2 ms on a quiet VMX host and 8-30 ms
// on a busy or nested one, and an exiting process pays it in exit_files() before its parent sees
// it end. A headless run that has finished its work only has to leave; the kernel can free the VM
// a few milliseconds later in another task, as it would for any orphaned fd.
#include "kvm/Vm.h"

namespace kvmscope::kvm {

// Hands the last reference to `vm` to a child process that holds nothing else and is killed
// (PR_SET_PDEATHSIG) when the calling thread exits; the kernel then destroys the VM in that
// child's exit. Call it once, from the thread that will exit the process (the main thread),
// when the VM will not run again; the caller still closes its own fds as usual (now cheaply).
// Guest RAM should be MADV_DONTFORK (GuestMemory does that) so the fork copies no page tables
// for it. Does nothing, and returns false, when fork fails: the process then pays the
// teardown itself.
bool deferTeardownToExit(const Vm& vm);

} // namespace kvmscope::kvm
