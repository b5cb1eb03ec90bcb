#pragma once
// Why a VM stopped, and the status the headless CLI exits with for it (README "Exit status").
#include <cstdint>
#include <string>

namespace kvmscope {

enum class StopKind {
    None,
    PowerOff,  // ACPI S5 through PM1a_CNT: a clean stop
    Reset,     // the guest asked for a reset (0xCF9, i8042 0xFE, KVM system event)
    DebugExit, // the isa-debug-exit port: status (value << 1) | 1
    Crash,     // triple fault, internal error, failed entry, host error
    Timeout,   // --timeout ran out
    UserStop,  // stopped from the GUI, a signal or Ctrl-A x
};

const char* toString(StopKind kind);

struct MachineStop {
    StopKind kind = StopKind::None;
    uint32_t debugExitValue = 0;
    uint32_t vcpu = 0;  // the vcpu that caused it, where one did
    std::string reason; // a sentence for the user
    // The KVM_EXIT_* of the vcpu exit behind a crash (KVM_EXIT_SHUTDOWN: a triple fault); 0
    // otherwise.
    uint32_t exitReason = 0;

    // 0 clean, (V << 1) | 1 debug exit, 4 crash, 6 timeout (see README).
    int exitStatus() const;
};

} // namespace kvmscope
