#include "kvm/Vm.h"

#include "kvm/DeviceFd.h"
#include "kvm/Ioctl.h"
#include "kvm/Vcpu.h"

#include <algorithm>
#include <fmt/format.h>
#include <string>
#include <vector>

namespace kvmscope::kvm {

Vm::Vm(FileDescriptor fd, int vcpuMmapSize) : fd_(std::move(fd)), vcpuMmapSize_(vcpuMmapSize) {
    irqLineStatus_ = checkExtension(KVM_CAP_IRQ_INJECT_STATUS) > 0;
}

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

std::optional<int> Vm::setIrqLine(uint32_t irq, bool level) {
    kvm_irq_level line{};
    line.irq = irq;
    line.level = level ? 1 : 0;
    if (!irqLineStatus_) {
        KVM_IOCTL(fd_.get(), KVM_IRQ_LINE, &line);
        return std::nullopt;
    }
    KVM_IOCTL(fd_.get(), KVM_IRQ_LINE_STATUS, &line);
    return line.status;
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

void Vm::setClock(const kvm_clock_data& clock) {
    kvm_clock_data copy = clock;
    KVM_IOCTL(fd_.get(), KVM_SET_CLOCK, &copy);
}

size_t Vm::xsaveSize() const {
    if (checkExtension(KVM_CAP_XSAVE) <= 0)
        return 0;
    const int size = checkExtension(KVM_CAP_XSAVE2);
    return size > 0 ? static_cast<size_t>(size) : sizeof(kvm_xsave);
}

namespace {

kvm_ioeventfd ioEventRequest(const Vm::IoEvent& event) {
    kvm_ioeventfd request{};
    request.addr = event.address;
    request.len = event.length;
    request.fd = event.eventFd;
    if (event.space == Vm::IoEventSpace::Pio)
        request.flags |= KVM_IOEVENTFD_FLAG_PIO;
    if (event.dataMatch) {
        request.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
        request.datamatch = *event.dataMatch;
    }
    return request;
}

std::string describe(const Vm::IoEvent& event) {
    return fmt::format(
        "{} {:#x} ({} bytes{}) to eventfd {}",
        event.space == Vm::IoEventSpace::Pio ? "port" : "address", event.address, event.length,
        event.dataMatch ? fmt::format(", value {:#x}", *event.dataMatch) : "", event.eventFd);
}

} // namespace

void Vm::addIoEvent(const IoEvent& event) {
    kvm_ioeventfd request = ioEventRequest(event);
    const int result = tryIoctl(fd_.get(), KVM_IOEVENTFD, &request);
    if (result < 0)
        throw KvmError("KVM_IOEVENTFD", -result, "assigning " + describe(event));
}

void Vm::removeIoEvent(const IoEvent& event) {
    kvm_ioeventfd request = ioEventRequest(event);
    request.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
    const int result = tryIoctl(fd_.get(), KVM_IOEVENTFD, &request);
    if (result < 0)
        throw KvmError("KVM_IOEVENTFD", -result, "deassigning " + describe(event));
}

void Vm::addIrqFd(uint32_t gsi, int eventFd, int resampleFd) {
    kvm_irqfd request{};
    request.fd = static_cast<uint32_t>(eventFd);
    request.gsi = gsi;
    if (resampleFd >= 0) {
        request.flags = KVM_IRQFD_FLAG_RESAMPLE;
        request.resamplefd = static_cast<uint32_t>(resampleFd);
    }
    const int result = tryIoctl(fd_.get(), KVM_IRQFD, &request);
    if (result < 0)
        throw KvmError("KVM_IRQFD", -result,
                       fmt::format("assigning eventfd {} to GSI {}", eventFd, gsi));
}

void Vm::removeIrqFd(uint32_t gsi, int eventFd) {
    kvm_irqfd request{};
    request.fd = static_cast<uint32_t>(eventFd);
    request.gsi = gsi;
    request.flags = KVM_IRQFD_FLAG_DEASSIGN;
    const int result = tryIoctl(fd_.get(), KVM_IRQFD, &request);
    if (result < 0)
        throw KvmError("KVM_IRQFD", -result,
                       fmt::format("deassigning eventfd {} from GSI {}", eventFd, gsi));
}

void Vm::setGsiRouting(std::span<const kvm_irq_routing_entry> entries) {
    // kvm_irq_routing ends in a flexible array: one buffer holds the header and the entries.
    // Held in qwords: an entry holds 64-bit fields, and the buffer must be aligned for them.
    const size_t bytes = sizeof(kvm_irq_routing) + entries.size() * sizeof(kvm_irq_routing_entry);
    std::vector<uint64_t> buffer((bytes + sizeof(uint64_t) - 1) / sizeof(uint64_t));
    auto* routing = reinterpret_cast<kvm_irq_routing*>(buffer.data());
    routing->nr = static_cast<uint32_t>(entries.size());
    std::copy(entries.begin(), entries.end(), routing->entries);
    const int result = tryIoctl(fd_.get(), KVM_SET_GSI_ROUTING, routing);
    if (result < 0)
        throw KvmError("KVM_SET_GSI_ROUTING", -result,
                       fmt::format("setting {} routes", entries.size()));
}

bool Vm::signalMsi(uint64_t address, uint32_t data) {
    kvm_msi message{};
    message.address_lo = static_cast<uint32_t>(address);
    message.address_hi = static_cast<uint32_t>(address >> 32);
    message.data = data;
    const int result = tryIoctl(fd_.get(), KVM_SIGNAL_MSI, &message);
    if (result < 0)
        throw KvmError("KVM_SIGNAL_MSI", -result,
                       fmt::format("message {:#x} to {:#x}", data, address));
    return result > 0;
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
