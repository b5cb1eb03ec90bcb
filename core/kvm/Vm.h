#pragma once
// A VM fd: memory slots, the in-kernel irqchip and PIT, interrupt lines, kernel devices, vcpus.
#include "kvm/FileDescriptor.h"
#include "kvm/compat.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace kvmscope::kvm {

class Vcpu;
class DeviceFd;

class Vm {
public:
    Vm(FileDescriptor fd, int vcpuMmapSize);

    int fd() const { return fd_.get(); }
    int checkExtension(long capability) const;

    // KVM_SET_USER_MEMORY_REGION (api.rst 4.35). `flags`: KVM_MEM_LOG_DIRTY_PAGES to track the
    // guest's writes to the slot (getDirtyLog), KVM_MEM_READONLY.
    void setMemoryRegion(uint32_t slot, uint64_t guestAddress, uint64_t size, void* host,
                         uint32_t flags = 0);
    // KVM_GET_DIRTY_LOG (api.rst 4.8): one bit per 4 KiB page of `slot` (created with
    // KVM_MEM_LOG_DIRTY_PAGES), set when the guest wrote the page since the previous call.
    // `bitmap` needs dirtyLogWords(slotSize) words. Without KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2
    // enabled (kvmscope never enables it) the kernel hands the bits over and clears them in one
    // step, write-protecting those pages again, so a write that lands after the call is reported
    // by the next one and none is lost. A VM ioctl: safe to call while the vcpus run. The dirty
    // ring (KVM_CAP_DIRTY_LOG_RING) is not used: once enabled it replaces this bitmap for every
    // slot and must be harvested per vcpu, with a vcpu exit when a ring fills; for a framebuffer
    // of a few MiB the bitmap is a few hundred bytes and costs one ioctl.
    void getDirtyLog(uint32_t slot, std::span<uint64_t> bitmap) const;
    static size_t dirtyLogWords(uint64_t slotSize) {
        const uint64_t pages = (slotSize + 4095) / 4096;
        return static_cast<size_t>((pages + 63) / 64);
    }
    // Required on Intel before the first KVM_RUN: three pages for the real-mode TSS (api.rst 4.48)
    // and one for the EPT identity map (4.62); both must lie outside guest RAM.
    void setTssAddress(uint64_t address);
    void setIdentityMapAddress(uint64_t address);

    void createIrqchip();                // KVM_CREATE_IRQCHIP: PIC, IOAPIC, LAPICs
    void createPit2(uint32_t flags = 0); // KVM_CREATE_PIT2
    // KVM_IRQ_LINE, or KVM_IRQ_LINE_STATUS where the host has KVM_CAP_IRQ_INJECT_STATUS (api.rst
    // 4.25), whose answer it returns: the number of vcpus the interrupt was delivered to, 0 when
    // it was coalesced with one still pending, negative when no vcpu accepted it (masked or
    // misrouted). Without the capability: nullopt.
    std::optional<int> setIrqLine(uint32_t irq, bool level);
    kvm_irqchip getIrqchip(uint32_t chipId) const; // KVM_IRQCHIP_PIC_MASTER/SLAVE/IOAPIC
    void setIrqchip(const kvm_irqchip& chip);
    kvm_pit_state2 getPit2() const;
    void setPit2(const kvm_pit_state2& state);
    // KVM_GET_CLOCK / KVM_SET_CLOCK (api.rst, "KVM_GET_CLOCK", "KVM_SET_CLOCK"): kvmclock's base,
    // in ns.
    kvm_clock_data getClock() const;
    void setClock(const kvm_clock_data& clock);
    // The bytes of a vcpu's XSAVE area (Vcpu::xsave): KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) on the
    // VM fd (api.rst, "KVM_GET_XSAVE2": at least 4096), 4096 (struct kvm_xsave) on kernels before
    // it, 0 when the host has no XSAVE (KVM_CAP_XSAVE absent: KVM_GET_FPU is all there is).
    size_t xsaveSize() const;

    // KVM_IOEVENTFD (api.rst 4.59, KVM_CAP_IOEVENTFD): a guest write of `length` bytes (1, 2, 4
    // or 8; 0 for any length, MMIO only, KVM_CAP_IOEVENTFD_ANY_LENGTH) at `address` in port
    // (`kind` Pio) or memory space signals `eventFd` instead of exiting to user space; with
    // `dataMatch`, only a write of that value does. Removing takes the same arguments.
    enum class IoEventSpace { Pio, Mmio };
    struct IoEvent {
        IoEventSpace space = IoEventSpace::Mmio;
        uint64_t address = 0;
        uint32_t length = 0;
        int eventFd = -1;
        std::optional<uint64_t> dataMatch;
    };
    void addIoEvent(const IoEvent& event);
    void removeIoEvent(const IoEvent& event);
    // KVM_IRQFD (api.rst 4.75, KVM_CAP_IRQFD): a signal on `eventFd` raises GSI `gsi` (for an
    // MSI route, sends its message). With `resampleFd` (a level-triggered line,
    // KVM_CAP_IRQFD_RESAMPLE) the line stays asserted until the guest's EOI, which signals
    // `resampleFd`.
    void addIrqFd(uint32_t gsi, int eventFd, int resampleFd = -1);
    void removeIrqFd(uint32_t gsi, int eventFd);
    // KVM_SET_GSI_ROUTING (api.rst 4.52, KVM_CAP_IRQ_ROUTING): replaces the whole routing table,
    // the irqchip pins' default routes included.
    void setGsiRouting(std::span<const kvm_irq_routing_entry> entries);
    // KVM_SIGNAL_MSI (api.rst 4.71, KVM_CAP_SIGNAL_MSI): sends one MSI; false when the guest
    // blocked it (no destination accepted it).
    bool signalMsi(uint64_t address, uint32_t data);

    // KVM_CREATE_DEVICE (api.rst 4.79); canCreateDevice uses KVM_CREATE_DEVICE_TEST.
    bool canCreateDevice(uint32_t type) const;
    DeviceFd createDevice(uint32_t type);

    Vcpu createVcpu(uint32_t id);

private:
    FileDescriptor fd_;
    bool irqLineStatus_ = false; // KVM_CAP_IRQ_INJECT_STATUS
    int vcpuMmapSize_;
};

} // namespace kvmscope::kvm
