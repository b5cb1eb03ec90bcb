#include "kvm/Vcpu.h"

#include "kvm/Ioctl.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <sys/mman.h>

namespace kvmscope::kvm {

Vcpu::Vcpu(FileDescriptor fd, uint32_t id, int mmapSize)
    : fd_(std::move(fd)), id_(id), mmapSize_(mmapSize) {
    void* mapping = ::mmap(nullptr, static_cast<size_t>(mmapSize), PROT_READ | PROT_WRITE,
                           MAP_SHARED, fd_.get(), 0);
    if (mapping == MAP_FAILED)
        throw KvmError("mmap", errno, fmt::format("mapping the kvm_run page of vcpu {}", id));
    run_ = static_cast<kvm_run*>(mapping);
}

Vcpu::~Vcpu() {
    if (run_)
        ::munmap(run_, static_cast<size_t>(mmapSize_));
}

Vcpu::Vcpu(Vcpu&& other) noexcept
    : fd_(std::move(other.fd_)), id_(other.id_), mmapSize_(other.mmapSize_),
      run_(std::exchange(other.run_, nullptr)) {}

int Vcpu::run() {
    const int result = tryIoctl(fd_.get(), KVM_RUN, 0ul);
    if (result == -EINTR || result == -EAGAIN)
        return -EINTR;
    if (result < 0)
        throw KvmError("KVM_RUN", -result, fmt::format("running vcpu {}", id_));
    return 0;
}

#define KVMSCOPE_GET(type, request)                                                                \
    type value{};                                                                                  \
    KVM_IOCTL(fd_.get(), request, &value);                                                         \
    return value
#define KVMSCOPE_SET(type, request, source)                                                        \
    type copy = source;                                                                            \
    KVM_IOCTL(fd_.get(), request, &copy)

kvm_regs Vcpu::regs() const {
    KVMSCOPE_GET(kvm_regs, KVM_GET_REGS);
}
void Vcpu::setRegs(const kvm_regs& regs) {
    KVMSCOPE_SET(kvm_regs, KVM_SET_REGS, regs);
}
kvm_sregs Vcpu::sregs() const {
    KVMSCOPE_GET(kvm_sregs, KVM_GET_SREGS);
}
void Vcpu::setSregs(const kvm_sregs& sregs) {
    KVMSCOPE_SET(kvm_sregs, KVM_SET_SREGS, sregs);
}
kvm_fpu Vcpu::fpu() const {
    kvm_fpu value{};
    KVM_IOCTL(fd_.get(), KVM_GET_FPU, &value);
    // KVM_GET_FPU copies the legacy FXSAVE area as KVM stores it, and a vcpu whose SSE state is
    // still in its XSAVE init state has never had MXCSR written there: it reads 0, not the reset
    // value 0x1F80 (SDM Vol. 1, 13.6 "Processor tracking of XSAVE-managed state"). KVM_GET_XSAVE
    // returns the state with the init values filled in (api.rst 4.42), MXCSR at byte 24 of the
    // legacy area; it is read from there where the host has XSAVE.
    try {
        kvm_xsave xsave{};
        KVM_IOCTL(fd_.get(), KVM_GET_XSAVE, &xsave);
        static_assert(sizeof xsave.region >= 28);
        std::memcpy(&value.mxcsr, reinterpret_cast<const uint8_t*>(xsave.region) + 24,
                    sizeof value.mxcsr);
    } catch (const KvmError&) {
        // No XSAVE on this host: KVM_GET_FPU's MXCSR is all there is.
    }
    return value;
}
void Vcpu::setFpu(const kvm_fpu& fpu) {
    KVMSCOPE_SET(kvm_fpu, KVM_SET_FPU, fpu);
    // KVM_SET_FPU does not write MXCSR (x86.c, kvm_arch_vcpu_ioctl_set_fpu copies every other
    // field): it goes in through KVM_SET_XSAVE, at byte 24 of the legacy area. XSTATE_BV.SSE
    // (bit 1 of the header at byte 512) is set so the kernel takes MXCSR from the buffer rather
    // than the init state; the XMM registers KVM_GET_XSAVE returned are the vcpu's, init or not.
    kvm_xsave xsave{};
    try {
        KVM_IOCTL(fd_.get(), KVM_GET_XSAVE, &xsave);
    } catch (const KvmError&) {
        return; // no XSAVE on this host: KVM_SET_FPU is all there is
    }
    auto* region = reinterpret_cast<uint8_t*>(xsave.region);
    uint32_t mxcsr = 0;
    std::memcpy(&mxcsr, region + 24, sizeof mxcsr);
    if (mxcsr == fpu.mxcsr)
        return;
    std::memcpy(region + 24, &fpu.mxcsr, sizeof fpu.mxcsr);
    uint64_t xstateBv = 0;
    std::memcpy(&xstateBv, region + 512, sizeof xstateBv);
    xstateBv |= 1u << 1;
    std::memcpy(region + 512, &xstateBv, sizeof xstateBv);
    // EINVAL for MXCSR bits outside the host's MXCSR_MASK, as LDMXCSR would #GP.
    KVM_IOCTL(fd_.get(), KVM_SET_XSAVE, &xsave);
}
kvm_debugregs Vcpu::debugRegs() const {
    KVMSCOPE_GET(kvm_debugregs, KVM_GET_DEBUGREGS);
}
void Vcpu::setDebugRegs(const kvm_debugregs& regs) {
    KVMSCOPE_SET(kvm_debugregs, KVM_SET_DEBUGREGS, regs);
}
kvm_lapic_state Vcpu::lapic() const {
    KVMSCOPE_GET(kvm_lapic_state, KVM_GET_LAPIC);
}
void Vcpu::setLapic(const kvm_lapic_state& state) {
    KVMSCOPE_SET(kvm_lapic_state, KVM_SET_LAPIC, state);
}
kvm_vcpu_events Vcpu::events() const {
    KVMSCOPE_GET(kvm_vcpu_events, KVM_GET_VCPU_EVENTS);
}
void Vcpu::setEvents(const kvm_vcpu_events& events) {
    KVMSCOPE_SET(kvm_vcpu_events, KVM_SET_VCPU_EVENTS, events);
}
kvm_mp_state Vcpu::mpState() const {
    KVMSCOPE_GET(kvm_mp_state, KVM_GET_MP_STATE);
}
void Vcpu::setMpState(const kvm_mp_state& state) {
    KVMSCOPE_SET(kvm_mp_state, KVM_SET_MP_STATE, state);
}
kvm_xcrs Vcpu::xcrs() const {
    KVMSCOPE_GET(kvm_xcrs, KVM_GET_XCRS);
}
void Vcpu::setXcrs(const kvm_xcrs& xcrs) {
    KVMSCOPE_SET(kvm_xcrs, KVM_SET_XCRS, xcrs);
}
void Vcpu::setGuestDebug(const kvm_guest_debug& debug) {
    KVMSCOPE_SET(kvm_guest_debug, KVM_SET_GUEST_DEBUG, debug);
}

#undef KVMSCOPE_GET
#undef KVMSCOPE_SET

namespace {

// kvm_msrs and kvm_cpuid2 end in flexible arrays: allocate header + entries, suitably aligned.
template <typename Header, typename Entry> struct FlexibleBuffer {
    explicit FlexibleBuffer(size_t count)
        : storage(std::make_unique<uint64_t[]>((sizeof(Header) + count * sizeof(Entry)) / 8 + 1)) {}
    Header* get() { return reinterpret_cast<Header*>(storage.get()); }
    std::unique_ptr<uint64_t[]> storage;
};

} // namespace

std::vector<kvm_msr_entry> Vcpu::msrs(const std::vector<uint32_t>& indices) const {
    std::vector<kvm_msr_entry> result;
    // KVM_GET_MSRS stops at the first MSR it cannot read and returns how many it read; skip the
    // refused one and go on so that one unsupported index does not hide the rest.
    size_t start = 0;
    while (start < indices.size()) {
        const size_t count = indices.size() - start;
        FlexibleBuffer<kvm_msrs, kvm_msr_entry> buffer(count);
        kvm_msrs* request = buffer.get();
        request->nmsrs = static_cast<uint32_t>(count);
        for (size_t i = 0; i < count; ++i)
            request->entries[i] = kvm_msr_entry{indices[start + i], 0, 0};
        const int read = KVM_IOCTL(fd_.get(), KVM_GET_MSRS, request);
        result.insert(result.end(), request->entries, request->entries + read);
        start += static_cast<size_t>(read) + 1;
    }
    return result;
}

size_t Vcpu::trySetMsrs(const std::vector<kvm_msr_entry>& entries) {
    FlexibleBuffer<kvm_msrs, kvm_msr_entry> buffer(entries.size());
    kvm_msrs* request = buffer.get();
    request->nmsrs = static_cast<uint32_t>(entries.size());
    std::copy(entries.begin(), entries.end(), request->entries);
    return static_cast<size_t>(KVM_IOCTL(fd_.get(), KVM_SET_MSRS, request));
}

void Vcpu::setMsrs(const std::vector<kvm_msr_entry>& entries) {
    const size_t written = trySetMsrs(entries);
    if (written != entries.size())
        throw KvmError("KVM_SET_MSRS", EINVAL,
                       fmt::format("writing MSR {:#x} on vcpu {}",
                                   entries[static_cast<size_t>(written)].index, id_));
}

void Vcpu::setCpuid(const std::vector<kvm_cpuid_entry2>& entries) {
    FlexibleBuffer<kvm_cpuid2, kvm_cpuid_entry2> buffer(entries.size());
    kvm_cpuid2* request = buffer.get();
    request->nent = static_cast<uint32_t>(entries.size());
    std::copy(entries.begin(), entries.end(), request->entries);
    KVM_IOCTL(fd_.get(), KVM_SET_CPUID2, request);
}

std::vector<kvm_cpuid_entry2> Vcpu::cpuid() const {
    // KVM_GET_CPUID2 fails with E2BIG when nent is too small; KVM allows at most
    // KVM_MAX_CPUID_ENTRIES (256) entries per vcpu.
    constexpr size_t kMaxEntries = 256;
    FlexibleBuffer<kvm_cpuid2, kvm_cpuid_entry2> buffer(kMaxEntries);
    kvm_cpuid2* request = buffer.get();
    request->nent = kMaxEntries;
    KVM_IOCTL(fd_.get(), KVM_GET_CPUID2, request);
    return {request->entries, request->entries + request->nent};
}

std::vector<uint8_t> Vcpu::xsave(size_t size) const {
    // Held in qwords: the kernel copies a struct of 32-bit words, and the area is 64-byte
    // structured; a size below struct kvm_xsave's is KVM_GET_XSAVE's fixed 4096 bytes.
    size = std::max(size, sizeof(kvm_xsave));
    std::vector<uint64_t> buffer((size + 7) / 8);
    if (size > sizeof(kvm_xsave))
        KVM_IOCTL(fd_.get(), KVM_GET_XSAVE2, buffer.data());
    else
        KVM_IOCTL(fd_.get(), KVM_GET_XSAVE, buffer.data());
    const auto* bytes = reinterpret_cast<const uint8_t*>(buffer.data());
    return {bytes, bytes + size};
}

void Vcpu::setXsave(const std::vector<uint8_t>& area) {
    std::vector<uint64_t> buffer((std::max(area.size(), sizeof(kvm_xsave)) + 7) / 8);
    std::memcpy(buffer.data(), area.data(), area.size());
    KVM_IOCTL(fd_.get(), KVM_SET_XSAVE, buffer.data());
}

kvm_translation Vcpu::translate(uint64_t linearAddress) const {
    kvm_translation translation{};
    translation.linear_address = linearAddress;
    KVM_IOCTL(fd_.get(), KVM_TRANSLATE, &translation);
    return translation;
}

bool Vcpu::hasAttr(uint32_t group, uint64_t attr) const {
    return hasDeviceAttr(fd_.get(), group, attr);
}

uint64_t Vcpu::getAttr(uint32_t group, uint64_t attr) const {
    uint64_t value = 0;
    getDeviceAttr(fd_.get(), group, attr, &value, "reading a vcpu attribute");
    return value;
}

void Vcpu::setAttr(uint32_t group, uint64_t attr, uint64_t value) {
    setDeviceAttr(fd_.get(), group, attr, &value, "writing a vcpu attribute");
}

} // namespace kvmscope::kvm
