#pragma once
// What this host's KVM offers, read once per process: the kind of virtualization under it, the
// API version and limits, the capabilities kvmscope relies on (KVM_CHECK_EXTENSION, api.rst 4.4),
// the KVM_CREATE_DEVICE types, the system attributes, and what the debugger's host probe saw of
// each debug mechanism with the one each breakpoint kind gets. Every fact has a value and what it
// means for a user, so the Host dock and `kvmscope --host-info` explain why something is slow or
// missing from the same data.
#include <optional>
#include <string>
#include <vector>

namespace kvmscope::kvm {
class System;
}

namespace kvmscope::host {

// What runs the guest's code, from /proc/cpuinfo's flags.
enum class Virtualization {
    HardwareVmx,   // Intel VT-x on the bare CPU
    HardwareSvm,   // AMD-V on the bare CPU
    NestedVmx,     // VT-x as another hypervisor offers it (the `hypervisor` flag is set)
    NestedSvm,     // AMD-V as another hypervisor offers it (QEMU's emulated SVM, a cloud VM)
    SoftwareLayer, // no vmx/svm: a KVM that emulates guest ring 0 (docs/testing-without-kvm.md)
};
const char* toString(Virtualization kind);
// Reads /proc/cpuinfo (or `cpuinfoText` when given, for tests).
Virtualization detectVirtualization(const std::optional<std::string>& cpuinfoText = {});

struct HostFact {
    std::string name;
    std::string value;
    std::string meaning;
    // Whether the capability, device type or mechanism is there; empty for plain figures.
    std::optional<bool> present;
};

struct HostSection {
    enum Id { Summary, Capabilities, DeviceTypes, Attributes, Debugging, Count };
    Id id = Summary;
    std::vector<HostFact> facts;
};
const char* toString(HostSection::Id section);

struct HostProfile {
    std::optional<Virtualization> virtualization; // empty when KVM is unavailable
    std::vector<HostSection> sections;            // in HostSection::Id order

    // The fact `name` of `section`, or null.
    const HostFact* find(HostSection::Id section, const std::string& name) const;

    // Reads everything from `system`: device types need a VM, so a throwaway one is created; the
    // debugger's probe runs its own (once per process).
    static HostProfile read(const kvm::System& system);
    // The profile of a host without a usable /dev/kvm: one fact saying why.
    static HostProfile unavailable(const std::string& reason);
};

// HostProfile::read, once per process, then cached (the host does not change under a running
// kvmscope). Thread-safe.
const HostProfile& hostProfile(const kvm::System& system);

// The report `kvmscope --host-info` prints: one section per block, aligned columns.
std::string formatHostProfile(const HostProfile& profile);

} // namespace kvmscope::host
