#include "kvm/Vm.h"

#include "kvm/DeviceFd.h"
#include "kvm/Ioctl.h"
#include "kvm/Vcpu.h"

#include <fmt/format.h>

namespace kvmscope::kvm {

int Vm::checkExtension(long capability) const {
    const int result =
        tryIoctl(fd_.get(), KVM_CHECK_EXTENSION, static_cast<unsigned long>(capability));
    return result < 0 ? 0 : result;
}

void Vm::setMemoryRegion(uint32_t slot, uint64_t guestAddress, uint64_t size, void* host,
                         uint32_t flags) {
    kvm_userspace_memory_region region{};
    region.slot = slot;
    region.flags = flags;
    region.guest_phys_addr = guestAddress;
    region.memory_size = size;
    region.userspace_addr = reinterpret_cast<uint64_t>(host);
    const int result = tryIoctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region);
    if (result < 0)
        throw KvmError(
            "KVM_SET_USER_MEMORY_REGION", -result,
            fmt::format("mapping slot {} at {:#x} size {:#x}", slot, guestAddress, size));
}

void Vm::getDirtyLog(uint32_t slot, std::span<uint64_t> bitmap) const {
    kvm_dirty_log log{};
    log.slot = slot;
    log.dirty_bitmap = bitmap.data();
    const int result = tryIoctl(fd_.get(), KVM_GET_DIRTY_LOG, &log);
    if (result < 0)
        throw KvmError(
            "KVM_GET_DIRTY_LOG", -result,
            fmt::format("reading the dirty log of slot {} ({} bitmap words)", slot, bitmap.size()));
}

void Vm::setTssAddress(uint64_t address) {
    KVM_IOCTL(fd_.get(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(address));
}

void Vm::setIdentityMapAddress(uint64_t address) {
    uint64_t value = address;
    KVM_IOCTL(fd_.get(), KVM_SET_IDENTITY_MAP_ADDR, &value);
}

void Vm::createIrqchip() {
    KVM_IOCTL(fd_.get(), KVM_CREATE_IRQCHIP);
}

void Vm::createPit2(uint32_t flags) {
    kvm_pit_config config{};
    config.flags = flags;
    KVM_IOCTL(fd_.get(), KVM_CREATE_PIT2, &config);
}

void Vm::setIrqLine(uint32_t irq, bool level) {
    kvm_irq_level line{};
    line.irq = irq;
    line.level = level ? 1 : 0;
    KVM_IOCTL(fd_.get(), KVM_IRQ_LINE, &line);
}

kvm_irqchip Vm::getIrqchip(uint32_t chipId) const {
    kvm_irqchip chip{};
    chip.chip_id = chipId;
    KVM_IOCTL(fd_.get(), KVM_GET_IRQCHIP, &chip);
    return chip;
}

void Vm::setIrqchip(const kvm_irqchip& chip) {
    kvm_irqchip copy = chip;
    KVM_IOCTL(fd_.get(), KVM_SET_IRQCHIP, &copy);
}

kvm_pit_state2 Vm::getPit2() const {
    kvm_pit_state2 state{};
    KVM_IOCTL(fd_.get(), KVM_GET_PIT2, &state);
    return state;
}

void Vm::setPit2(const kvm_pit_state2& state) {
    kvm_pit_state2 copy = state;
    KVM_IOCTL(fd_.get(), KVM_SET_PIT2, &copy);
}

kvm_clock_data Vm::getClock() const {
    kvm_clock_data clock{};
    KVM_IOCTL(fd_.get(), KVM_GET_CLOCK, &clock);
    return clock;
}

bool Vm::canCreateDevice(uint32_t type) const {
    kvm_create_device request{};
    request.type = type;
    request.flags = KVM_CREATE_DEVICE_TEST;
    return tryIoctl(fd_.get(), KVM_CREATE_DEVICE, &request) == 0;
}

DeviceFd Vm::createDevice(uint32_t type) {
    kvm_create_device request{};
    request.type = type;
    KVM_IOCTL(fd_.get(), KVM_CREATE_DEVICE, &request);
    return DeviceFd(FileDescriptor(static_cast<int>(request.fd)), type);
}

Vcpu Vm::createVcpu(uint32_t id) {
    const int fd = KVM_IOCTL(fd_.get(), KVM_CREATE_VCPU, static_cast<unsigned long>(id));
    return Vcpu(FileDescriptor(fd), id, vcpuMmapSize_);
}

} // namespace kvmscope::kvm
