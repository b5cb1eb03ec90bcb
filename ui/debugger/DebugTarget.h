#pragma once
// What the debugger's views share about their session: its debug engine, and the registers of a
// stop for the go-to fields. The rule of the GUI (docs/design.md, threads): nothing waits on a
// running vcpu. The views are handed the session's snapshot of the selected vcpu at each stop
// (MachineSession::snapshot) and read guest memory relative to it; while the vcpu runs they keep
// what the last stop showed and say so.
#include "debugger/GoToExpression.h"
#include "inspect/VcpuSnapshot.h"

#include <optional>

namespace kvmscope::debug {
class Debugger;
}

namespace kvmscope::ui {

class MachineSession;

debug::Debugger& debuggerOf(MachineSession& session);
// Looks up "rax", "eip", "cr3", "pc", ... in `snapshot` for the go-to fields; every name is
// unknown without one (the vcpu runs).
RegisterLookup registerLookup(const std::optional<inspect::VcpuSnapshot>& snapshot);
// The snapshot the go-to fields evaluate against: `vcpu`'s, while it is inspectable.
std::optional<inspect::VcpuSnapshot> inspectableSnapshot(const MachineSession* session,
                                                         size_t vcpu);

} // namespace kvmscope::ui
