#pragma once
// The CPUID a vcpu sees: KVM_GET_SUPPORTED_CPUID, adjusted per vcpu so each one reports its own
// APIC id (Intel SDM Vol. 2A, CPUID leaves 01H and 0BH) and that it runs under a hypervisor (leaf
// 01H ECX[31]), and on a host that emulates guest ring 0 without the KVM paravirtual features
// that are used through hypercalls.
#include "boot/Smbios.h"
#include "kvm/compat.h"

#include <cstdint>
#include <linux/kvm_para.h>
#include <vector>

namespace kvmscope {

// The KVM features (Documentation/virt/kvm/x86/cpuid.rst, leaf KVM_CPUID_FEATURES) a guest
// uses by executing VMCALL/VMMCALL: PV_UNHALT (the paravirtual spinlocks' kick,
// KVM_HC_KICK_CPU), PV_SEND_IPI (KVM_HC_SEND_IPI), PV_SCHED_YIELD (KVM_HC_SCHED_YIELD) and
// HC_MAP_GPA_RANGE. Where KVM emulates guest ring 0, every hypercall goes through its instruction
// emulator, which first rewrites the instruction in place with the host vendor's one
// (emulator_fix_hypercall, the FIX_HYPERCALL_INSN quirk): once Linux has made its text read-only
// (mark_readonly, just before /init), that write faults and the guest oopses in kvm_kick_cpu
// (docs/boot.md). Without these bits Linux uses plain IPIs, HLT and spinning instead.
constexpr uint32_t kKvmHypercallFeatures =
    (1u << KVM_FEATURE_PV_UNHALT) | (1u << KVM_FEATURE_PV_SEND_IPI) |
    (1u << KVM_FEATURE_PV_SCHED_YIELD) | (1u << KVM_FEATURE_HC_MAP_GPA_RANGE);

struct CpuidOptions {
    uint32_t apicId = 0;
    unsigned cpuCount = 1;
    // Clear kKvmHypercallFeatures in the KVM features leaf (the leaf after the one with the
    // "KVMKVMKVM" signature); set where the host emulates ring 0.
    bool withoutHypercallFeatures = false;
};

std::vector<kvm_cpuid_entry2> cpuidForVcpu(const std::vector<kvm_cpuid_entry2>& supported,
                                           const CpuidOptions& options);

// What a vcpu with these CPUID entries reports about its processor (Intel SDM Vol. 2A, CPUID:
// leaf 0 vendor, leaf 1 signature and features, 0x80000001 long mode, 0x80000002-4 brand),
// for the SMBIOS processor structure. Missing leaves leave their fields empty or 0.
boot::SmbiosProcessor smbiosProcessorFor(const std::vector<kvm_cpuid_entry2>& entries);

} // namespace kvmscope
