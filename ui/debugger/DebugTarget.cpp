#include "debugger/DebugTarget.h"

#include "machine/Machine.h"
#include "session/MachineSession.h"

#include <QHash>
#include <utility>

namespace kvmscope::ui {

debug::Debugger& debuggerOf(MachineSession& session) {
    return session.machine().debugger();
}

std::optional<inspect::VcpuSnapshot> inspectableSnapshot(const MachineSession* session,
                                                         size_t vcpu) {
    if (!session || !session->vcpuInspectable(vcpu))
        return std::nullopt;
    return session->snapshot(vcpu);
}

RegisterLookup registerLookup(const std::optional<inspect::VcpuSnapshot>& snapshot) {
    return [snapshot](const QString& name) -> std::optional<uint64_t> {
        if (!snapshot)
            return std::nullopt;
        const kvm_regs& r = snapshot->cpu.regs;
        const kvm_sregs& s = snapshot->cpu.sregs;
        // 64-bit names, then their 32-bit halves (eax ... edi, eip): the same value truncated.
        const std::pair<const char*, uint64_t> full[] = {
            {"rax", r.rax},       {"rbx", r.rbx},         {"rcx", r.rcx},        {"rdx", r.rdx},
            {"rsi", r.rsi},       {"rdi", r.rdi},         {"rbp", r.rbp},        {"rsp", r.rsp},
            {"r8", r.r8},         {"r9", r.r9},           {"r10", r.r10},        {"r11", r.r11},
            {"r12", r.r12},       {"r13", r.r13},         {"r14", r.r14},        {"r15", r.r15},
            {"rip", r.rip},       {"rflags", r.rflags},   {"cr0", s.cr0},        {"cr2", s.cr2},
            {"cr3", s.cr3},       {"cr4", s.cr4},         {"cr8", s.cr8},        {"efer", s.efer},
            {"pc", snapshot->pc}, {"fs_base", s.fs.base}, {"gs_base", s.gs.base}};
        for (const auto& [registerName, value] : full)
            if (name == QLatin1String(registerName))
                return value;
        if (name.size() == 3 && name.startsWith(QLatin1Char('e')))
            for (const auto& [registerName, value] : full)
                if (registerName[0] == 'r' && name.mid(1) == QLatin1String(registerName + 1))
                    return value & 0xFFFFFFFFu;
        return std::nullopt;
    };
}

} // namespace kvmscope::ui
