// The common configuration structure (VIRTIO 1.2, 4.1.4.3): feature negotiation, the status
// state machine, queue set-up and reset. Part of VirtioPciTransport (its header says what it is).
#include "log/Log.h"
#include "machine/GuestMemory.h"
#include "virtio/Ring.h"
#include "virtio/VirtioPciShared.h"
#include "virtio/VirtioPciTransport.h"

#include <fmt/format.h>
#include <linux/virtio_pci.h>

namespace kvmscope::virtio {
using namespace pci_transport;
namespace {

// DEVICE_NEEDS_RESET reasons past this many are logged at debug level only.
constexpr uint64_t kLoggedGuestErrors = 8;

// Fields of the common configuration structure (4.1.4.3) by offset, with their width.
struct CommonField {
    uint32_t offset;
    uint32_t size;
};
constexpr CommonField kCommonFields[] = {
    {VIRTIO_PCI_COMMON_DFSELECT, 4},  {VIRTIO_PCI_COMMON_DF, 4},
    {VIRTIO_PCI_COMMON_GFSELECT, 4},  {VIRTIO_PCI_COMMON_GF, 4},
    {VIRTIO_PCI_COMMON_MSIX, 2},      {VIRTIO_PCI_COMMON_NUMQ, 2},
    {VIRTIO_PCI_COMMON_STATUS, 1},    {VIRTIO_PCI_COMMON_CFGGENERATION, 1},
    {VIRTIO_PCI_COMMON_Q_SELECT, 2},  {VIRTIO_PCI_COMMON_Q_SIZE, 2},
    {VIRTIO_PCI_COMMON_Q_MSIX, 2},    {VIRTIO_PCI_COMMON_Q_ENABLE, 2},
    {VIRTIO_PCI_COMMON_Q_NOFF, 2},    {VIRTIO_PCI_COMMON_Q_DESCLO, 8},
    {VIRTIO_PCI_COMMON_Q_AVAILLO, 8}, {VIRTIO_PCI_COMMON_Q_USEDLO, 8},
};

} // namespace

// ---- common configuration (4.1.4.3) ----------------------------------------------------------

VirtioPciTransport::Queue* VirtioPciTransport::selectedQueue() {
    return queueSelect_ < queues_.size() ? queues_[queueSelect_].get() : nullptr;
}

const VirtioPciTransport::Queue* VirtioPciTransport::selectedQueue() const {
    return queueSelect_ < queues_.size() ? queues_[queueSelect_].get() : nullptr;
}

void VirtioPciTransport::commonImage(std::array<uint8_t, 64>& image) const {
    image.fill(0);
    const uint64_t offered = offeredFeatures();
    putLittleEndian(image, VIRTIO_PCI_COMMON_DFSELECT, deviceFeatureSelect_, 4);
    // Feature bits come 32 at a time; selectors past the second read 0 (no such bits).
    putLittleEndian(image, VIRTIO_PCI_COMMON_DF,
                    deviceFeatureSelect_ < 2 ? offered >> (32 * deviceFeatureSelect_) : 0, 4);
    putLittleEndian(image, VIRTIO_PCI_COMMON_GFSELECT, driverFeatureSelect_, 4);
    putLittleEndian(image, VIRTIO_PCI_COMMON_GF,
                    driverFeatureSelect_ < 2 ? driverFeatures_ >> (32 * driverFeatureSelect_) : 0,
                    4);
    putLittleEndian(image, VIRTIO_PCI_COMMON_MSIX, configMsixVector_, 2);
    putLittleEndian(image, VIRTIO_PCI_COMMON_NUMQ, queues_.size(), 2);
    putLittleEndian(image, VIRTIO_PCI_COMMON_STATUS, status_, 1);
    putLittleEndian(image, VIRTIO_PCI_COMMON_CFGGENERATION, configGeneration_, 1);
    putLittleEndian(image, VIRTIO_PCI_COMMON_Q_SELECT, queueSelect_, 2);
    // 4.1.4.3.1: a selector past the last queue reads queue_size 0 ("not available").
    if (const Queue* queue = selectedQueue()) {
        putLittleEndian(image, VIRTIO_PCI_COMMON_Q_SIZE, queue->size, 2);
        putLittleEndian(image, VIRTIO_PCI_COMMON_Q_MSIX, queue->msixVector, 2);
        putLittleEndian(image, VIRTIO_PCI_COMMON_Q_ENABLE, queue->enabled ? 1 : 0, 2);
        putLittleEndian(image, VIRTIO_PCI_COMMON_Q_NOFF, queueSelect_, 2);
        putLittleEndian(image, VIRTIO_PCI_COMMON_Q_DESCLO, queue->descriptorTable, 8);
        putLittleEndian(image, VIRTIO_PCI_COMMON_Q_AVAILLO, queue->driverArea, 8);
        putLittleEndian(image, VIRTIO_PCI_COMMON_Q_USEDLO, queue->deviceArea, 8);
    }
}

void VirtioPciTransport::readCommon(uint32_t offset, std::span<uint8_t> data) const {
    std::array<uint8_t, 64> image{};
    commonImage(image);
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = offset + i < kCommonSize ? image[offset + i] : 0;
}

void VirtioPciTransport::writeCommon(uint32_t offset, std::span<const uint8_t> data,
                                     std::vector<unsigned>& kicks) {
    // The driver uses each field's own width (4.1.3.1), but a 64-bit address may come as two
    // dwords: the written bytes are laid over the field's current value, which then takes the
    // whole.
    std::array<uint8_t, 64> image{};
    commonImage(image);
    for (size_t i = 0; i < data.size(); ++i)
        if (offset + i < kCommonSize)
            image[offset + i] = data[i];
    const uint32_t end = offset + static_cast<uint32_t>(data.size());
    bool known = false;
    for (const CommonField& field : kCommonFields)
        if (offset < field.offset + field.size && field.offset < end) {
            writeCommonField(field.offset, getLittleEndian(image, field.offset, field.size), kicks);
            known = true;
        }
    if (!known)
        ++ignoredWrites_; // queue_notif_config_data and queue_reset: features not offered
}

uint16_t VirtioPciTransport::acceptedVector(uint16_t vector) const {
    // 4.1.4.3.2/4.1.5.1.2: a vector the device cannot map reads back as NO_VECTOR.
    return msix_ && vector < msix_->vectors() ? vector : kNoVector;
}

void VirtioPciTransport::writeCommonField(uint32_t field, uint64_t value,
                                          std::vector<unsigned>& kicks) {
    Queue* queue = selectedQueue();
    switch (field) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        deviceFeatureSelect_ = static_cast<uint32_t>(value);
        return;
    case VIRTIO_PCI_COMMON_GFSELECT:
        driverFeatureSelect_ = static_cast<uint32_t>(value);
        return;
    case VIRTIO_PCI_COMMON_GF: {
        // 3.1.1: features are settled by FEATURES_OK; later writes change nothing.
        if ((status_ & kStatusFeaturesOk) || driverFeatureSelect_ >= 2) {
            ++ignoredWrites_;
            return;
        }
        const unsigned shift = 32 * driverFeatureSelect_;
        driverFeatures_ = (driverFeatures_ & ~(uint64_t{0xffff'ffff} << shift)) |
                          ((value & 0xffff'ffff) << shift);
        return;
    }
    case VIRTIO_PCI_COMMON_MSIX:
        configMsixVector_ = acceptedVector(static_cast<uint16_t>(value));
        return;
    case VIRTIO_PCI_COMMON_STATUS:
        writeStatus(static_cast<uint8_t>(value), kicks);
        return;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        queueSelect_ = static_cast<uint16_t>(value);
        return;
    case VIRTIO_PCI_COMMON_DF:
    case VIRTIO_PCI_COMMON_NUMQ:
    case VIRTIO_PCI_COMMON_CFGGENERATION:
    case VIRTIO_PCI_COMMON_Q_NOFF:
        ++ignoredWrites_; // read-only
        return;
    default:
        break;
    }
    if (!queue) {
        ++ignoredWrites_;
        return;
    }
    if (field == VIRTIO_PCI_COMMON_Q_MSIX) {
        queue->msixVector = acceptedVector(static_cast<uint16_t>(value));
        return;
    }
    if (field == VIRTIO_PCI_COMMON_Q_ENABLE) {
        // 4.1.4.3.2: the driver MUST NOT write 0 (queue_reset is the way, not offered here).
        if (value == 1 && !queue->enabled)
            enableQueue(queueSelect_);
        else if (value != 1)
            ++ignoredWrites_;
        return;
    }
    // 4.1.4.3.2: size and addresses are set before the queue is enabled.
    if (queue->enabled) {
        ++ignoredWrites_;
        return;
    }
    switch (field) {
    case VIRTIO_PCI_COMMON_Q_SIZE:
        queue->size = static_cast<uint16_t>(value);
        break;
    case VIRTIO_PCI_COMMON_Q_DESCLO:
        queue->descriptorTable = value;
        break;
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
        queue->driverArea = value;
        break;
    case VIRTIO_PCI_COMMON_Q_USEDLO:
        queue->deviceArea = value;
        break;
    default:
        ++ignoredWrites_;
        break;
    }
}

void VirtioPciTransport::writeStatus(uint8_t value, std::vector<unsigned>& kicks) {
    if (value == 0) {
        requestReset();
        return;
    }
    if (resetPending_) {
        ++ignoredWrites_; // 4.1.4.3.2: the driver waits for the reset to finish first
        return;
    }
    // DEVICE_NEEDS_RESET is the device's to set (2.1): the driver's copy of it is ignored.
    uint8_t next =
        static_cast<uint8_t>((value & ~kStatusNeedsReset) | (status_ & kStatusNeedsReset));
    if ((next & kStatusFeaturesOk) && !(status_ & kStatusFeaturesOk)) {
        // 3.1.1 step 5-6: the device refuses features it did not offer, and a driver without
        // VERSION_1 (6.1: a non-transitional device needs it); FEATURES_OK then reads back 0.
        const uint64_t offered = offeredFeatures();
        if ((driverFeatures_ & ~offered) != 0 || !(driverFeatures_ & kFeatureVersion1)) {
            next = static_cast<uint8_t>(next & ~kStatusFeaturesOk);
            log::get("virtio")->info("{}: FEATURES_OK refused for features {:#x} (offered {:#x}, "
                                     "VERSION_1 required)",
                                     name(), driverFeatures_, offered);
        } else {
            negotiatedFeatures_ = driverFeatures_;
        }
    }
    if ((status_ & kStatusFeaturesOk) && !(next & kStatusFeaturesOk)) {
        needsReset("the driver cleared FEATURES_OK without a reset");
        return;
    }
    const bool driverOkNow = (next & kStatusDriverOk) && !(status_ & kStatusDriverOk);
    status_ = next;
    if (driverOkNow) {
        if (!(status_ & kStatusFeaturesOk)) {
            needsReset("DRIVER_OK set before FEATURES_OK");
            return;
        }
        // Buffers made available before DRIVER_OK were not served (3.1.1): look now.
        for (unsigned index = 0; index < queues_.size(); ++index)
            if (queues_[index]->enabled)
                kicks.push_back(index);
    }
}

void VirtioPciTransport::enableQueue(unsigned index) {
    Queue& queue = *queues_[index];
    if (!(status_ & kStatusFeaturesOk)) {
        needsReset(fmt::format("queue {} enabled before FEATURES_OK", index));
        return;
    }
    if (queue.size > device_->maxQueueSize()) {
        needsReset(fmt::format("queue {}: size {} is larger than the maximum {}", index, queue.size,
                               device_->maxQueueSize()));
        return;
    }
    const QueueLayout layout{queue.size, queue.descriptorTable, queue.driverArea, queue.deviceArea};
    if (const std::string problem = checkQueueLayout(memory_, layout); !problem.empty()) {
        needsReset(fmt::format("queue {}: {}", index, problem));
        return;
    }
    queue.ring = std::make_unique<SplitQueue>(
        memory_, layout, (negotiatedFeatures_ & featureBit(ring::kFeatureIndirectDescriptors)) != 0,
        (negotiatedFeatures_ & featureBit(ring::kFeatureEventIndex)) != 0);
    queue.enabled = true;
    updateDoorbells();
}

void VirtioPciTransport::requestReset() {
    const bool busy =
        std::any_of(queues_.begin(), queues_.end(), [](const auto& queue) { return queue->busy; });
    if (busy) {
        resetPending_ = true; // the serving thread finishes it (serveQueue)
        return;
    }
    reset();
}

void VirtioPciTransport::reset() {
    // 4.1.4.3.2/2.4: everything the driver set goes, the queues with it. The MSI-X table is
    // the PCI function's and stays (only a function reset clears it).
    ++resets_;
    resetPending_ = false;
    status_ = 0;
    deviceFeatureSelect_ = 0;
    driverFeatureSelect_ = 0;
    driverFeatures_ = 0;
    negotiatedFeatures_ = 0;
    configMsixVector_ = kNoVector;
    queueSelect_ = 0;
    isr_ = 0;
    setIntxLocked(false);
    for (const auto& queue : queues_) {
        queue->enabled = false;
        queue->ring.reset();
        queue->size = device_->maxQueueSize();
        queue->msixVector = kNoVector;
        queue->descriptorTable = queue->driverArea = queue->deviceArea = 0;
    }
    updateDoorbells();
    device_->reset();
}

void VirtioPciTransport::needsReset(const std::string& reason) {
    ++guestErrors_;
    auto logger = log::get("virtio");
    if (guestErrors_ <= kLoggedGuestErrors)
        logger->warn("{}: device needs reset: {}", name(), reason);
    else
        logger->debug("{}: device needs reset: {}", name(), reason);
    if (status_ & kStatusNeedsReset)
        return;
    needsResetReason_ = reason;
    status_ |= kStatusNeedsReset;
    // 2.1.2: with DRIVER_OK set, the device tells the driver by a configuration change.
    if (status_ & kStatusDriverOk)
        signalConfigChange();
}

} // namespace kvmscope::virtio
