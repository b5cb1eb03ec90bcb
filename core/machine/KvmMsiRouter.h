#pragma once
// MSI-X messages of PCI functions delivered by KVM (pci/MsiRouter.h), in one of two ways:
//
// * With KVM_CAP_IRQFD and KVM_CAP_IRQ_ROUTING: each vector has a GSI of its own, routed to the
//   vector's message (KVM_SET_GSI_ROUTING, an MSI route), and an eventfd bound to that GSI
//   (KVM_IRQFD). Sending is a write to the eventfd: no ioctl on the I/O thread, and KVM injects
//   the interrupt itself. The route follows the guest's table entry.
// * Otherwise, with KVM_CAP_SIGNAL_MSI: each send is one KVM_SIGNAL_MSI with the message.
//
// GsiRoutingTable is the VM's routing table, shared by every router: KVM_SET_GSI_ROUTING
// replaces the whole table, so it keeps the irqchip's pin routes (KVM's defaults: GSIs 0-15 to
// the PIC and the I/O APIC pin of the same number, 16-23 to the I/O APIC alone; api.rst 4.52) and
// adds the MSI routes after them.
#include "common/EventFd.h"
#include "kvm/Vm.h"
#include "pci/MsiRouter.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace kvmscope {

class GsiRoutingTable {
public:
    static constexpr uint32_t kIoApicPins = 24;
    static constexpr uint32_t kPicPins = 16;
    static constexpr uint32_t kFirstMsiGsi = kIoApicPins;

    explicit GsiRoutingTable(kvm::Vm& vm);

    // A GSI of its own for an MSI route; throws Error once the VM's routes are used up.
    uint32_t allocate();
    // Routes `gsi` (from allocate) to `message`, telling KVM when it changed.
    void setMsi(uint32_t gsi, const pci::MsiMessage& message);

private:
    void commit(); // with the lock held

    kvm::Vm& vm_;
    std::mutex mutex_;
    uint32_t nextGsi_ = kFirstMsiGsi;
    uint32_t maxRoutes_;
    std::map<uint32_t, pci::MsiMessage> msiRoutes_;
};

class KvmMsiRouter final : public pci::MsiRouter {
public:
    // Through irqfds and `routes` when given, else with KVM_SIGNAL_MSI.
    KvmMsiRouter(kvm::Vm& vm, GsiRoutingTable* routes, unsigned vectors, std::string owner);
    ~KvmMsiRouter() override;
    KvmMsiRouter(const KvmMsiRouter&) = delete;
    KvmMsiRouter& operator=(const KvmMsiRouter&) = delete;

    unsigned vectors() const override { return vectorCount_; }
    void route(unsigned vector, const pci::MsiMessage& message) override;
    void send(unsigned vector, const pci::MsiMessage& message) override;
    bool usesIrqFds() const { return routes_ != nullptr; }

private:
    struct Vector {
        uint32_t gsi = 0;
        EventFd trigger;
    };

    kvm::Vm& vm_;
    GsiRoutingTable* routes_;
    unsigned vectorCount_;
    std::string owner_;
    std::vector<std::unique_ptr<Vector>> vectors_; // irqfd mode only
};

} // namespace kvmscope
