#include "debug/HostDebugSupport.h"

#include <fmt/format.h>

namespace kvmscope::debug {
namespace {

MechanismChoice chosen(BreakMechanism mechanism, std::string note = {}) {
    MechanismChoice choice;
    choice.mechanism = mechanism;
    choice.fallback = !note.empty();
    choice.note = std::move(note);
    return choice;
}

MechanismChoice refused(std::string note) {
    MechanismChoice choice;
    choice.note = std::move(note);
    return choice;
}

// Why int3 is not used: the first ring whose probe did not see it work.
std::string whyNoInt3(const HostDebugSupport& host) {
    const ProbeFinding& failed = host.int3Ring0.works ? host.int3Ring3 : host.int3Ring0;
    return "int3 does not reach kvmscope on this host (" + failed.detail + ")";
}

std::string whyNoExecutionRegister(const HostDebugSupport& host) {
    return "debug-register execution breakpoints do not fire on this host (" +
           host.executionRing0.detail + ")";
}

std::string whyNoStepping(const HostDebugSupport& host) {
    return "single-stepping does not work on this host (" + host.stepRing0.detail + ")";
}

constexpr const char* kRegistersTaken = "DR0-DR3 are taken";

// Execution breakpoints, software or hardware: the chain below `int3` (debug register, then
// stepping), with `why` saying what was passed over so far.
MechanismChoice registerOrStepping(const HostDebugSupport& host, unsigned freeDebugRegisters,
                                   std::string why) {
    auto join = [](std::string a, const std::string& b) {
        return a.empty() ? b : std::move(a) + "; " + b;
    };
    if (host.executionBreakpoints()) {
        if (freeDebugRegisters > 0)
            return chosen(BreakMechanism::DebugRegister, std::move(why));
        why = join(std::move(why), kRegistersTaken);
    } else {
        why = join(std::move(why), whyNoExecutionRegister(host));
    }
    if (host.stepping())
        return chosen(BreakMechanism::SteppingCheck, std::move(why));
    return refused(join(std::move(why), whyNoStepping(host)));
}

MechanismChoice watchpoint(const ProbeFinding& finding, const char* what,
                           unsigned freeDebugRegisters) {
    if (!finding.works)
        return refused(fmt::format("{} do not fire on this host ({})", what, finding.detail));
    if (freeDebugRegisters == 0)
        return refused(fmt::format("no free debug register ({})", kRegistersTaken));
    return chosen(BreakMechanism::DebugRegister);
}

} // namespace

const char* toString(BreakpointKind kind) {
    switch (kind) {
    case BreakpointKind::Software:
        return "breakpoint";
    case BreakpointKind::Hardware:
        return "hardware breakpoint";
    case BreakpointKind::WriteWatch:
        return "write watchpoint";
    case BreakpointKind::ReadWriteWatch:
        return "read/write watchpoint";
    }
    return "?";
}

const char* toString(BreakMechanism mechanism) {
    switch (mechanism) {
    case BreakMechanism::Int3:
        return "int3";
    case BreakMechanism::DebugRegister:
        return "debug register";
    case BreakMechanism::SteppingCheck:
        return "single-stepping with an address check";
    }
    return "?";
}

const std::array<HostDebugSupport::Entry, 8>& HostDebugSupport::entries() {
    static const std::array<Entry, 8> list{{
        {"int3 in ring 0", &HostDebugSupport::int3Ring0},
        {"int3 in ring 3", &HostDebugSupport::int3Ring3},
        {"execution breakpoint in ring 0", &HostDebugSupport::executionRing0},
        {"execution breakpoint in ring 3", &HostDebugSupport::executionRing3},
        {"write watchpoint", &HostDebugSupport::writeWatch},
        {"read/write watchpoint", &HostDebugSupport::readWriteWatch},
        {"single-step in ring 0", &HostDebugSupport::stepRing0},
        {"single-step in ring 3", &HostDebugSupport::stepRing3},
    }};
    return list;
}

MechanismChoice chooseMechanism(BreakpointKind kind, bool temporary, const HostDebugSupport& host,
                                unsigned freeDebugRegisters) {
    switch (kind) {
    case BreakpointKind::Software:
        if (temporary) // never patches memory: the chain starts at the debug registers
            return registerOrStepping(host, freeDebugRegisters, {});
        if (host.int3())
            return chosen(BreakMechanism::Int3);
        return registerOrStepping(host, freeDebugRegisters, whyNoInt3(host));
    case BreakpointKind::Hardware:
        // Asked for a debug register: all four taken is a refusal, not a quiet change of
        // mechanism; a host whose debug registers never fire gets the stepping fallback.
        if (host.executionBreakpoints())
            return freeDebugRegisters > 0
                       ? chosen(BreakMechanism::DebugRegister)
                       : refused(fmt::format("no free debug register ({})", kRegistersTaken));
        return registerOrStepping(host, freeDebugRegisters, {});
    case BreakpointKind::WriteWatch:
        return watchpoint(host.writeWatch, "data write watchpoints", freeDebugRegisters);
    case BreakpointKind::ReadWriteWatch:
        return watchpoint(host.readWriteWatch, "data read/write watchpoints", freeDebugRegisters);
    }
    return refused("unknown breakpoint kind");
}

} // namespace kvmscope::debug
