#pragma once
// A snapshot of one vcpu's architectural state, taken on the vcpu's own thread while it is
// parked (KVM_GET_REGS, _SREGS, _FPU, _DEBUGREGS, _LAPIC, _VCPU_EVENTS, _MP_STATE, _MSRS).
#include "kvm/compat.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kvmscope::kvm {
class Vcpu;
}

namespace kvmscope::cpu {

struct CpuState {
    uint32_t vcpu = 0;
    kvm_regs regs{};
    kvm_sregs sregs{};
    kvm_fpu fpu{};
    kvm_debugregs debugRegs{};
    kvm_lapic_state lapic{};
    kvm_vcpu_events events{};
    kvm_mp_state mpState{};
    std::vector<kvm_msr_entry> msrs; // the host's KVM_GET_MSR_INDEX_LIST that the vcpu could read
    bool hasLapic = false;
};

// Reads every part of the state on the vcpu's own thread (inside VcpuRunner::call), the MSRs of
// `msrIndices` among them, so that one call can read the state together with whatever else its
// caller needs from the parked vcpu (inspect/VcpuSnapshot.h). A vcpu without an in-kernel LAPIC
// gives hasLapic = false rather than an error.
CpuState readCpuState(kvm::Vcpu& vcpu, const std::vector<uint32_t>& msrIndices);

// Which parts of a CpuState to write back (an edit in the register view touches one part).
enum CpuStatePart : unsigned {
    PartRegs = 1u << 0,
    PartSregs = 1u << 1,
    PartFpu = 1u << 2,
    PartDebugRegs = 1u << 3,
    PartLapic = 1u << 4,
    PartEvents = 1u << 5,
    PartMpState = 1u << 6,
    PartMsrs = 1u << 7,
};

// RIP as a linear address. SDM vol. 3A 3.4.4: in 64-bit mode the CS base is treated as 0;
// elsewhere linear = base + EIP (IP in real mode, where the base is selector * 16).
uint64_t linearPc(const kvm_regs& regs, const kvm_sregs& sregs);

// Multi-line summary (RIP, RFLAGS, GPRs, CR0/3/4, EFER, segments) for crash reports and logs.
std::string formatRegisters(const CpuState& state);
// The general-register lines of it (RIP, RFLAGS, RSP, RAX-R15).
std::string formatGeneralRegisters(const kvm_regs& regs);

// Whether the vcpu is in the processor's reset state (SDM vol. 3A 9.1.1, Table 9-1: CS base
// 0xFFFF0000 with IP 0xFFF0). A triple fault on an AMD host is reported that way: KVM resets the
// vcpu at the SHUTDOWN intercept, so its registers no longer show the crash.
bool isResetState(const CpuState& state);

} // namespace kvmscope::cpu
