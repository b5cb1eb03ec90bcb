#include "cpu/CpuState.h"

#include "cpu/X86Bits.h"
#include "kvm/KvmError.h"
#include "kvm/Vcpu.h"

#include <fmt/format.h>

namespace kvmscope::cpu {
namespace {

std::string segment(const char* name, const kvm_segment& s) {
    return fmt::format("{:<3}={:04x} base={:016x} limit={:08x} type={:x} dpl={} {}{}{}{}", name,
                       s.selector, s.base, s.limit, s.type, s.dpl, s.present ? "P" : "-",
                       s.db ? " D" : "", s.l ? " L" : "", s.g ? " G" : "");
}

} // namespace

CpuState readCpuState(kvm::Vcpu& vcpu, const std::vector<uint32_t>& msrIndices) {
    CpuState state;
    state.vcpu = vcpu.id();
    state.regs = vcpu.regs();
    state.sregs = vcpu.sregs();
    state.fpu = vcpu.fpu();
    state.debugRegs = vcpu.debugRegs();
    state.events = vcpu.events();
    state.mpState = vcpu.mpState();
    try {
        state.lapic = vcpu.lapic();
        state.hasLapic = true;
    } catch (const kvm::KvmError&) {
        state.hasLapic = false; // no in-kernel irqchip
    }
    if (!msrIndices.empty())
        state.msrs = vcpu.msrs(msrIndices);
    return state;
}

uint64_t linearPc(const kvm_regs& regs, const kvm_sregs& sregs) {
    if ((sregs.efer & x86::kEferLma) && sregs.cs.l)
        return regs.rip;
    return (sregs.cs.base + regs.rip) & 0xffff'ffffull;
}

std::string formatGeneralRegisters(const kvm_regs& r) {
    std::string text =
        fmt::format("RIP={:016x} RFLAGS={:08x} RSP={:016x}\n", r.rip, r.rflags, r.rsp);
    text += fmt::format("RAX={:016x} RBX={:016x} RCX={:016x} RDX={:016x}\n", r.rax, r.rbx, r.rcx,
                        r.rdx);
    text +=
        fmt::format("RSI={:016x} RDI={:016x} RBP={:016x} R8 ={:016x}\n", r.rsi, r.rdi, r.rbp, r.r8);
    text +=
        fmt::format("R9 ={:016x} R10={:016x} R11={:016x} R12={:016x}\n", r.r9, r.r10, r.r11, r.r12);
    text += fmt::format("R13={:016x} R14={:016x} R15={:016x}\n", r.r13, r.r14, r.r15);
    return text;
}

bool isResetState(const CpuState& state) {
    constexpr uint64_t kResetCsBase = 0xffff0000;
    constexpr uint64_t kResetIp = 0xfff0;
    return state.sregs.cs.base == kResetCsBase && state.regs.rip == kResetIp;
}

std::string formatRegisters(const CpuState& state) {
    const kvm_sregs& s = state.sregs;
    std::string text = fmt::format("vcpu {}: ", state.vcpu) + formatGeneralRegisters(state.regs);
    text += fmt::format("CR0={:08x} CR2={:016x} CR3={:016x} CR4={:08x} EFER={:x}\n", s.cr0, s.cr2,
                        s.cr3, s.cr4, s.efer);
    for (auto [name, seg] : {std::pair{"CS", &s.cs},
                             {"SS", &s.ss},
                             {"DS", &s.ds},
                             {"ES", &s.es},
                             {"FS", &s.fs},
                             {"GS", &s.gs},
                             {"TR", &s.tr}})
        text += segment(name, *seg) + "\n";
    text += fmt::format("GDT={:016x}/{:04x} IDT={:016x}/{:04x}", s.gdt.base, s.gdt.limit,
                        s.idt.base, s.idt.limit);
    return text;
}

} // namespace kvmscope::cpu
