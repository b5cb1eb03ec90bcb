#include "host/HostProfile.h"

#include "common/CpuFlags.h"
#include "common/Error.h"
#include "debug/Debugger.h"
#include "debug/HostDebugProbe.h"
#include "devices/kernel/SystemAttributes.h"
#include "kvm/DeviceFd.h"
#include "kvm/System.h"
#include "kvm/Vm.h"

#include <algorithm>
#include <fmt/format.h>
#include <mutex>
#include <set>

namespace kvmscope::host {
namespace {

struct CapabilityInfo {
    long capability;
    const char* name;
    const char* meaning;
};

// The capabilities kvmscope uses or whose absence explains a missing feature (api.rst section 8
// and the KVM_CHECK_EXTENSION notes of each ioctl in section 4).
constexpr CapabilityInfo kCapabilities[] = {
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "in-kernel PIC, IOAPIC and local APICs"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2", "in-kernel i8254 timer (KVM_CREATE_PIT2)"},
    {KVM_CAP_SPLIT_IRQCHIP, "KVM_CAP_SPLIT_IRQCHIP",
     "local APICs in the kernel, the rest in user space"},
    {KVM_CAP_X2APIC_API, "KVM_CAP_X2APIC_API", "32-bit APIC ids for x2APIC guests"},
    {KVM_CAP_SYNC_REGS, "KVM_CAP_SYNC_REGS", "registers shared in kvm_run: fewer ioctls per exit"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT",
     "a vcpu can be paused without a signal race"},
    {KVM_CAP_SET_GUEST_DEBUG, "KVM_CAP_SET_GUEST_DEBUG",
     "single-stepping and hardware breakpoints"},
    {KVM_CAP_DEBUGREGS, "KVM_CAP_DEBUGREGS", "DR0-DR7 readable (KVM_GET_DEBUGREGS)"},
    {KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS", "pending exceptions/interrupts/NMIs readable"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE", "vcpu run state (halted, waiting for SIPI) readable"},
    {KVM_CAP_XSAVE, "KVM_CAP_XSAVE", "AVX and later register state readable (KVM_GET_XSAVE)"},
    {KVM_CAP_XCRS, "KVM_CAP_XCRS", "XCR0 readable"},
    {KVM_CAP_X86_SMM, "KVM_CAP_X86_SMM", "System Management Mode for firmware guests"},
    {KVM_CAP_TSC_CONTROL, "KVM_CAP_TSC_CONTROL", "guest TSC frequency can be set"},
    {KVM_CAP_ADJUST_CLOCK, "KVM_CAP_ADJUST_CLOCK", "kvmclock readable and adjustable"},
    {KVM_CAP_NESTED_STATE, "KVM_CAP_NESTED_STATE", "a guest's own VMX/SVM state can be saved"},
    {KVM_CAP_DIRTY_LOG_RING, "KVM_CAP_DIRTY_LOG_RING", "dirty pages reported through a ring"},
    {KVM_CAP_DEVICE_CTRL, "KVM_CAP_DEVICE_CTRL", "kernel devices (KVM_CREATE_DEVICE)"},
    {KVM_CAP_SYS_ATTRIBUTES, "KVM_CAP_SYS_ATTRIBUTES", "/dev/kvm attributes (XSAVE components)"},
    {KVM_CAP_VCPU_ATTRIBUTES, "KVM_CAP_VCPU_ATTRIBUTES", "vcpu attributes (TSC offset)"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD",
     "port/MMIO writes signalled without an exit to user space"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD", "interrupts injected through an eventfd"},
    {KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS", "number of guest memory slots"},
    {KVM_CAP_MAX_VCPU_ID, "KVM_CAP_MAX_VCPU_ID", "largest vcpu id + 1"},
    {KVM_CAP_HYPERV, "KVM_CAP_HYPERV", "Hyper-V enlightenments for Windows guests"},
};

std::string errorText(const std::exception& error) {
    return fmt::format("error: {}", error.what());
}

void addFact(HostSection& section, std::string name, std::string value, std::string meaning,
             std::optional<bool> present = std::nullopt) {
    section.facts.push_back({std::move(name), std::move(value), std::move(meaning), present});
}

// A figure read by `read`; an ioctl that fails shows its error instead (and counts as absent).
template <typename Read>
void addFigure(HostSection& section, const char* name, const char* meaning, Read read) {
    try {
        addFact(section, name, read(), meaning);
    } catch (const Error& error) {
        addFact(section, name, errorText(error), meaning, false);
    }
}

const char* virtualizationMeaning(Virtualization kind) {
    switch (kind) {
    case Virtualization::HardwareVmx:
    case Virtualization::HardwareSvm:
        return "the CPU runs guest code directly";
    case Virtualization::NestedVmx:
    case Virtualization::NestedSvm:
        return "nested: this host is itself a VM, and its hypervisor runs the guest's code "
               "(exits cost more; under an emulating hypervisor some debug mechanisms fail, see "
               "Debugging)";
    case Virtualization::SoftwareLayer:
        return "no vmx/svm flag in /proc/cpuinfo: KVM runs under another hypervisor or emulates; "
               "exits and ring-0 code are much slower";
    }
    return "";
}

HostSection readSummary(const kvm::System& system, Virtualization kind) {
    HostSection section{HostSection::Summary, {}};
    addFigure(section, "API version", "KVM_GET_API_VERSION; 12 is the only stable API",
              [&] { return std::to_string(system.apiVersion()); });
    const bool direct = kind == Virtualization::HardwareVmx || kind == Virtualization::HardwareSvm;
    addFact(section, "Virtualization", toString(kind), virtualizationMeaning(kind), direct);
    addFigure(section, "Max vcpus", "KVM_CAP_MAX_VCPUS: the most vcpus one VM may have",
              [&] { return std::to_string(system.maxVcpus()); });
    addFigure(section, "Recommended vcpus", "KVM_CAP_NR_VCPUS: more than this may run slowly",
              [&] { return std::to_string(system.checkExtension(KVM_CAP_NR_VCPUS)); });
    addFigure(section, "Guest address width",
              "bits of guest-physical address (CPUID 0x80000008): the most RAM a guest can have",
              [&] {
                  return fmt::format("{} bits",
                                     kvm::System::physicalAddressBits(system.supportedCpuid()));
              });
    addFigure(section, "Memory slots", "KVM_CAP_NR_MEMSLOTS: guest memory regions per VM",
              [&] { return std::to_string(system.memorySlots()); });
    addFigure(section, "MSRs", "KVM_GET_MSR_INDEX_LIST: MSRs saved and shown per vcpu",
              [&] { return std::to_string(system.msrIndexList().size()); });
    addFigure(section, "CPUID entries", "KVM_GET_SUPPORTED_CPUID: leaves a guest can be given",
              [&] { return std::to_string(system.supportedCpuid().size()); });
    addFigure(section, "vcpu mmap size", "KVM_GET_VCPU_MMAP_SIZE: bytes of kvm_run per vcpu",
              [&] { return std::to_string(system.vcpuMmapSize()); });
    return section;
}

HostSection readCapabilities(const kvm::System& system) {
    HostSection section{HostSection::Capabilities, {}};
    for (const CapabilityInfo& info : kCapabilities) {
        try {
            const int value = system.checkExtension(info.capability);
            addFact(section, info.name, value ? std::to_string(value) : "absent", info.meaning,
                    value != 0);
        } catch (const Error& error) {
            addFact(section, info.name, errorText(error), info.meaning, false);
        }
    }
    return section;
}

HostSection readDeviceTypes(const kvm::System& system) {
    HostSection section{HostSection::DeviceTypes, {}};
    // KVM_CREATE_DEVICE_TEST needs a VM fd: a throwaway VM, closed when this returns.
    std::vector<uint32_t> offered;
    try {
        const kvm::Vm vm = system.createVm();
        offered = kvm::System::probeDeviceTypes(vm);
    } catch (const Error& error) {
        addFact(section, "probe", errorText(error), "creating a VM to probe failed", false);
        return section;
    }
    // Type 0 is not a device; the rest are the kernel headers' enum kvm_device_type.
    for (uint32_t type = 1; type < KVM_DEV_TYPE_MAX; ++type) {
        const bool present = std::find(offered.begin(), offered.end(), type) != offered.end();
        addFact(section, kvm::DeviceFd::typeName(type), present ? "offered" : "not offered",
                present ? "can be added with Machine > Add kernel device..."
                        : "this host's KVM has no such device (other architectures' types are "
                          "never offered on x86)",
                present);
    }
    return section;
}

HostSection readAttributes(const kvm::System& system) {
    HostSection section{HostSection::Attributes, {}};
    try {
        // SystemAttributes is a Device over a mutable System; reading attributes changes nothing.
        const SystemAttributes attributes(const_cast<kvm::System&>(system));
        for (const AttributeInfo& info : attributes.attributes()) {
            try {
                const AttrValue value = attributes.getAttr(info.group, info.attr);
                addFact(section, info.name, fmt::format("{:#x}", value.scalar), info.description,
                        true);
            } catch (const Error& error) {
                addFact(section, info.name, errorText(error), info.description, false);
            }
        }
        if (attributes.attributes().empty())
            addFact(section, "(none)", "", "KVM_CAP_SYS_ATTRIBUTES absent or no known attribute",
                    false);
    } catch (const Error& error) {
        addFact(section, "attributes", errorText(error), "", false);
    }
    return section;
}

HostSection readDebugging(const kvm::System& system) {
    HostSection section{HostSection::Debugging, {}};
    // The debugger's host probe (a tiny guest per mechanism), then what each breakpoint kind
    // gets from it with every debug register free: the same choice the engine makes.
    const debug::HostDebugSupport& support = debug::hostDebugSupport(system);
    for (const auto& entry : debug::HostDebugSupport::entries()) {
        const debug::ProbeFinding& finding = support.*entry.finding;
        addFact(section, entry.name, finding.works ? "works" : "does not work", finding.detail,
                finding.works);
    }
    const std::pair<debug::BreakpointKind, const char*> kinds[] = {
        {debug::BreakpointKind::Software, "Breakpoints use"},
        {debug::BreakpointKind::Hardware, "Hardware breakpoints use"},
        {debug::BreakpointKind::WriteWatch, "Write watchpoints use"},
        {debug::BreakpointKind::ReadWriteWatch, "Read/write watchpoints use"},
    };
    for (const auto& [kind, name] : kinds) {
        const debug::MechanismChoice choice =
            debug::chooseMechanism(kind, false, support, debug::Debugger::kDebugRegisterSlots);
        addFact(section, name,
                choice.mechanism ? debug::toString(*choice.mechanism) : "none: refused",
                choice.note, choice.mechanism.has_value());
    }
    return section;
}

} // namespace

const char* toString(Virtualization kind) {
    switch (kind) {
    case Virtualization::HardwareVmx:
        return "hardware (VMX)";
    case Virtualization::HardwareSvm:
        return "hardware (SVM)";
    case Virtualization::NestedVmx:
        return "nested (VMX under a hypervisor)";
    case Virtualization::NestedSvm:
        return "nested (SVM under a hypervisor)";
    case Virtualization::SoftwareLayer:
        return "software nested layer";
    }
    return "unknown";
}

Virtualization detectVirtualization(const std::optional<std::string>& cpuinfoText) {
    const std::set<std::string> flags = cpuFlags(cpuinfoText);
    const bool nested = flags.count("hypervisor") != 0;
    if (flags.count("vmx"))
        return nested ? Virtualization::NestedVmx : Virtualization::HardwareVmx;
    if (flags.count("svm"))
        return nested ? Virtualization::NestedSvm : Virtualization::HardwareSvm;
    return Virtualization::SoftwareLayer;
}

const char* toString(HostSection::Id section) {
    switch (section) {
    case HostSection::Summary:
        return "Summary";
    case HostSection::Capabilities:
        return "Capabilities";
    case HostSection::DeviceTypes:
        return "Kernel device types";
    case HostSection::Attributes:
        return "System attributes";
    case HostSection::Debugging:
        return "Debugging";
    case HostSection::Count:
        break;
    }
    return "";
}

const HostFact* HostProfile::find(HostSection::Id section, const std::string& name) const {
    for (const HostSection& candidate : sections) {
        if (candidate.id != section)
            continue;
        for (const HostFact& fact : candidate.facts)
            if (fact.name == name)
                return &fact;
    }
    return nullptr;
}

HostProfile HostProfile::read(const kvm::System& system) {
    HostProfile profile;
    profile.virtualization = detectVirtualization();
    profile.sections.push_back(readSummary(system, *profile.virtualization));
    profile.sections.push_back(readCapabilities(system));
    profile.sections.push_back(readDeviceTypes(system));
    profile.sections.push_back(readAttributes(system));
    profile.sections.push_back(readDebugging(system));
    return profile;
}

HostProfile HostProfile::unavailable(const std::string& reason) {
    HostProfile profile;
    HostSection summary{HostSection::Summary, {}};
    addFact(summary, "KVM", "unavailable", reason, false);
    profile.sections.push_back(std::move(summary));
    return profile;
}

const HostProfile& hostProfile(const kvm::System& system) {
    static std::once_flag once;
    static HostProfile profile;
    std::call_once(once, [&system] { profile = HostProfile::read(system); });
    return profile;
}

std::string formatHostProfile(const HostProfile& profile) {
    std::string text;
    for (const HostSection& section : profile.sections) {
        size_t nameWidth = 0;
        size_t valueWidth = 0;
        for (const HostFact& fact : section.facts) {
            nameWidth = std::max(nameWidth, fact.name.size());
            valueWidth = std::max(valueWidth, fact.value.size());
        }
        text += fmt::format("{}{}\n", text.empty() ? "" : "\n", toString(section.id));
        for (const HostFact& fact : section.facts) {
            std::string line = fmt::format("  {:<{}}  {:<{}}  {}", fact.name, nameWidth, fact.value,
                                           valueWidth, fact.meaning);
            while (!line.empty() && line.back() == ' ')
                line.pop_back();
            text += line + "\n";
        }
    }
    return text;
}

} // namespace kvmscope::host
