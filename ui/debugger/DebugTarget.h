#pragma once
// What every debugger model asks of a session: may this vcpu be read now, and its registers.
// The rule of the GUI (docs/design.md, threads): nothing waits on a running vcpu. A model reads
// guest state only when the machine is paused (or freshly booted) and the vcpu is parked;
// otherwise it keeps what it read at the last stop and says so.
#include "debugger/GoToExpression.h"
#include "kvm/compat.h"

#include <optional>

namespace kvmscope::debug {
class Debugger;
}

namespace kvmscope::ui {

class MachineSession;

struct VcpuRegisters {
    kvm_regs regs{};
    kvm_sregs sregs{};
    uint64_t pc() const { return sregs.cs.base + regs.rip; } // linear address of RIP
};

// The vcpu is parked and the session is not running or stopped for good.
bool canInspect(const MachineSession* session, size_t vcpu);
// The vcpu's registers (one round trip to its parked thread); nullopt when !canInspect.
std::optional<VcpuRegisters> readRegisters(MachineSession* session, size_t vcpu);
debug::Debugger& debuggerOf(MachineSession& session);
// Looks up "rax", "eip", "cr3", ... in `state` for the go-to field.
RegisterLookup registerLookup(const std::optional<VcpuRegisters>& state);

} // namespace kvmscope::ui
