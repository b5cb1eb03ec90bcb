#pragma once
// The CPUID a vcpu sees: KVM_GET_SUPPORTED_CPUID, adjusted per vcpu so each one reports its own
// APIC id (Intel SDM Vol. 2A, CPUID leaves 01H and 0BH).
#include "kvm/compat.h"

#include <cstdint>
#include <vector>

namespace kvmscope {

std::vector<kvm_cpuid_entry2> cpuidForVcpu(const std::vector<kvm_cpuid_entry2>& supported,
                                           uint32_t apicId, unsigned cpuCount);

} // namespace kvmscope
