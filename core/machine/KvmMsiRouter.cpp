#include "machine/KvmMsiRouter.h"

#include "common/Error.h"
#include "kvm/KvmError.h"
#include "log/Log.h"

#include <fmt/format.h>

namespace kvmscope {
namespace {

// KVM's limit on routes when it does not say (KVM_MAX_IRQ_ROUTES in the 6.1 sources).
constexpr uint32_t kDefaultMaxRoutes = 4096;

kvm_irq_routing_entry irqchipRoute(uint32_t gsi, uint32_t chip, uint32_t pin) {
    kvm_irq_routing_entry entry{};
    entry.gsi = gsi;
    entry.type = KVM_IRQ_ROUTING_IRQCHIP;
    entry.u.irqchip.irqchip = chip;
    entry.u.irqchip.pin = pin;
    return entry;
}

} // namespace

GsiRoutingTable::GsiRoutingTable(kvm::Vm& vm) : vm_(vm) {
    // KVM_CHECK_EXTENSION(KVM_CAP_IRQ_ROUTING) answers the number of routes the VM may have.
    const int routes = vm_.checkExtension(KVM_CAP_IRQ_ROUTING);
    maxRoutes_ = routes > 0 ? static_cast<uint32_t>(routes) : kDefaultMaxRoutes;
}

uint32_t GsiRoutingTable::allocate() {
    std::lock_guard lock(mutex_);
    // The irqchip's routes: two for each PIC pin's GSI, one for each I/O APIC pin above them.
    const uint32_t pinRoutes = kPicPins * 2 + (kIoApicPins - kPicPins);
    if (pinRoutes + (nextGsi_ - kFirstMsiGsi) + 1 > maxRoutes_)
        throw Error(fmt::format("no GSI left for an MSI route ({} routes in use, KVM allows {})",
                                pinRoutes + (nextGsi_ - kFirstMsiGsi), maxRoutes_));
    return nextGsi_++;
}

void GsiRoutingTable::setMsi(uint32_t gsi, const pci::MsiMessage& message) {
    std::lock_guard lock(mutex_);
    const auto found = msiRoutes_.find(gsi);
    if (found != msiRoutes_.end() && found->second == message)
        return;
    msiRoutes_[gsi] = message;
    commit();
}

void GsiRoutingTable::commit() {
    std::vector<kvm_irq_routing_entry> entries;
    for (uint32_t gsi = 0; gsi < kIoApicPins; ++gsi) {
        entries.push_back(irqchipRoute(gsi, KVM_IRQCHIP_IOAPIC, gsi));
        if (gsi < kPicPins)
            entries.push_back(irqchipRoute(
                gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, gsi % 8));
    }
    for (const auto& [gsi, message] : msiRoutes_) {
        kvm_irq_routing_entry entry{};
        entry.gsi = gsi;
        entry.type = KVM_IRQ_ROUTING_MSI;
        entry.u.msi.address_lo = static_cast<uint32_t>(message.address);
        entry.u.msi.address_hi = static_cast<uint32_t>(message.address >> 32);
        entry.u.msi.data = message.data;
        entries.push_back(entry);
    }
    vm_.setGsiRouting(entries);
}

KvmMsiRouter::KvmMsiRouter(kvm::Vm& vm, GsiRoutingTable* routes, unsigned vectors,
                           std::string owner)
    : vm_(vm), routes_(routes), vectorCount_(vectors), owner_(std::move(owner)) {
    if (!routes_)
        return;
    for (unsigned index = 0; index < vectors; ++index) {
        auto vector = std::make_unique<Vector>();
        vector->gsi = routes_->allocate();
        // The irqfd may be bound before its GSI has a route: a signal then raises nothing.
        vm_.addIrqFd(vector->gsi, vector->trigger.fd());
        vectors_.push_back(std::move(vector));
    }
}

KvmMsiRouter::~KvmMsiRouter() {
    for (const auto& vector : vectors_) {
        try {
            vm_.removeIrqFd(vector->gsi, vector->trigger.fd());
        } catch (const kvm::KvmError& error) {
            log::get("kvm")->warn("{}: {}", owner_, error.what());
        }
    }
}

void KvmMsiRouter::route(unsigned vector, const pci::MsiMessage& message) {
    if (!routes_ || vector >= vectors_.size())
        return;
    try {
        routes_->setMsi(vectors_[vector]->gsi, message);
    } catch (const kvm::KvmError& error) {
        // A message KVM refuses (an address outside the APIC's window) only loses this vector's
        // interrupts; the guest chose it.
        log::get("kvm")->warn("{}: MSI-X vector {}: {}", owner_, vector, error.what());
    }
}

void KvmMsiRouter::send(unsigned vector, const pci::MsiMessage& message) {
    if (routes_) {
        if (vector < vectors_.size())
            vectors_[vector]->trigger.signal();
        return;
    }
    try {
        vm_.signalMsi(message.address, message.data);
    } catch (const kvm::KvmError& error) {
        log::get("kvm")->warn("{}: MSI-X vector {}: {}", owner_, vector, error.what());
    }
}

} // namespace kvmscope
