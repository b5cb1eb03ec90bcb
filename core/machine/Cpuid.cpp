#include "machine/Cpuid.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace kvmscope {
namespace {

constexpr uint32_t kLeafFeatures = 0x1;         // EBX[31:24] initial APIC id, [23:16] count
constexpr uint32_t kLeafExtendedTopology = 0xB; // EDX: x2APIC id of this logical processor
constexpr uint32_t kLeafV2ExtendedTopology = 0x1F;
constexpr uint32_t kFeatureEdxHtt = 1u << 28; // leaf 1 EDX.HTT: EBX[23:16] is valid

// Hypervisor leaves: KVM's signature leaf lies at KVM_CPUID_SIGNATURE or, beside other
// hypervisors' leaves, at a multiple of 0x100 above it (Documentation/virt/kvm/x86/cpuid.rst);
// its features leaf follows it (KVM_CPUID_FEATURES - KVM_CPUID_SIGNATURE = 1).
constexpr uint32_t kHypervisorLeavesLast = KVM_CPUID_SIGNATURE + 0xff00;

constexpr uint32_t kLeafVendor = 0x0;
constexpr uint32_t kLeafExtendedFeatures = 0x80000001;
constexpr uint32_t kExtendedFeatureEdxLongMode = 1u << 29;
constexpr uint32_t kLeafBrandFirst = 0x80000002; // three leaves of 16 characters each
constexpr uint32_t kBrandLeaves = 3;

const kvm_cpuid_entry2* findLeaf(const std::vector<kvm_cpuid_entry2>& entries, uint32_t function) {
    const auto found = std::find_if(entries.begin(), entries.end(), [&](const auto& entry) {
        return entry.function == function && entry.index == 0;
    });
    return found == entries.end() ? nullptr : &*found;
}

bool isKvmSignature(const kvm_cpuid_entry2& entry) {
    char signature[12];
    std::memcpy(signature, &entry.ebx, 4);
    std::memcpy(signature + 4, &entry.ecx, 4);
    std::memcpy(signature + 8, &entry.edx, 4);
    return std::memcmp(signature, KVM_SIGNATURE, sizeof signature) == 0;
}

} // namespace

std::vector<kvm_cpuid_entry2> cpuidForVcpu(const std::vector<kvm_cpuid_entry2>& supported,
                                           const CpuidOptions& options) {
    std::vector<kvm_cpuid_entry2> entries = supported;
    std::vector<uint32_t> kvmFeatureLeaves;
    for (const auto& entry : entries)
        if (entry.function >= KVM_CPUID_SIGNATURE && entry.function <= kHypervisorLeavesLast &&
            (entry.function & 0xff) == 0 && isKvmSignature(entry))
            kvmFeatureLeaves.push_back(entry.function + (KVM_CPUID_FEATURES - KVM_CPUID_SIGNATURE));
    for (auto& entry : entries) {
        switch (entry.function) {
        case kLeafFeatures:
            entry.ebx = (entry.ebx & 0x0000ffffu) | (options.apicId << 24);
            if (options.cpuCount > 1) {
                entry.ebx |= (std::min(options.cpuCount, 255u) & 0xffu) << 16;
                entry.edx |= kFeatureEdxHtt;
            }
            break;
        case kLeafExtendedTopology:
        case kLeafV2ExtendedTopology:
            entry.edx = options.apicId;
            break;
        default:
            if (options.withoutHypercallFeatures &&
                std::find(kvmFeatureLeaves.begin(), kvmFeatureLeaves.end(), entry.function) !=
                    kvmFeatureLeaves.end())
                entry.eax &= ~kKvmHypercallFeatures;
            break;
        }
    }
    return entries;
}

boot::SmbiosProcessor smbiosProcessorFor(const std::vector<kvm_cpuid_entry2>& entries) {
    boot::SmbiosProcessor processor;
    if (const auto* vendor = findLeaf(entries, kLeafVendor)) {
        char text[12]; // EBX, EDX, ECX
        std::memcpy(text, &vendor->ebx, 4);
        std::memcpy(text + 4, &vendor->edx, 4);
        std::memcpy(text + 8, &vendor->ecx, 4);
        processor.vendor.assign(text, strnlen(text, sizeof text));
    }
    if (const auto* features = findLeaf(entries, kLeafFeatures)) {
        processor.signature = features->eax;
        processor.featuresEdx = features->edx;
    }
    if (const auto* extended = findLeaf(entries, kLeafExtendedFeatures))
        processor.longMode = (extended->edx & kExtendedFeatureEdxLongMode) != 0;
    std::string brand;
    for (uint32_t i = 0; i < kBrandLeaves; ++i) {
        const auto* leaf = findLeaf(entries, kLeafBrandFirst + i);
        if (!leaf)
            break;
        char text[16];
        std::memcpy(text, &leaf->eax, 4);
        std::memcpy(text + 4, &leaf->ebx, 4);
        std::memcpy(text + 8, &leaf->ecx, 4);
        std::memcpy(text + 12, &leaf->edx, 4);
        brand.append(text, strnlen(text, sizeof text));
    }
    // The brand string is NUL-padded and often space-padded in front.
    const size_t first = brand.find_first_not_of(' ');
    const size_t last = brand.find_last_not_of(' ');
    processor.brand =
        first == std::string::npos ? std::string() : brand.substr(first, last - first + 1);
    return processor;
}

} // namespace kvmscope
