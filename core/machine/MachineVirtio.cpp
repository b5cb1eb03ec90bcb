// The virtio devices of a machine (docs/devices.md, "virtio"): a virtio-blk PCI function for each
// --disk with the virtio interface, device i at 00:(kPciFirstVirtioSlot + i).0, all served by one
// I/O thread. What KVM offers decides how doorbells and interrupts travel; each path has a
// fallback that works without it:
//  * doorbells: KVM_IOEVENTFD (KVM_CAP_IOEVENTFD), else MMIO exits that signal the same eventfd;
//  * MSI-X: KVM_IRQFD on GSI routes (KVM_CAP_IRQFD, KVM_CAP_IRQ_ROUTING), else KVM_SIGNAL_MSI
//    (KVM_CAP_SIGNAL_MSI), else no MSI-X capability at all and INTx# only.
#include "common/Error.h"
#include "common/IoThread.h"
#include "kvm/KvmError.h"
#include "log/Log.h"
#include "machine/KvmMsiRouter.h"
#include "machine/Machine.h"
#include "pci/PciBus.h"
#include "storage/DiskImage.h"
#include "virtio/VirtioBlockDevice.h"
#include "virtio/VirtioPciTransport.h"

#include <chrono>
#include <fmt/format.h>

namespace kvmscope {
namespace {

// Doorbells KVM takes: a 16-bit write at the queue's notify address signals its eventfd.
class KvmDoorbells final : public virtio::DoorbellWiring {
public:
    explicit KvmDoorbells(kvm::Vm& vm) : vm_(vm) {}

    bool attach(uint64_t address, uint32_t length, int eventFd) override {
        try {
            vm_.addIoEvent({kvm::Vm::IoEventSpace::Mmio, address, length, eventFd, std::nullopt});
            return true;
        } catch (const kvm::KvmError& error) {
            log::get("virtio")->warn("doorbell at {:#x} stays an MMIO exit: {}", address,
                                     error.what());
            return false;
        }
    }
    void detach(uint64_t address, uint32_t length, int eventFd) override {
        try {
            vm_.removeIoEvent(
                {kvm::Vm::IoEventSpace::Mmio, address, length, eventFd, std::nullopt});
        } catch (const kvm::KvmError& error) {
            log::get("virtio")->warn("doorbell at {:#x}: {}", address, error.what());
        }
    }

private:
    kvm::Vm& vm_;
};

} // namespace

struct Machine::Virtio {
    std::unique_ptr<IoThread> ioThread;
    std::unique_ptr<KvmDoorbells> doorbells;            // null without KVM_CAP_IOEVENTFD
    std::unique_ptr<GsiRoutingTable> routes;            // null without irqfd routing
    bool signalMsi = false;                             // KVM_SIGNAL_MSI instead
    std::vector<std::unique_ptr<KvmMsiRouter>> msi;     // one per function
    std::vector<virtio::VirtioPciTransport*> functions; // in Machine::devices_, which outlives this

    ~Virtio() {
        // The functions outlive the thread and the routers: they let go of both first.
        for (virtio::VirtioPciTransport* function : functions)
            function->disconnect();
    }
};

void Machine::VirtioDeleter::operator()(Virtio* virtio) const {
    delete virtio;
}

void Machine::createVirtioDevices() {
    std::vector<size_t> disks; // indices into config_.disks and diskImages_
    for (size_t index = 0; index < config_.disks.size(); ++index)
        if (config_.disks[index].interface == storage::DiskInterface::Virtio &&
            config_.disks[index].media == storage::DiskMedia::Disk)
            disks.push_back(index);
    if (disks.empty())
        return;

    virtio_.reset(new Virtio);
    virtio_->ioThread = std::make_unique<IoThread>("kvmscope-virtio");
    auto logger = log::get("virtio");
    if (vm_.checkExtension(KVM_CAP_IOEVENTFD) > 0)
        virtio_->doorbells = std::make_unique<KvmDoorbells>(vm_);
    else
        logger->info("no KVM_CAP_IOEVENTFD: virtio doorbells are MMIO exits");
    if (vm_.checkExtension(KVM_CAP_IRQFD) > 0 && vm_.checkExtension(KVM_CAP_IRQ_ROUTING) > 0)
        virtio_->routes = std::make_unique<GsiRoutingTable>(vm_);
    else if (vm_.checkExtension(KVM_CAP_SIGNAL_MSI) > 0)
        virtio_->signalMsi = true;
    else
        logger->info("neither KVM_CAP_IRQFD with KVM_CAP_IRQ_ROUTING nor KVM_CAP_SIGNAL_MSI: "
                     "virtio devices interrupt through INTx# only");

    for (size_t index = 0; index < disks.size(); ++index) {
        const storage::DiskSpec& disk = config_.disks[disks[index]];
        auto block =
            std::make_unique<virtio::VirtioBlockDevice>(*memory_, diskImages_[disks[index]]);
        const uint64_t sectors = block->image().sectors();
        virtio::VirtioPciTransport::Wiring wiring;
        wiring.ioThread = virtio_->ioThread.get();
        wiring.doorbells = virtio_->doorbells.get();
        if (virtio_->routes || virtio_->signalMsi) {
            // A vector per queue and one for configuration changes.
            virtio_->msi.push_back(std::make_unique<KvmMsiRouter>(
                vm_, virtio_->routes.get(), block->queueCount() + 1, block->name()));
            wiring.msi = virtio_->msi.back().get();
        }
        auto function =
            std::make_unique<virtio::VirtioPciTransport>(std::move(block), *memory_, wiring);
        pciBus_->add(pc::kPciFirstVirtioSlot + static_cast<unsigned>(index), 0, *function);
        virtio_->functions.push_back(function.get());
        logger->info("{}: {} ({} sectors{})", function->name(), disk.path, sectors,
                     disk.readOnly ? ", read-only" : "");
        devices_.push_back(std::move(function));
    }
}

void Machine::holdDeviceRequests(int timeoutMs) {
    if (!virtio_)
        return;
    const auto timeout = std::chrono::milliseconds(timeoutMs);
    for (size_t index = 0; index < virtio_->functions.size(); ++index) {
        virtio::VirtioPciTransport* function = virtio_->functions[index];
        if (!function->holdRequests(timeout)) {
            // The holds taken so far go, this one with them: the machine runs on as before.
            for (size_t held = 0; held <= index; ++held)
                virtio_->functions[held]->releaseRequests();
            throw Error(fmt::format("{}: a request it took from its queue did not complete "
                                    "within {} ms",
                                    function->name(), timeoutMs));
        }
    }
}

void Machine::releaseDeviceRequests() {
    if (!virtio_)
        return;
    for (virtio::VirtioPciTransport* function : virtio_->functions)
        function->releaseRequests();
}

} // namespace kvmscope
