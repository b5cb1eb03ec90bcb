// The transport's registers, MSI-X table and queues as device attributes (docs/devices.md,
// "virtio"), and as the state a snapshot saves (docs/snapshots.md, "virtio-blk"): the registers
// and queue settings are read-only attributes that are saved, the split queues' indices are
// saved through the ring they belong to, and what follows from them (the rings, the MSI-X routes,
// the doorbells) is rebuilt by afterDeviceRestore. Part of VirtioPciTransport (its header says
// what it is).
#include "machine/GuestMemory.h"
#include "virtio/Ring.h"
#include "virtio/VirtioPciShared.h"
#include "virtio/VirtioPciTransport.h"

#include <fmt/format.h>
#include <linux/pci_regs.h>

namespace kvmscope::virtio {
using namespace pci_transport;

void VirtioPciTransport::describeDeviceState(StateVisitor& state) {
    // A vector the table does not have reads back as NO_VECTOR (acceptedVector): a saved state
    // that says otherwise is not one this function could have been in.
    const auto vectorCheck = FieldHooks::checkedBy([this](uint64_t vector) -> std::string {
        if (vector == kNoVector || (msix_ && vector < msix_->vectors()))
            return {};
        return fmt::format("vector {} is neither 0xffff nor one of the {} in the MSI-X table",
                           vector, msix_ ? msix_->vectors() : 0);
    });

    state.group(kVirtioGroup, "virtio");
    state.field("device status", status_, AttrAccess::Read,
                "2.1: 0 ACKNOWLEDGE, 1 DRIVER, 2 DRIVER_OK, 3 FEATURES_OK, 6 DEVICE_NEEDS_RESET, "
                "7 FAILED");
    state.readOnly("device features", AttrType::U64, "the feature bits the device offers (6)",
                   [this] { return offeredFeatures(); });
    state.field("device feature select", deviceFeatureSelect_, AttrAccess::Read,
                "device_feature_select: which 32 bits device_feature shows");
    state.field("driver feature select", driverFeatureSelect_, AttrAccess::Read,
                "driver_feature_select: which 32 bits driver_feature writes");
    state.field("driver features", driverFeatures_, AttrAccess::Read,
                "the feature bits the driver wrote");
    state.field("negotiated features", negotiatedFeatures_, AttrAccess::Read,
                "the feature bits in force, accepted with FEATURES_OK (0 before)",
                FieldHooks::checkedBy([this](uint64_t features) -> std::string {
                    if ((features & ~offeredFeatures()) == 0)
                        return {};
                    return fmt::format("features {:#x} were never offered (the device offers "
                                       "{:#x})",
                                       features, offeredFeatures());
                }));
    state.field("config generation", configGeneration_, AttrAccess::Read,
                "4.1.4.3: config_generation");
    state.field("config MSI-X vector", configMsixVector_, AttrAccess::Read,
                "config_msix_vector: the vector of configuration changes (0xffff: none)",
                vectorCheck);
    state.field("queue select", queueSelect_, AttrAccess::Read, "queue_select");
    state.field("ISR status", isr_, AttrAccess::Read,
                "4.1.4.5: bit 0 queue interrupt, bit 1 configuration change (a read clears it; "
                "used without MSI-X only)");
    // Never saved set: a save holds the requests first, and the last one to finish completes
    // the reset.
    state.readOnly("reset pending", AttrType::Bool,
                   "the driver wrote 0 to device_status while a request was in flight; the reset "
                   "completes with it",
                   [this] { return uint64_t{resetPending_}; });
    state.computedBytes(
        {"needs-reset reason", AttrType::Bytes, AttrAccess::Read,
         "why the device last set DEVICE_NEEDS_RESET", StateUse::ShownAndSaved},
        [this] { return std::vector<uint8_t>(needsResetReason_.begin(), needsResetReason_.end()); },
        [this](std::span<const uint8_t> bytes) {
            needsResetReason_.assign(bytes.begin(), bytes.end());
            return std::string();
        });
    state.statistic("notifications", notifications_,
                    "doorbell writes that arrived as MMIO (those KVM takes are not seen here)");
    state.statistic("interrupts", interrupts_, "MSI-X messages sent and INTx# assertions");
    state.statistic("guest errors", guestErrors_,
                    "rule breaks by the driver that set DEVICE_NEEDS_RESET");
    state.statistic("ignored writes", ignoredWrites_,
                    "writes to read-only registers or at a time the specification forbids");
    state.statistic("resets", resets_, "device resets (device_status written 0)");

    if (msix_) {
        // Enabled and function masked are Message Control's bits, saved with the configuration
        // space; the table and the PBA are saved here, as the guest reads them.
        state.group(kMsixGroup, "MSI-X");
        state.readOnly("enabled", AttrType::Bool, "Message Control bit 15 (PCI 3.0, 6.8.2.3)",
                       [this] { return uint64_t{msix_->enabled()}; });
        state.readOnly("function masked", AttrType::Bool, "Message Control bit 14",
                       [this] { return uint64_t{msix_->functionMasked()}; });
        state.readOnly("vectors", AttrType::U16, "the table's entries",
                       [this] { return uint64_t{msix_->vectors()}; });
        state.computedBytes(
            {"table", AttrType::Bytes, AttrAccess::Read,
             "the vector table as the guest reads it (16 bytes a vector)", StateUse::ShownAndSaved},
            [this] {
                std::vector<uint8_t> bytes(msix_->tableBytes());
                msix_->readTable(0, bytes);
                return bytes;
            },
            [this](std::span<const uint8_t> bytes) -> std::string {
                if (bytes.size() != msix_->tableBytes())
                    return fmt::format("{} bytes, where the table of {} vectors has {}",
                                       bytes.size(), msix_->vectors(), msix_->tableBytes());
                msix_->writeTable(0, bytes); // every field as written, nothing sent
                return {};
            });
        state.computedBytes(
            {"pending bits", AttrType::Bytes, AttrAccess::Read, "the PBA", StateUse::ShownAndSaved},
            [this] {
                std::vector<uint8_t> bytes(msix_->pbaBytes());
                msix_->readPba(0, bytes);
                return bytes;
            },
            [this](std::span<const uint8_t> bytes) -> std::string {
                if (bytes.size() != msix_->pbaBytes())
                    return fmt::format("{} bytes, where the PBA of {} vectors has {}", bytes.size(),
                                       msix_->vectors(), msix_->pbaBytes());
                msix_->restorePba(bytes);
                return {};
            });
    }

    for (unsigned index = 0; index < queues_.size(); ++index) {
        Queue& queue = *queues_[index];
        state.group(kFirstQueueGroup + index, queueGroupNames_[index]);
        state.field("size", queue.size, AttrAccess::Read,
                    "queue_size: entries (the maximum until set)");
        state.field("enabled", queue.enabled, AttrAccess::Read, "queue_enable");
        state.field("descriptor table", queue.descriptorTable, AttrAccess::Read, "queue_desc");
        state.field("driver area", queue.driverArea, AttrAccess::Read,
                    "queue_driver: the available ring");
        state.field("device area", queue.deviceArea, AttrAccess::Read,
                    "queue_device: the used ring");
        state.field("MSI-X vector", queue.msixVector, AttrAccess::Read,
                    "queue_msix_vector (0xffff: none)", vectorCheck);
        // The ring's own indices: saved from the ring, and restored into the queue until
        // afterDeviceRestore builds the ring with them.
        const auto ringIndex = [&state, &queue](std::string_view name, std::string_view description,
                                                uint16_t (SplitQueue::*get)() const,
                                                uint16_t Queue::*restored) {
            state.computed(
                {name, AttrType::U16, AttrAccess::Read, description, StateUse::ShownAndSaved},
                [&queue, get] { return queue.ring ? uint64_t{((*queue.ring).*get)()} : 0; },
                [&queue, restored](uint64_t value) {
                    queue.*restored = static_cast<uint16_t>(value);
                });
        };
        ringIndex("last available index", "chains the device has taken, modulo 2^16",
                  &SplitQueue::nextAvailable, &Queue::restoredNextAvailable);
        ringIndex("last used index", "chains the device has returned, modulo 2^16",
                  &SplitQueue::nextUsed, &Queue::restoredNextUsed);
        ringIndex("last signalled used index",
                  "the used index when the device last decided on an interrupt (2.7.10: "
                  "compared with used_event under VIRTIO_RING_F_EVENT_IDX)",
                  &SplitQueue::lastSignalledUsed, &Queue::restoredLastSignalledUsed);
        state.readOnly("in flight", AttrType::U64, "chains taken and not yet returned",
                       [&queue] { return queue.inFlight; });
        state.readOnly("doorbell in kernel", AttrType::Bool,
                       "KVM signals the queue's eventfd for doorbell writes (KVM_IOEVENTFD); "
                       "otherwise they arrive as MMIO",
                       [&queue] { return uint64_t{queue.doorbellAt.has_value()}; });
    }
    device_->describe(state, kFirstVirtioDeviceGroup);
}

void VirtioPciTransport::afterDeviceRestore() {
    // Message Control's bits came back with the configuration space.
    if (msix_) {
        const uint16_t control = config().get16(msixCapability_ + PCI_MSIX_FLAGS);
        msix_->setControl((control & PCI_MSIX_FLAGS_ENABLE) != 0,
                          (control & PCI_MSIX_FLAGS_MASKALL) != 0);
        // The kernel's routes follow the table (a new VM has none): every vector, as a table
        // write would route it. Nothing is sent: pending vectors stay pending until unmasked.
        if (wiring_.msi)
            for (unsigned vector = 0; vector < msix_->vectors(); ++vector)
                wiring_.msi->route(vector, msix_->message(vector));
    }
    // The rings of the enabled queues, as enableQueue built them, at the saved indices. The
    // checks are enableQueue's: a saved state that fails them is not one the device could
    // have been in.
    for (unsigned index = 0; index < queues_.size(); ++index) {
        Queue& queue = *queues_[index];
        queue.ring.reset();
        if (!queue.enabled)
            continue;
        const QueueLayout layout{queue.size, queue.descriptorTable, queue.driverArea,
                                 queue.deviceArea};
        std::string problem = checkQueueLayout(memory_, layout);
        if (problem.empty() && queue.size > device_->maxQueueSize())
            problem = fmt::format("size {} is larger than the maximum {}", queue.size,
                                  device_->maxQueueSize());
        if (problem.empty() && !(negotiatedFeatures_ & kFeatureVersion1))
            problem = "enabled without VIRTIO_F_VERSION_1 negotiated";
        if (!problem.empty())
            throw AttributeError(
                fmt::format("{}: cannot restore queue {}: {}", name(), index, problem));
        queue.ring = std::make_unique<SplitQueue>(
            memory_, layout,
            (negotiatedFeatures_ & featureBit(ring::kFeatureIndirectDescriptors)) != 0,
            (negotiatedFeatures_ & featureBit(ring::kFeatureEventIndex)) != 0);
        queue.ring->restoreIndices(queue.restoredNextAvailable, queue.restoredNextUsed,
                                   queue.restoredLastSignalledUsed);
    }
    resetPending_ = false;
    // Where the BAR is decoded already; otherwise afterBarMove does it when it is.
    updateDoorbells();
}

} // namespace kvmscope::virtio
