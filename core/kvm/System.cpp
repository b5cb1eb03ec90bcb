#include "kvm/System.h"

#include "common/CpuFlags.h"
#include "kvm/Ioctl.h"
#include "kvm/Vm.h"
#include "kvm/compat.h"

#include <cerrno>
#include <fcntl.h>
#include <memory>
#include <unistd.h>

namespace kvmscope::kvm {

namespace {
constexpr int kExpectedApiVersion = 12; // api.rst 4.1: "This ioctl must return 12"
}

System::System(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
        throw KvmUnavailable(path, errno);
    fd_ = FileDescriptor(fd);
    const int version = apiVersion();
    if (version != kExpectedApiVersion)
        throw KvmError("KVM_GET_API_VERSION", EINVAL,
                       "checking the API version: got " + std::to_string(version) +
                           ", kvmscope needs " + std::to_string(kExpectedApiVersion));
}

bool System::available(std::string* why, const std::string& path) {
    try {
        System system(path);
        return true;
    } catch (const KvmError& error) {
        if (why)
            *why = error.what();
        return false;
    }
}

int System::apiVersion() const {
    return KVM_IOCTL(fd_.get(), KVM_GET_API_VERSION);
}

int System::checkExtension(long capability) const {
    const int result =
        tryIoctl(fd_.get(), KVM_CHECK_EXTENSION, static_cast<unsigned long>(capability));
    return result < 0 ? 0 : result;
}

int System::vcpuMmapSize() const {
    return KVM_IOCTL(fd_.get(), KVM_GET_VCPU_MMAP_SIZE);
}

int System::maxVcpus() const {
    // api.rst 4.4: KVM_CAP_MAX_VCPUS, falling back to KVM_CAP_NR_VCPUS, then 4.
    if (int max = checkExtension(KVM_CAP_MAX_VCPUS))
        return max;
    if (int recommended = checkExtension(KVM_CAP_NR_VCPUS))
        return recommended;
    return 4;
}

unsigned System::physicalAddressBits(const std::vector<kvm_cpuid_entry2>& supportedCpuid) {
    constexpr uint32_t kAddressSizesLeaf = 0x80000008; // EAX[7:0]: physical address bits
    constexpr unsigned kWithoutTheLeaf = 36;
    for (const kvm_cpuid_entry2& entry : supportedCpuid)
        if (entry.function == kAddressSizesLeaf && (entry.eax & 0xff) != 0)
            return entry.eax & 0xff;
    return kWithoutTheLeaf;
}

int System::memorySlots() const {
    constexpr int kWithoutTheCapability = 32;
    const int slots = checkExtension(KVM_CAP_NR_MEMSLOTS);
    return slots > 0 ? slots : kWithoutTheCapability;
}

std::vector<kvm_cpuid_entry2> System::supportedCpuid() const {
    // The kernel answers E2BIG until the buffer is large enough (api.rst 4.46).
    for (uint32_t capacity = 128; capacity <= 4096; capacity *= 2) {
        const size_t bytes = sizeof(kvm_cpuid2) + capacity * sizeof(kvm_cpuid_entry2);
        auto buffer = std::make_unique<uint64_t[]>(bytes / sizeof(uint64_t) + 1);
        auto* cpuid = reinterpret_cast<kvm_cpuid2*>(buffer.get());
        cpuid->nent = capacity;
        const int result = tryIoctl(fd_.get(), KVM_GET_SUPPORTED_CPUID, cpuid);
        if (result == -E2BIG)
            continue;
        if (result < 0)
            throw KvmError("KVM_GET_SUPPORTED_CPUID", -result);
        return {cpuid->entries, cpuid->entries + cpuid->nent};
    }
    throw KvmError("KVM_GET_SUPPORTED_CPUID", E2BIG, "more than 4096 CPUID entries");
}

std::vector<uint32_t> System::msrIndexList() const {
    kvm_msr_list probe{};
    // First call with nmsrs = 0 learns the count (E2BIG), api.rst 4.3.
    const int result = tryIoctl(fd_.get(), KVM_GET_MSR_INDEX_LIST, &probe);
    if (result < 0 && result != -E2BIG)
        throw KvmError("KVM_GET_MSR_INDEX_LIST", -result);
    auto buffer = std::make_unique<uint32_t[]>(1 + probe.nmsrs);
    auto* list = reinterpret_cast<kvm_msr_list*>(buffer.get());
    list->nmsrs = probe.nmsrs;
    KVM_IOCTL(fd_.get(), KVM_GET_MSR_INDEX_LIST, list);
    return {list->indices, list->indices + list->nmsrs};
}

std::vector<uint32_t> System::probeDeviceTypes(const Vm& vm) {
    std::vector<uint32_t> types;
    for (uint32_t type = 0; type < KVM_DEV_TYPE_MAX; ++type)
        if (vm.canCreateDevice(type))
            types.push_back(type);
    return types;
}

bool System::hasAttr(uint32_t group, uint64_t attr) const {
    return checkExtension(KVM_CAP_SYS_ATTRIBUTES) && hasDeviceAttr(fd_.get(), group, attr);
}

uint64_t System::getAttr(uint32_t group, uint64_t attr) const {
    uint64_t value = 0;
    getDeviceAttr(fd_.get(), group, attr, &value, "reading a system attribute");
    return value;
}

bool System::hardwareVirtualization() {
    const std::set<std::string> flags = cpuFlags();
    return flags.count("vmx") != 0 || flags.count("svm") != 0;
}

Vm System::createVm() const {
    // Type 0: the default VM type on x86 (api.rst 4.2).
    const int fd = KVM_IOCTL(fd_.get(), KVM_CREATE_VM, 0ul);
    return Vm(FileDescriptor(fd), vcpuMmapSize());
}

} // namespace kvmscope::kvm
