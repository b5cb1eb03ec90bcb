#include "machine/FramebufferSlot.h"

#include "common/Error.h"
#include "devices/Framebuffer.h"
#include "kvm/Vm.h"
#include "log/Log.h"

#include <algorithm>
#include <fmt/format.h>

namespace kvmscope {
namespace {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kFourGib = 0x1'0000'0000;

} // namespace

void VmMemorySlots::createSlot(uint32_t slot, uint64_t guestAddress, uint64_t size, void* host,
                               uint32_t flags) {
    vm_.setMemoryRegion(slot, guestAddress, size, host, flags);
}

void VmMemorySlots::deleteSlot(uint32_t slot) {
    vm_.setMemoryRegion(slot, 0, 0, nullptr, 0);
}

void VmMemorySlots::fetchDirtyLog(uint32_t slot, std::span<uint64_t> bitmap) {
    vm_.getDirtyLog(slot, bitmap);
}

FramebufferSlot::FramebufferSlot(MemorySlots& slots, uint32_t slot, Framebuffer& framebuffer)
    : slots_(slots), slot_(slot), framebuffer_(framebuffer) {}

FramebufferSlot::~FramebufferSlot() = default;

uint32_t FramebufferSlot::flags() const {
    return dirtyLogging_ ? KVM_MEM_LOG_DIRTY_PAGES : 0;
}

void FramebufferSlot::place(std::optional<uint64_t> guestAddress) {
    const uint64_t size = framebuffer_.memorySize();
    if (guestAddress && (*guestAddress % kPageSize != 0 || *guestAddress >= kFourGib ||
                         size > kFourGib - *guestAddress))
        throw Error(fmt::format("framebuffer [{:#x}, +{:#x}) must be page-aligned and below "
                                "4 GiB",
                                *guestAddress, size));
    std::lock_guard lock(mutex_);
    if (guestAddress == address_)
        return;
    // A slot cannot be resized, and KVM could move it in place, but deleting and creating it
    // again is the one sequence every KVM version takes alike (api.rst 4.35); the gap between the
    // two calls is covered by the BAR's MMIO window (see the header).
    if (address_) {
        slots_.deleteSlot(slot_);
        slotChanges_.fetch_add(1, std::memory_order_relaxed);
        address_.reset();
        framebuffer_.setGuestAddress(std::nullopt);
    }
    if (guestAddress) {
        slots_.createSlot(slot_, *guestAddress, size, framebuffer_.memory().data(), flags());
        slotChanges_.fetch_add(1, std::memory_order_relaxed);
        address_ = guestAddress;
        framebuffer_.setGuestAddress(guestAddress);
    }
    logIncomplete_ = logIncomplete_ || dirtyLogging_;
    auto logger = log::get("display");
    if (guestAddress)
        logger->debug("framebuffer memslot {} at {:#x}-{:#x}", slot_, *guestAddress,
                      *guestAddress + size - 1);
    else
        logger->debug("framebuffer memslot {} removed (BAR0 not decoded)", slot_);
}

std::optional<uint64_t> FramebufferSlot::guestAddress() const {
    std::lock_guard lock(mutex_);
    return address_;
}

void FramebufferSlot::startDirtyLogging() {
    std::lock_guard lock(mutex_);
    if (dirtyLogging_)
        return;
    dirtyLogging_ = true;
    if (address_)
        slots_.createSlot(slot_, *address_, framebuffer_.memorySize(), framebuffer_.memory().data(),
                          flags());
}

bool FramebufferSlot::dirtyLogging() const {
    std::lock_guard lock(mutex_);
    return dirtyLogging_;
}

bool FramebufferSlot::fetchDirtyLog(std::span<uint64_t> bitmap) {
    std::lock_guard lock(mutex_);
    if (!dirtyLogging_)
        throw Error("framebuffer: the dirty log was fetched before dirty logging was on");
    if (address_)
        slots_.fetchDirtyLog(slot_, bitmap);
    else
        std::fill(bitmap.begin(), bitmap.end(), uint64_t{0});
    const bool complete = !logIncomplete_;
    logIncomplete_ = false;
    return complete;
}

} // namespace kvmscope
