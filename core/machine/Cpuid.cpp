#include "machine/Cpuid.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <string>

namespace kvmscope {
namespace {

constexpr uint32_t kLeafFeatures = 0x1;         // EBX[31:24] initial APIC id, [23:16] count
constexpr uint32_t kLeafExtendedTopology = 0xB; // EDX: x2APIC id of this logical processor
constexpr uint32_t kLeafV2ExtendedTopology = 0x1F;
constexpr uint32_t kFeatureEdxHtt = 1u << 28; // leaf 1 EDX.HTT: EBX[23:16] is valid
// Leaf 1 ECX[31], which hardware leaves 0 for hypervisors to set (AMD APM vol. 3, CPUID
// Fn0000_0001_ECX; Linux's X86_FEATURE_HYPERVISOR). KVM_GET_SUPPORTED_CPUID does not set it: a
// guest without it never looks at the hypervisor leaves, so Linux would not find kvm-clock and
// would calibrate its TSC against timers the machine lacks.
constexpr uint32_t kFeatureEcxHypervisor = 1u << 31;

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

// The characters CPUID returns in registers (vendor, hypervisor signature, brand string), in
// the order given, each register's four bytes little-endian first.
std::string registerText(std::initializer_list<uint32_t> registers) {
    std::string text;
    for (const uint32_t value : registers) {
        char bytes[4];
        std::memcpy(bytes, &value, 4);
        text.append(bytes, 4);
    }
    return text;
}

// Up to the first NUL: vendor and brand strings are NUL-padded.
std::string untilNul(const std::string& text) {
    return text.substr(0, text.find('\0'));
}

bool isKvmSignature(const kvm_cpuid_entry2& entry) {
    return registerText({entry.ebx, entry.ecx, entry.edx}) == std::string(KVM_SIGNATURE, 12);
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
            entry.ecx |= kFeatureEcxHypervisor;
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
    if (const auto* vendor = findLeaf(entries, kLeafVendor))
        processor.vendor = untilNul(registerText({vendor->ebx, vendor->edx, vendor->ecx}));
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
        brand += registerText({leaf->eax, leaf->ebx, leaf->ecx, leaf->edx});
    }
    brand = untilNul(brand);
    // Without the spaces some processors pad it with, in front or behind.
    const size_t first = brand.find_first_not_of(' ');
    const size_t last = brand.find_last_not_of(' ');
    processor.brand =
        first == std::string::npos ? std::string() : brand.substr(first, last - first + 1);
    return processor;
}

} // namespace kvmscope
