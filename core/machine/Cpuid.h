#pragma once
// The CPUID a vcpu sees: KVM_GET_SUPPORTED_CPUID, adjusted per vcpu so each one reports its own
// APIC id (Intel SDM Vol. 2A, CPUID leaves 01H and 0BH).
#include "kvm/compat.h"

#include <cstdint>
#include <vector>

namespace kvmscope {

// Features kvmscope takes away from what KVM reports, for hosts that cannot run them.
struct CpuidAdjustments {
    // CMPXCHG16B (leaf 1 ECX.CX16). On hosts whose KVM runs guest ring 0 through a software
    // emulator (no VMX/SVM; see System::hardwareVirtualization) the emulator cannot execute it and
    // the vcpu dies with KVM_EXIT_INTERNAL_ERROR the first time Linux uses it. An x86-64 kernel
    // checks the bit and does without.
    bool hideCmpxchg16b = false;
    // XSAVE (leaf 1 ECX.XSAVE, and leaf 0xD with it): the same emulator cannot run XRSTOR, which
    // Linux executes while it sets up the FPU. Without the bit Linux uses FXSAVE/FXRSTOR.
    bool hideXsave = false;
};

std::vector<kvm_cpuid_entry2> cpuidForVcpu(const std::vector<kvm_cpuid_entry2>& supported,
                                           uint32_t apicId, unsigned cpuCount,
                                           const CpuidAdjustments& adjustments = {});

} // namespace kvmscope
