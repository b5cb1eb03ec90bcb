#pragma once
// A vcpu fd and its shared kvm_run page. Per api.rst ("vcpu ioctls ... must be issued from the
// same thread that was used to create the vcpu" is the recommendation), kvmscope issues every
// vcpu ioctl from the vcpu's own runner thread; see cpu/VcpuRunner.h.
#include "kvm/FileDescriptor.h"
#include "kvm/compat.h"

#include <cstdint>
#include <vector>

namespace kvmscope::kvm {

class Vcpu {
public:
    Vcpu(FileDescriptor fd, uint32_t id, int mmapSize);
    ~Vcpu();
    Vcpu(Vcpu&& other) noexcept;
    Vcpu& operator=(Vcpu&&) = delete;
    Vcpu(const Vcpu&) = delete;
    Vcpu& operator=(const Vcpu&) = delete;

    uint32_t id() const { return id_; }
    int fd() const { return fd_.get(); }
    // The shared run structure (api.rst 5): exit reason and exit data after KVM_RUN.
    kvm_run* runState() const { return run_; }

    // KVM_RUN. Returns 0, or -EINTR when a signal or immediate_exit interrupted it; throws on
    // any other error (e.g. EFAULT from a bad memslot).
    int run();

    kvm_regs regs() const;
    void setRegs(const kvm_regs& regs);
    kvm_sregs sregs() const;
    void setSregs(const kvm_sregs& sregs);
    kvm_fpu fpu() const;
    void setFpu(const kvm_fpu& fpu);
    kvm_debugregs debugRegs() const;
    void setDebugRegs(const kvm_debugregs& regs);
    kvm_lapic_state lapic() const;
    void setLapic(const kvm_lapic_state& state);
    kvm_vcpu_events events() const;
    void setEvents(const kvm_vcpu_events& events);
    kvm_mp_state mpState() const;
    void setMpState(const kvm_mp_state& state);
    // KVM_GET_XSAVE, or KVM_GET_XSAVE2 when `size` (Vm::xsaveSize()) is larger than struct
    // kvm_xsave (api.rst, "KVM_GET_XSAVE", "KVM_GET_XSAVE2"): the vcpu's whole XSAVE area, `size`
    // bytes.
    std::vector<uint8_t> xsave(size_t size) const;
    // KVM_SET_XSAVE: copies Vm::xsaveSize() bytes (api.rst, "KVM_SET_XSAVE"), so `area` must hold
    // that many.
    void setXsave(const std::vector<uint8_t>& area);
    kvm_xcrs xcrs() const; // KVM_GET_XCRS (api.rst, "KVM_GET_XCRS"; KVM_CAP_XCRS)
    void setXcrs(const kvm_xcrs& xcrs);
    // KVM_GET_CPUID2 (api.rst, "KVM_GET_CPUID2"): the entries KVM_SET_CPUID2 gave the vcpu,
    // with the bits KVM keeps up to date at run time (OSXSAVE, APIC) as they are now.
    std::vector<kvm_cpuid_entry2> cpuid() const;

    // Reads the MSRs listed in `indices`; entries the kernel refuses are left out of the result.
    std::vector<kvm_msr_entry> msrs(const std::vector<uint32_t>& indices) const;
    // Writes all entries; throws KvmError naming the first MSR the kernel refused.
    void setMsrs(const std::vector<kvm_msr_entry>& entries);
    // KVM_SET_MSRS without the throw for a refused MSR: how many entries, from the first, the
    // kernel wrote (it stops at the first it refuses, api.rst 4.19).
    size_t trySetMsrs(const std::vector<kvm_msr_entry>& entries);

    void setCpuid(const std::vector<kvm_cpuid_entry2>& entries);
    void setGuestDebug(const kvm_guest_debug& debug);
    kvm_translation translate(uint64_t linearAddress) const;

    // vcpu attributes (KVM_CAP_VCPU_ATTRIBUTES), e.g. (KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET).
    bool hasAttr(uint32_t group, uint64_t attr) const;
    uint64_t getAttr(uint32_t group, uint64_t attr) const;
    void setAttr(uint32_t group, uint64_t attr, uint64_t value);

private:
    FileDescriptor fd_;
    uint32_t id_;
    int mmapSize_;
    kvm_run* run_ = nullptr;
};

} // namespace kvmscope::kvm
