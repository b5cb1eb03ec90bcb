#include "machine/Cpuid.h"

namespace kvmscope {
namespace {

constexpr uint32_t kLeafFeatures = 0x1;         // EBX[31:24] initial APIC id, [23:16] count
constexpr uint32_t kLeafExtendedTopology = 0xB; // EDX: x2APIC id of this logical processor
constexpr uint32_t kLeafV2ExtendedTopology = 0x1F;
constexpr uint32_t kFeatureEdxHtt = 1u << 28; // leaf 1 EDX.HTT: EBX[23:16] is valid

} // namespace

std::vector<kvm_cpuid_entry2> cpuidForVcpu(const std::vector<kvm_cpuid_entry2>& supported,
                                           uint32_t apicId, unsigned cpuCount) {
    std::vector<kvm_cpuid_entry2> entries = supported;
    for (auto& entry : entries) {
        switch (entry.function) {
        case kLeafFeatures:
            entry.ebx = (entry.ebx & 0x0000ffffu) | (apicId << 24);
            if (cpuCount > 1) {
                entry.ebx |= (std::min(cpuCount, 255u) & 0xffu) << 16;
                entry.edx |= kFeatureEdxHtt;
            }
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
