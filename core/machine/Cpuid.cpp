#include "machine/Cpuid.h"

namespace kvmscope {
namespace {

constexpr uint32_t kLeafFeatures = 0x1;         // EBX[31:24] initial APIC id, [23:16] count
constexpr uint32_t kLeafExtendedTopology = 0xB; // EDX: x2APIC id of this logical processor
constexpr uint32_t kLeafV2ExtendedTopology = 0x1F;
constexpr uint32_t kFeatureEdxHtt = 1u << 28;   // leaf 1 EDX.HTT: EBX[23:16] is valid
constexpr uint32_t kFeatureEcxCx16 = 1u << 13;  // leaf 1 ECX.CX16: CMPXCHG16B
constexpr uint32_t kFeatureEcxXsave = 1u << 26; // leaf 1 ECX.XSAVE
constexpr uint32_t kFeatureEcxOsxsave = 1u << 27;
constexpr uint32_t kFeatureEcxAvx = 1u << 28; // needs XSAVE state
constexpr uint32_t kLeafXsaveState = 0xD;

} // namespace

std::vector<kvm_cpuid_entry2> cpuidForVcpu(const std::vector<kvm_cpuid_entry2>& supported,
                                           uint32_t apicId, unsigned cpuCount,
                                           const CpuidAdjustments& adjustments) {
    std::vector<kvm_cpuid_entry2> entries = supported;
    for (auto& entry : entries) {
        switch (entry.function) {
        case kLeafFeatures:
            entry.ebx = (entry.ebx & 0x0000ffffu) | (apicId << 24);
            if (cpuCount > 1) {
                entry.ebx |= (std::min(cpuCount, 255u) & 0xffu) << 16;
                entry.edx |= kFeatureEdxHtt;
            }
            if (adjustments.hideCmpxchg16b)
                entry.ecx &= ~kFeatureEcxCx16;
            if (adjustments.hideXsave)
                entry.ecx &= ~(kFeatureEcxXsave | kFeatureEcxOsxsave | kFeatureEcxAvx);
            break;
        case kLeafXsaveState:
            if (adjustments.hideXsave)
                entry.eax = entry.ebx = entry.ecx = entry.edx = 0;
            break;
        case kLeafExtendedTopology:
        case kLeafV2ExtendedTopology:
            entry.edx = apicId;
            break;
        default:
            break;
        }
    }
    return entries;
}

} // namespace kvmscope
