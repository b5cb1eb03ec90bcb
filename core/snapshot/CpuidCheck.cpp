#include "snapshot/CpuidCheck.h"

#include "common/Error.h"

#include <bit>
#include <fmt/format.h>
#include <linux/kvm_para.h>

namespace kvmscope::snapshot {
namespace {

enum class Reg { Eax, Ebx, Ecx, Edx };

// The feature registers (SDM Vol. 2A, CPUID; AMD APM Vol. 3, E.3), and the bits of them that are
// not features of the host: ones KVM keeps up to date with the guest's own state (OSXSAVE from
// CR4, APIC from the APIC base MSR, OSPKE from CR4; api.rst, "KVM_GET_CPUID2" / cpuid.rst) and
// ones kvmscope sets for every guest (hypervisor present, HTT with more than one vcpu;
// machine/Cpuid.cpp).
struct FeatureRegister {
    uint32_t leaf;
    uint32_t subleaf;
    Reg reg;
    uint32_t notFeatures;
};
constexpr FeatureRegister kFeatureRegisters[] = {
    {0x1, 0, Reg::Ecx, (1u << 27) | (1u << 31)},
    {0x1, 0, Reg::Edx, (1u << 9) | (1u << 28)},
    {0x7, 0, Reg::Ebx, 0},
    {0x7, 0, Reg::Ecx, 1u << 4},
    {0x7, 0, Reg::Edx, 0},
    {0x7, 1, Reg::Eax, 0},
    {0xd, 0, Reg::Eax, 0}, // XCR0 components, low half
    {0xd, 0, Reg::Edx, 0}, // and high half
    {0xd, 1, Reg::Eax, 0}, // XSAVEOPT, XSAVEC, XGETBV with ECX=1, XSAVES
    {0x80000001, 0, Reg::Ecx, 0},
    {0x80000001, 0, Reg::Edx, 0},
    {0x80000007, 0, Reg::Edx, 0}, // invariant TSC
    {0x80000008, 0, Reg::Ebx, 0},
    {KVM_CPUID_FEATURES, 0, Reg::Eax, 0}, // KVM's paravirtual features (cpuid.rst)
};

const char* name(Reg reg) {
    switch (reg) {
    case Reg::Eax:
        return "EAX";
    case Reg::Ebx:
        return "EBX";
    case Reg::Ecx:
        return "ECX";
    default:
        return "EDX";
    }
}

uint32_t value(const kvm_cpuid_entry2& entry, Reg reg) {
    switch (reg) {
    case Reg::Eax:
        return entry.eax;
    case Reg::Ebx:
        return entry.ebx;
    case Reg::Ecx:
        return entry.ecx;
    default:
        return entry.edx;
    }
}

const kvm_cpuid_entry2* find(const std::vector<kvm_cpuid_entry2>& entries, uint32_t leaf,
                             uint32_t subleaf) {
    for (const kvm_cpuid_entry2& entry : entries)
        if (entry.function == leaf &&
            (!(entry.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || entry.index == subleaf))
            return &entry;
    return nullptr;
}

} // namespace

void checkCpuidSubset(const std::vector<kvm_cpuid_entry2>& saved,
                      const std::vector<kvm_cpuid_entry2>& supported, const std::string& file,
                      const std::string& section, const std::vector<kvm_cpuid_entry2>& current) {
    for (const FeatureRegister& feature : kFeatureRegisters) {
        const kvm_cpuid_entry2* guest = find(saved, feature.leaf, feature.subleaf);
        if (!guest)
            continue;
        const kvm_cpuid_entry2* host = find(supported, feature.leaf, feature.subleaf);
        const uint32_t wanted = value(*guest, feature.reg) & ~feature.notFeatures;
        const kvm_cpuid_entry2* running = find(current, feature.leaf, feature.subleaf);
        const uint32_t offered =
            (host ? value(*host, feature.reg) : 0) | (running ? value(*running, feature.reg) : 0);
        const uint32_t missing = wanted & ~offered;
        if (missing == 0)
            continue;
        throw LoadError(
            file,
            fmt::format("section '{}': the guest ran with CPUID leaf {:#x} subleaf {} {} bit "
                        "{} ({:#010x}), which this host's KVM neither offers nor gives its vcpus "
                        "({:#010x}): it cannot go on here",
                        section, feature.leaf, feature.subleaf, name(feature.reg),
                        std::countr_zero(missing), wanted, offered));
    }
}

} // namespace kvmscope::snapshot
