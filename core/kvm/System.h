#pragma once
// The system fd (/dev/kvm): capabilities, supported CPUID and MSRs, system attributes, new VMs.
#include "kvm/FileDescriptor.h"
#include "kvm/compat.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kvmscope::kvm {

class Vm;

class System {
public:
    static constexpr const char* kDefaultPath = "/dev/kvm";

    // Opens /dev/kvm (O_RDWR | O_CLOEXEC) and checks KVM_GET_API_VERSION == 12 (api.rst 4.1).
    // Throws KvmUnavailable with advice when the device is missing or not permitted.
    explicit System(const std::string& path = kDefaultPath);

    // True when `path` can be opened read-write; `why` receives the user-facing reason otherwise.
    static bool available(std::string* why = nullptr, const std::string& path = kDefaultPath);

    int fd() const { return fd_.get(); }
    int apiVersion() const;
    // KVM_CHECK_EXTENSION on the system fd: 0 when absent, otherwise the capability's value.
    int checkExtension(long capability) const;
    int vcpuMmapSize() const;
    int maxVcpus() const;

    // KVM_GET_SUPPORTED_CPUID: the leaves KVM can give a guest.
    std::vector<kvm_cpuid_entry2> supportedCpuid() const;

    // The guest-physical address width KVM offers, from leaf 0x80000008 EAX[7:0] of
    // supportedCpuid() (36 without the leaf, as the SDM says for a processor with PAE). KVM
    // refuses a memory slot that reaches above it (EINVAL from KVM_SET_USER_MEMORY_REGION).
    static unsigned physicalAddressBits(const std::vector<kvm_cpuid_entry2>& supportedCpuid);
    // KVM_CAP_NR_MEMSLOTS: how many memory slots a VM may have (api.rst 4.35: at least 32 on
    // x86 kernels kvmscope runs on; 32 if the capability is absent).
    int memorySlots() const;
    // The most one memory slot maps: KVM_MEM_MAX_NR_PAGES (2^31 - 1) 4 KiB pages, a limit of
    // the kernel's (include/linux/kvm_host.h) that no capability reports.
    static constexpr uint64_t kMaxMemorySlotSize = ((1ull << 31) - 1) * 4096;
    // KVM_GET_MSR_INDEX_LIST: MSRs saved/restored for a guest.
    std::vector<uint32_t> msrIndexList() const;
    // KVM_CREATE_DEVICE types this host offers, probed with KVM_CREATE_DEVICE_TEST on `vm`.
    static std::vector<uint32_t> probeDeviceTypes(const Vm& vm);

    // System attributes (KVM_CAP_SYS_ATTRIBUTES), e.g. (KVM_X86_GRP_SYSTEM, XCOMP_GUEST_SUPP).
    bool hasAttr(uint32_t group, uint64_t attr) const;
    uint64_t getAttr(uint32_t group, uint64_t attr) const;

    // Whether the host CPU offers hardware virtualization (vmx/svm in /proc/cpuinfo); false on
    // hosts whose KVM is a software nested layer, where ring-0 guest code is emulated.
    static bool hardwareVirtualization();

    Vm createVm() const;

private:
    FileDescriptor fd_;
};

} // namespace kvmscope::kvm
