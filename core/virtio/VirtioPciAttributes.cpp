// The transport's registers, MSI-X table and queues as device attributes (docs/devices.md,
// "virtio"). Part of VirtioPciTransport (its header says what it is).
#include "virtio/VirtioPciTransport.h"

namespace kvmscope::virtio {

void VirtioPciTransport::describeDeviceState(StateVisitor& state) {
    state.group(kVirtioGroup, "virtio");
    state.readOnly("device status", AttrType::U8,
                   "2.1: 0 ACKNOWLEDGE, 1 DRIVER, 2 DRIVER_OK, 3 FEATURES_OK, 6 "
                   "DEVICE_NEEDS_RESET, 7 FAILED",
                   [this] { return uint64_t{status_}; });
    state.readOnly("device features", AttrType::U64, "the feature bits the device offers (6)",
                   [this] { return offeredFeatures(); });
    state.readOnly("driver features", AttrType::U64, "the feature bits the driver wrote",
                   [this] { return driverFeatures_; });
    state.readOnly("negotiated features", AttrType::U64,
                   "the feature bits in force, accepted with FEATURES_OK (0 before)",
                   [this] { return negotiatedFeatures_; });
    state.readOnly("config generation", AttrType::U8, "4.1.4.3: config_generation",
                   [this] { return uint64_t{configGeneration_}; });
    state.readOnly("config MSI-X vector", AttrType::U16,
                   "config_msix_vector: the vector of configuration changes (0xffff: none)",
                   [this] { return uint64_t{configMsixVector_}; });
    state.readOnly("queue select", AttrType::U16, "queue_select",
                   [this] { return uint64_t{queueSelect_}; });
    state.readOnly("ISR status", AttrType::U8,
                   "4.1.4.5: bit 0 queue interrupt, bit 1 configuration change (a read clears "
                   "it; used without MSI-X only)",
                   [this] { return uint64_t{isr_}; });
    state.readOnly("reset pending", AttrType::Bool,
                   "the driver wrote 0 to device_status while a request was in flight; the reset "
                   "completes with it",
                   [this] { return uint64_t{resetPending_}; });
    state.readOnlyBytes("needs-reset reason", "why the device last set DEVICE_NEEDS_RESET", [this] {
        return std::vector<uint8_t>(needsResetReason_.begin(), needsResetReason_.end());
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
        state.group(kMsixGroup, "MSI-X");
        state.readOnly("enabled", AttrType::Bool, "Message Control bit 15 (PCI 3.0, 6.8.2.3)",
                       [this] { return uint64_t{msix_->enabled()}; });
        state.readOnly("function masked", AttrType::Bool, "Message Control bit 14",
                       [this] { return uint64_t{msix_->functionMasked()}; });
        state.readOnly("vectors", AttrType::U16, "the table's entries",
                       [this] { return uint64_t{msix_->vectors()}; });
        state.readOnlyBytes("table", "the vector table as the guest reads it (16 bytes a vector)",
                            [this] {
                                std::vector<uint8_t> bytes(msix_->tableBytes());
                                msix_->readTable(0, bytes);
                                return bytes;
                            });
        state.readOnlyBytes("pending bits", "the PBA", [this] {
            std::vector<uint8_t> bytes(msix_->pbaBytes());
            msix_->readPba(0, bytes);
            return bytes;
        });
    }

    for (unsigned index = 0; index < queues_.size(); ++index) {
        Queue& queue = *queues_[index];
        state.group(kFirstQueueGroup + index, queueGroupNames_[index]);
        state.readOnly("size", AttrType::U16, "queue_size: entries (the maximum until set)",
                       [&queue] { return uint64_t{queue.size}; });
        state.readOnly("enabled", AttrType::Bool, "queue_enable",
                       [&queue] { return uint64_t{queue.enabled}; });
        state.readOnly("descriptor table", AttrType::U64, "queue_desc",
                       [&queue] { return queue.descriptorTable; });
        state.readOnly("driver area", AttrType::U64, "queue_driver: the available ring",
                       [&queue] { return queue.driverArea; });
        state.readOnly("device area", AttrType::U64, "queue_device: the used ring",
                       [&queue] { return queue.deviceArea; });
        state.readOnly("MSI-X vector", AttrType::U16, "queue_msix_vector (0xffff: none)",
                       [&queue] { return uint64_t{queue.msixVector}; });
        state.readOnly("last available index", AttrType::U16,
                       "chains the device has taken, modulo 2^16",
                       [&queue] { return queue.ring ? uint64_t{queue.ring->nextAvailable()} : 0; });
        state.readOnly("last used index", AttrType::U16,
                       "chains the device has returned, modulo 2^16",
                       [&queue] { return queue.ring ? uint64_t{queue.ring->nextUsed()} : 0; });
        state.readOnly("in flight", AttrType::U64, "chains taken and not yet returned",
                       [&queue] { return queue.inFlight; });
        state.readOnly("doorbell in kernel", AttrType::Bool,
                       "KVM signals the queue's eventfd for doorbell writes (KVM_IOEVENTFD); "
                       "otherwise they arrive as MMIO",
                       [&queue] { return uint64_t{queue.doorbellAt.has_value()}; });
    }
    device_->describe(state, kFirstVirtioDeviceGroup);
}

} // namespace kvmscope::virtio
