#pragma once
// The triple-fault autopsy: after KVM_EXIT_SHUTDOWN, the chain of exceptions that led to it,
// rebuilt from a vcpu state and the guest's memory in the order the processor works (Intel SDM
// vol. 3A):
//
//   first exception  the instruction at RIP (decoded by Zydis): ud2, int n/int3/into, a divide
//                    whose divisor and dividend are in the registers, a privileged instruction
//                    above CPL 0, a memory operand walked through its segment (limit) and the
//                    page tables (#PF with CR2 and the error code of 4.7); RIP itself outside CS
//                    or unmapped (#GP(0), #PF on the fetch).
//   delivery         6.12.1 and 6.14 (the INT n pseudocode of vol. 2A): the gate within the IDT
//                    limit and readable, its type valid for the mode, present; its code segment
//                    selector in the GDT/LDT limit, a present code segment (64-bit in IA-32e
//                    mode); the stack it switches to (TSS IST/RSPn in IA-32e mode, SSn:ESPn from
//                    the TSS on a privilege change in protected mode, else the current one) and
//                    the frame written there, through segment limits and page tables; real mode
//                    reads the vector table at IDTR (20.1.4). A failure is the next exception:
//                    #GP/#NP with the IDT or selector error code, #TS, #SS, #PF.
//   classes          6.15, tables 6-4 and 6-5: benign, contributory and page-fault exceptions
//                    decide whether the second one is delivered on its own or becomes #DF; a
//                    contributory fault or #PF while delivering #DF is the triple fault.
//
// The state is the best one known at the fault. Where KVM kept the vcpu's state at the shutdown
// (Intel hosts), RIP is at the first fault's instruction and the steps are observed. Where KVM
// reset the vcpu (the SHUTDOWN intercept on AMD hosts), it is the state at the last exit before
// the shutdown: the guest ran on from there, so the first exception is inferred from the
// instruction after that exit and the system state then, and every step says so.
//
// A pure function of the state and a GuestView, so it is tested on made-up memory.
#include "inspect/GuestView.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kvmscope::inspect {

struct FaultState {
    enum class Source {
        AtShutdown, // KVM's state at the shutdown, not reset: RIP is the faulting instruction's
        LastExit,   // the registers at the last exit before it: the guest ran on from there
    };
    Source source = Source::AtShutdown;
    kvm_regs regs{};
    kvm_sregs sregs{};
    uint32_t lastExitReason = 0; // Source::LastExit: its KVM_EXIT_*
    // Source::AtShutdown: KVM_GET_VCPU_EVENTS then (an exception KVM still holds is reported).
    std::optional<kvm_vcpu_events> events;
};

enum class Certainty {
    Observed, // read from the state at the fault and the guest's memory
    Inferred, // from the last exit's state: what the guest would have done after it
};
const char* toString(Certainty certainty);

struct AutopsyStep {
    Certainty certainty = Certainty::Inferred;
    std::string text;
};

struct TripleFaultAutopsy {
    std::string basis; // what the reconstruction starts from, and how far to trust it
    std::vector<AutopsyStep> steps;
    std::vector<std::string> chain; // "#UD", "#GP(0x33)", "#DF(0x0)", "triple fault"
    bool reachesShutdown = false;   // the steps end in the triple fault
    std::string summary;            // one line: the chain and its certainty
};

TripleFaultAutopsy reconstructTripleFault(const FaultState& state, const GuestView& memory);

// The report's section: the basis, one line per step with its certainty, the summary.
std::string formatAutopsy(const TripleFaultAutopsy& autopsy);

} // namespace kvmscope::inspect
