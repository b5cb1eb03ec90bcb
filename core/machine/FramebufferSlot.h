#pragma once
// Where the guest sees the linear framebuffer's video memory (devices/Framebuffer.h): one KVM
// memslot that follows the VGA function's BAR0 (devices/StdVgaFunction.h). The video memory is
// what BAR0 decodes, so when the guest (firmware, an OS) moves the BAR the slot moves with it, and
// while the BAR is not decoded (memory space off in the command register, address 0, or a
// placement the PCI bus refused) there is no slot at all. A move deletes the slot and creates it
// again at the new address with the same host memory and the same flags, so dirty logging,
// once on, stays on; the kernel's dirty bitmap starts empty after it, so the next fetch tells the
// display that its bits do not cover everything the guest wrote (see fetchDirtyLog).
//
// The KVM calls go through MemorySlots, a seam that tests replace with a fake; the machine's
// VmMemorySlots forwards them to the VM fd.
//
// Threads and locking: place() runs on a vcpu thread during a configuration write (with the PCI
// function's lock held), at boot and on a restore; the display's thread turns dirty logging on and
// fetches the log. One mutex orders them, so a fetch never names a slot that is being deleted or
// created, and a move never happens between the display's check and its fetch. Lock order: the
// PCI function, then this; the display's update lock, then this. Nothing here calls back out.
// The guest's other vcpus may touch the BAR while its slot is gone during a move: those accesses
// exit as MMIO and reach the BAR's window on the MMIO bus, which StdVgaFunction answers from the
// same host memory, so nothing is lost.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>

namespace kvmscope {

class Framebuffer;
namespace kvm {
class Vm;
}

// The memslot calls a movable slot needs (KVM API, api.rst 4.35 KVM_SET_USER_MEMORY_REGION and 4.8
// KVM_GET_DIRTY_LOG).
class MemorySlots {
public:
    virtual ~MemorySlots() = default;
    virtual void createSlot(uint32_t slot, uint64_t guestAddress, uint64_t size, void* host,
                            uint32_t flags) = 0;
    // 4.35: a slot is deleted by setting it again with size 0.
    virtual void deleteSlot(uint32_t slot) = 0;
    virtual void fetchDirtyLog(uint32_t slot, std::span<uint64_t> bitmap) = 0;
};

// MemorySlots on a VM fd (kvm::Vm).
class VmMemorySlots final : public MemorySlots {
public:
    explicit VmMemorySlots(kvm::Vm& vm) : vm_(vm) {}
    void createSlot(uint32_t slot, uint64_t guestAddress, uint64_t size, void* host,
                    uint32_t flags) override;
    void deleteSlot(uint32_t slot) override;
    void fetchDirtyLog(uint32_t slot, std::span<uint64_t> bitmap) override;

private:
    kvm::Vm& vm_;
};

class FramebufferSlot {
public:
    // The video memory of `framebuffer` will be memslot `slot` of `slots` while it is placed;
    // nothing is mapped yet. Both must outlive this.
    FramebufferSlot(MemorySlots& slots, uint32_t slot, Framebuffer& framebuffer);
    ~FramebufferSlot();
    FramebufferSlot(const FramebufferSlot&) = delete;
    FramebufferSlot& operator=(const FramebufferSlot&) = delete;

    uint32_t slot() const { return slot_; }

    // Maps the video memory at `guestAddress` (page-aligned, the framebuffer's size must fit
    // below 4 GiB), or unmaps it (nullopt). Placing it where it is does nothing. Tells the
    // framebuffer its address (Framebuffer::guestAddress). Throws what the KVM calls throw.
    void place(std::optional<uint64_t> guestAddress);
    // Where the guest sees the video memory now; nullopt while it is not mapped.
    std::optional<uint64_t> guestAddress() const;

    // Turns KVM_MEM_LOG_DIRTY_PAGES on for the slot, now if it is mapped and on every later
    // placement (api.rst 4.35: only the flags change on an existing slot). Idempotent.
    void startDirtyLogging();
    bool dirtyLogging() const;

    // Fetches the dirty log into `bitmap` (Vm::dirtyLogWords of the framebuffer's size). Returns
    // true when the bits cover every guest write since the previous fetch; false when the slot was
    // created again (moved or mapped anew) since then, which loses what the kernel logged for the
    // old one: the caller must treat every page as written. An unmapped slot reports no page (the
    // guest cannot write it) and returns true, unless it moved before it went.
    bool fetchDirtyLog(std::span<uint64_t> bitmap);

    // Slot creations and deletions so far (moves count one of each), for the device tree.
    uint64_t slotChanges() const { return slotChanges_.load(std::memory_order_relaxed); }

private:
    uint32_t flags() const; // with mutex_ held

    MemorySlots& slots_;
    const uint32_t slot_;
    Framebuffer& framebuffer_;

    mutable std::mutex mutex_;
    std::optional<uint64_t> address_; // guarded by mutex_: where the slot is now
    bool dirtyLogging_ = false;       // guarded by mutex_
    bool logIncomplete_ = false;      // guarded by mutex_: recreated since the last fetch
    std::atomic<uint64_t> slotChanges_{0};
};

} // namespace kvmscope
