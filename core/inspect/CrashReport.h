#pragma once
// What a front end shows of a crashed vcpu (cpu/CrashState.h: KVM's state after the stop, and
// the registers at the last exit before it), without reaching into cpu/ itself; after a triple
// fault, the chain of exceptions that led to it (inspect/TripleFaultAutopsy.h).
#include <cstdint>
#include <string>

namespace kvmscope {
class Machine;
}

namespace kvmscope::inspect {

struct CrashReport {
    uint32_t vcpu = 0;
    // KVM reset the vcpu when it reported the stop (AMD hosts at a triple fault's SHUTDOWN
    // intercept): its registers now are the reset state, not the crash.
    bool resetByKvm = false;
    bool hasLastExit = false; // the registers at the last exit before the crash are known
    std::string text;         // cpu::formatCrashState, for the report's details
    // After a shutdown (KVM_EXIT_SHUTDOWN), the triple-fault autopsy: its one-line summary and
    // its section of the report (formatAutopsy), or why there is none. Empty after other crashes.
    std::string autopsySummary;
    std::string autopsy;
};

// Reads the parked `vcpu` of `machine` (two calls on its thread) and formats the report as of
// now, with the autopsy when the machine stopped at that vcpu's shutdown. An unreadable vcpu
// gives a report that says why.
CrashReport readCrashReport(Machine& machine, uint32_t vcpu, int timeoutMs);

} // namespace kvmscope::inspect
