#include "virtio/VirtioPciTransport.h"

#include "common/IoThread.h"
#include "log/Log.h"
#include "machine/GuestMemory.h"
#include "virtio/Ring.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <fmt/format.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <utility>

namespace kvmscope::virtio {
namespace {

// DEVICE_NEEDS_RESET reasons past this many are logged at debug level only.
constexpr uint64_t kLoggedGuestErrors = 8;

// Device status bits (2.1).
constexpr uint8_t kStatusDriverOk = VIRTIO_CONFIG_S_DRIVER_OK;
constexpr uint8_t kStatusFeaturesOk = VIRTIO_CONFIG_S_FEATURES_OK;
constexpr uint8_t kStatusNeedsReset = VIRTIO_CONFIG_S_NEEDS_RESET;
constexpr uint8_t kStatusFailed = VIRTIO_CONFIG_S_FAILED;

constexpr uint64_t bit(unsigned feature) {
    return uint64_t{1} << feature;
}
constexpr uint64_t kFeatureVersion1 = bit(VIRTIO_F_VERSION_1);

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

void put(std::span<uint8_t> bytes, uint32_t offset, uint64_t value, uint32_t size) {
    for (uint32_t i = 0; i < size; ++i)
        bytes[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

uint64_t get(std::span<const uint8_t> bytes, uint32_t offset, uint32_t size) {
    uint64_t value = 0;
    for (uint32_t i = 0; i < size; ++i)
        value |= uint64_t{bytes[offset + i]} << (8 * i);
    return value;
}

// A capability's ID and next pointer, which PciCapabilityList writes (PCI 3.0, 6.7).
constexpr unsigned kCapabilityHeader = 2;
// INTA#, the pin a single-function device uses (PCI 3.0, 6.2.4).
constexpr uint8_t kInterruptPinIntA = 1;

// The body of a struct virtio_pci_cap after its ID and next pointer (4.1.4): cap_len, cfg_type,
// bar, id, two bytes of padding, offset and length; `extra` follows (notify_off_multiplier or
// pci_cfg_data).
std::vector<uint8_t> vendorCapabilityBody(uint8_t type, uint8_t bar, uint32_t offset,
                                          uint32_t length, uint32_t extra, bool hasExtra) {
    const uint8_t capLength = hasExtra ? sizeof(virtio_pci_notify_cap) : sizeof(virtio_pci_cap);
    std::vector<uint8_t> body(capLength - kCapabilityHeader, 0);
    body[VIRTIO_PCI_CAP_LEN - kCapabilityHeader] = capLength;
    body[VIRTIO_PCI_CAP_CFG_TYPE - kCapabilityHeader] = type;
    body[VIRTIO_PCI_CAP_BAR - kCapabilityHeader] = bar;
    put(body, VIRTIO_PCI_CAP_OFFSET - kCapabilityHeader, offset, 4);
    put(body, VIRTIO_PCI_CAP_LENGTH - kCapabilityHeader, length, 4);
    if (hasExtra)
        put(body, sizeof(virtio_pci_cap) - kCapabilityHeader, extra, 4);
    return body;
}

} // namespace

VirtioPciTransport::VirtioPciTransport(std::unique_ptr<VirtioDevice> device, GuestMemory& memory,
                                       const Wiring& wiring)
    : PciFunction(device->name(),
                  pci::PciIdentity{
                      kVendorId, static_cast<uint16_t>(kModernDeviceIdBase + device->deviceId()),
                      device->pciClassCode(), kRevision, pci::kHeaderTypeNormal, kVendorId,
                      static_cast<uint16_t>(kModernDeviceIdBase + device->deviceId()),
                      kInterruptPinIntA}),
      device_(std::move(device)), memory_(memory), wiring_(wiring) {
    const unsigned queueCount = device_->queueCount();
    // The notify area holds a doorbell per queue, and each queue has an attribute group below
    // the device's.
    if (queueCount == 0 || queueCount * kNotifyOffMultiplier > kMsixTableOffset - kNotifyOffset ||
        kFirstQueueGroup + queueCount > kFirstVirtioDeviceGroup)
        throw Error(fmt::format("{}: {} queues, 1 to {} allowed", device_->name(), queueCount,
                                kFirstVirtioDeviceGroup - kFirstQueueGroup));
    if (device_->configSize() > kDeviceConfigMaxSize)
        throw Error(fmt::format("{}: {} bytes of configuration, at most {}", device_->name(),
                                device_->configSize(), kDeviceConfigMaxSize));
    for (unsigned index = 0; index < queueCount; ++index) {
        auto queue = std::make_unique<Queue>();
        queue->size = device_->maxQueueSize();
        queues_.push_back(std::move(queue));
        queueGroupNames_.push_back(fmt::format("queue {}", index));
    }

    addBar(kBar, {pci::BarKind::Memory64, kBarSize, true});
    // 4.1.4: one capability per structure, each naming the BAR, the offset and the length.
    const auto addVendor = [this](uint8_t type, uint32_t offset, uint32_t length) {
        addCapability(pci::kCapabilityIdVendorSpecific,
                      vendorCapabilityBody(type, kBar, offset, length, 0, false));
    };
    addVendor(VIRTIO_PCI_CAP_COMMON_CFG, kCommonOffset, kCommonSize);
    addCapability(pci::kCapabilityIdVendorSpecific,
                  vendorCapabilityBody(VIRTIO_PCI_CAP_NOTIFY_CFG, kBar, kNotifyOffset,
                                       queueCount * kNotifyOffMultiplier, kNotifyOffMultiplier,
                                       true));
    addVendor(VIRTIO_PCI_CAP_ISR_CFG, kIsrOffset, kIsrSize);
    if (device_->configSize() > 0)
        addVendor(VIRTIO_PCI_CAP_DEVICE_CFG, kDeviceConfigOffset, device_->configSize());
    // 4.1.4.9: bar, offset, length and pci_cfg_data are the driver's to write.
    std::vector<uint8_t> windowWritable(sizeof(virtio_pci_cfg_cap) - kCapabilityHeader, 0);
    windowWritable[VIRTIO_PCI_CAP_BAR - kCapabilityHeader] = 0xff;
    std::fill(windowWritable.begin() + (VIRTIO_PCI_CAP_OFFSET - kCapabilityHeader),
              windowWritable.end(), uint8_t{0xff});
    windowCapability_ = addCapability(
        pci::kCapabilityIdVendorSpecific,
        vendorCapabilityBody(VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, 0, true), windowWritable);

    // MSI-X (PCI 3.0, 6.8.2): a vector per queue and one for configuration changes.
    if (wiring_.msi) {
        const unsigned vectors = queueCount + 1;
        if (vectors > wiring_.msi->vectors() ||
            vectors * pci::MsixTable::kEntrySize > kMsixAreaSize)
            throw Error(fmt::format("{}: {} MSI-X vectors wanted, {} available", device_->name(),
                                    vectors, wiring_.msi->vectors()));
        msix_ = std::make_unique<pci::MsixTable>(vectors);
        constexpr unsigned kMsixCapabilitySize = PCI_MSIX_PBA + 4;
        std::vector<uint8_t> body(kMsixCapabilitySize - kCapabilityHeader, 0);
        // Message Control's Table Size is N - 1; table and PBA give their offset and BAR.
        put(body, PCI_MSIX_FLAGS - kCapabilityHeader, vectors - 1, 2);
        put(body, PCI_MSIX_TABLE - kCapabilityHeader, kMsixTableOffset | kBar, 4);
        put(body, PCI_MSIX_PBA - kCapabilityHeader, kMsixPbaOffset | kBar, 4);
        // Only MSI-X Enable and Function Mask are software's (6.8.2.3).
        std::vector<uint8_t> writable(body.size(), 0);
        put(writable, PCI_MSIX_FLAGS - kCapabilityHeader,
            PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
        msixCapability_ = addCapability(pci::kCapabilityIdMsix, body, writable);
    }

    if (wiring_.ioThread)
        for (unsigned index = 0; index < queueCount; ++index) {
            Queue& queue = *queues_[index];
            wiring_.ioThread->watch(queue.doorbell.fd(), [this, index] {
                queues_[index]->doorbell.drain();
                serveQueue(index);
            });
        }
}

VirtioPciTransport::~VirtioPciTransport() {
    disconnect();
}

void VirtioPciTransport::disconnect() {
    IoThread* ioThread = nullptr;
    {
        std::lock_guard lock(stateMutex());
        ioThread = std::exchange(wiring_.ioThread, nullptr);
    }
    // Without the lock: unwatch waits for a handler that may be taking it.
    if (ioThread)
        for (const auto& queue : queues_)
            ioThread->unwatch(queue->doorbell.fd());
    std::lock_guard lock(stateMutex());
    if (wiring_.doorbells)
        for (const auto& queue : queues_)
            if (queue->doorbellAt)
                wiring_.doorbells->detach(*queue->doorbellAt, kDoorbellWriteSize,
                                          queue->doorbell.fd());
    for (const auto& queue : queues_)
        queue->doorbellAt.reset();
    wiring_.doorbells = nullptr;
    wiring_.msi = nullptr;
    // Served no more: without the I/O thread a doorbell would be served on the vcpu's thread.
    disconnected_ = true;
}

uint8_t VirtioPciTransport::deviceStatus() const {
    std::lock_guard lock(stateMutex());
    return status_;
}

uint64_t VirtioPciTransport::negotiatedFeatures() const {
    std::lock_guard lock(stateMutex());
    return negotiatedFeatures_;
}

std::string VirtioPciTransport::needsResetReason() const {
    std::lock_guard lock(stateMutex());
    return needsResetReason_;
}

bool VirtioPciTransport::doorbellInKernel(unsigned queue) const {
    std::lock_guard lock(stateMutex());
    return queue < queues_.size() && queues_[queue]->doorbellAt.has_value();
}

uint64_t VirtioPciTransport::offeredFeatures() const {
    return device_->features() | kFeatureVersion1;
}

// ---- BAR accesses -------------------------------------------------------------------------

void VirtioPciTransport::barRead(unsigned index, uint64_t offset, std::span<uint8_t> data) {
    std::lock_guard lock(stateMutex());
    if (index != kBar) {
        std::fill(data.begin(), data.end(), 0xff);
        return;
    }
    readRegisters(offset, data);
}

void VirtioPciTransport::barWrite(unsigned index, uint64_t offset, std::span<const uint8_t> data) {
    std::vector<unsigned> kicks;
    {
        std::lock_guard lock(stateMutex());
        if (index != kBar)
            return;
        kicks = writeRegisters(offset, data);
    }
    for (const unsigned queue : kicks)
        ringDoorbell(queue);
}

void VirtioPciTransport::readRegisters(uint64_t offset, std::span<uint8_t> data) {
    std::fill(data.begin(), data.end(), 0);
    const uint64_t end = offset + data.size();
    if (end <= kCommonOffset + kCommonSize) {
        readCommon(static_cast<uint32_t>(offset - kCommonOffset), data);
    } else if (offset >= kIsrOffset && end <= kDeviceConfigOffset) {
        // 4.1.4.5.1: reading the ISR status clears it and deasserts INTx#.
        if (offset == kIsrOffset) {
            data[0] = isr_;
            isr_ = 0;
            setIntxLocked(false);
        }
    } else if (offset >= kDeviceConfigOffset && end <= kDeviceConfigOffset + kDeviceConfigMaxSize) {
        const auto at = static_cast<uint32_t>(offset - kDeviceConfigOffset);
        if (at + data.size() <= device_->configSize())
            device_->readConfig(at, data);
    } else if (msix_ && offset >= kMsixTableOffset && end <= kMsixTableOffset + kMsixAreaSize) {
        msix_->readTable(offset - kMsixTableOffset, data);
    } else if (msix_ && offset >= kMsixPbaOffset && end <= kMsixPbaOffset + kMsixAreaSize) {
        msix_->readPba(offset - kMsixPbaOffset, data);
    }
    // The notify area and the gaps read 0.
}

std::vector<unsigned> VirtioPciTransport::writeRegisters(uint64_t offset,
                                                         std::span<const uint8_t> data) {
    std::vector<unsigned> kicks;
    const uint64_t end = offset + data.size();
    if (end <= kCommonOffset + kCommonSize) {
        writeCommon(static_cast<uint32_t>(offset - kCommonOffset), data, kicks);
    } else if (offset >= kDeviceConfigOffset && end <= kDeviceConfigOffset + kDeviceConfigMaxSize) {
        const auto at = static_cast<uint32_t>(offset - kDeviceConfigOffset);
        if (at + data.size() <= device_->configSize())
            device_->writeConfig(at, data);
        else
            ++ignoredWrites_;
    } else if (offset >= kNotifyOffset && offset < kMsixTableOffset) {
        // 4.1.4.4: the doorbell at queue_notify_off * notify_off_multiplier names its queue
        // (the value written is the queue index too, without VIRTIO_F_NOTIFICATION_DATA).
        const auto index = static_cast<unsigned>((offset - kNotifyOffset) / kNotifyOffMultiplier);
        if (index < queues_.size()) {
            ++notifications_;
            kicks.push_back(index);
        } else {
            ++ignoredWrites_;
        }
    } else if (msix_ && offset >= kMsixTableOffset && end <= kMsixTableOffset + kMsixAreaSize) {
        if (const auto vector = msix_->writeTable(offset - kMsixTableOffset, data)) {
            if (wiring_.msi)
                wiring_.msi->route(*vector, msix_->message(*vector));
            // 6.8.3.4: a vector unmasked with its pending bit set sends its message now.
            for (const unsigned deliverable : msix_->takeDeliverable())
                sendMsi(deliverable);
        }
    } else {
        ++ignoredWrites_; // the ISR status and the PBA are read-only, the rest is empty
    }
    return kicks;
}

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
    put(image, VIRTIO_PCI_COMMON_DFSELECT, deviceFeatureSelect_, 4);
    // Feature bits come 32 at a time; selectors past the second read 0 (no such bits).
    put(image, VIRTIO_PCI_COMMON_DF,
        deviceFeatureSelect_ < 2 ? offered >> (32 * deviceFeatureSelect_) : 0, 4);
    put(image, VIRTIO_PCI_COMMON_GFSELECT, driverFeatureSelect_, 4);
    put(image, VIRTIO_PCI_COMMON_GF,
        driverFeatureSelect_ < 2 ? driverFeatures_ >> (32 * driverFeatureSelect_) : 0, 4);
    put(image, VIRTIO_PCI_COMMON_MSIX, configMsixVector_, 2);
    put(image, VIRTIO_PCI_COMMON_NUMQ, queues_.size(), 2);
    put(image, VIRTIO_PCI_COMMON_STATUS, status_, 1);
    put(image, VIRTIO_PCI_COMMON_CFGGENERATION, configGeneration_, 1);
    put(image, VIRTIO_PCI_COMMON_Q_SELECT, queueSelect_, 2);
    // 4.1.4.3.1: a selector past the last queue reads queue_size 0 ("not available").
    if (const Queue* queue = selectedQueue()) {
        put(image, VIRTIO_PCI_COMMON_Q_SIZE, queue->size, 2);
        put(image, VIRTIO_PCI_COMMON_Q_MSIX, queue->msixVector, 2);
        put(image, VIRTIO_PCI_COMMON_Q_ENABLE, queue->enabled ? 1 : 0, 2);
        put(image, VIRTIO_PCI_COMMON_Q_NOFF, queueSelect_, 2);
        put(image, VIRTIO_PCI_COMMON_Q_DESCLO, queue->descriptorTable, 8);
        put(image, VIRTIO_PCI_COMMON_Q_AVAILLO, queue->driverArea, 8);
        put(image, VIRTIO_PCI_COMMON_Q_USEDLO, queue->deviceArea, 8);
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
            writeCommonField(field.offset, get(image, field.offset, field.size), kicks);
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
        memory_, layout, (negotiatedFeatures_ & bit(ring::kFeatureIndirectDescriptors)) != 0,
        (negotiatedFeatures_ & bit(ring::kFeatureEventIndex)) != 0);
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

// ---- queues -------------------------------------------------------------------------------

bool VirtioPciTransport::servable(const Queue& queue) const {
    // 3.1.1: no buffers are used before DRIVER_OK; 6.2.2: without bus mastering the function
    // may not reach memory.
    return queue.enabled && queue.ring && (status_ & kStatusDriverOk) &&
           !(status_ & (kStatusNeedsReset | kStatusFailed)) && !resetPending_ && !disconnected_ &&
           (config().get16(pci::kCommand) & pci::kCommandBusMaster);
}

void VirtioPciTransport::ringDoorbell(unsigned index) {
    if (wiring_.ioThread)
        queues_[index]->doorbell.signal();
    else
        serveQueue(index);
}

void VirtioPciTransport::serveQueue(unsigned index) {
    if (index >= queues_.size())
        return;
    Queue& queue = *queues_[index];
    {
        std::lock_guard lock(stateMutex());
        // One server per queue: another thread serving it takes what was just offered too,
        // since it stops only once the ring is empty under this lock.
        if (queue.busy)
            return;
        queue.busy = true;
    }
    for (;;) {
        {
            std::lock_guard lock(stateMutex());
            bool taken = false;
            if (servable(queue)) {
                try {
                    taken = queue.ring->pop(queue.chain);
                } catch (const QueueError& error) {
                    needsReset(fmt::format("queue {}: {}", index, error.what()));
                }
            }
            if (!taken) {
                queue.busy = false;
                if (resetPending_ && std::none_of(queues_.begin(), queues_.end(),
                                                  [](const auto& q) { return q->busy; }))
                    reset();
                return;
            }
            ++queue.inFlight;
        }
        uint32_t written = 0;
        std::string failure;
        try {
            written = device_->serve(index, queue.chain);
        } catch (const Error& error) {
            // QueueError from the request's framing, GuestMemoryError if RAM was not where the
            // chain said: either way the driver broke the queue.
            failure = error.what();
        }
        std::lock_guard lock(stateMutex());
        --queue.inFlight;
        if (!failure.empty()) {
            needsReset(fmt::format("queue {}: {}", index, failure));
            continue; // the next round stops: the queue is no longer servable
        }
        queue.ring->push(queue.chain.head, written);
        if (queue.ring->driverWantsInterrupt())
            signalQueue(index);
    }
}

// ---- interrupts -----------------------------------------------------------------------------

void VirtioPciTransport::signalQueue(unsigned index) {
    signalVector(queues_[index]->msixVector, kIsrQueue);
}

void VirtioPciTransport::signalConfigChange() {
    signalVector(configMsixVector_, kIsrConfig);
}

void VirtioPciTransport::signalVector(uint16_t vector, uint8_t isrBit) {
    if (msix_ && msix_->enabled()) {
        // 4.1.5.1.3: with MSI-X, NO_VECTOR means no interrupt at all.
        if (vector == kNoVector)
            return;
        if (msix_->signal(vector))
            sendMsi(vector);
        return;
    }
    // 4.1.4.5: without MSI-X, the ISR status says why and INTx# is asserted until it is read.
    isr_ |= isrBit;
    ++interrupts_;
    setIntxLocked(true);
}

void VirtioPciTransport::updateMsixControl() {
    const uint16_t control = config().get16(msixCapability_ + PCI_MSIX_FLAGS);
    const bool wasEnabled = msix_->enabled();
    msix_->setControl((control & PCI_MSIX_FLAGS_ENABLE) != 0,
                      (control & PCI_MSIX_FLAGS_MASKALL) != 0);
    if (msix_->enabled() && !wasEnabled) {
        // 6.8.3.3 (PCI 3.0): while MSI-X is enabled the function does not use INTx#; and the
        // kernel's routes take the table as it is now.
        setIntxLocked(false);
        if (wiring_.msi)
            for (unsigned vector = 0; vector < msix_->vectors(); ++vector)
                wiring_.msi->route(vector, msix_->message(vector));
    }
    for (const unsigned vector : msix_->takeDeliverable())
        sendMsi(vector);
}

void VirtioPciTransport::sendMsi(unsigned vector) {
    if (!wiring_.msi)
        return;
    ++interrupts_;
    wiring_.msi->send(vector, msix_->message(vector));
}

// ---- configuration space and BAR placement --------------------------------------------------

void VirtioPciTransport::afterConfigWrite(unsigned offset, unsigned size) {
    const unsigned end = offset + size;
    if (msix_ && offset < msixCapability_ + PCI_MSIX_FLAGS + 2 &&
        end > msixCapability_ + PCI_MSIX_FLAGS)
        updateMsixControl();
    const unsigned data = windowCapability_ + offsetof(virtio_pci_cfg_cap, pci_cfg_data);
    if (offset < data + 4 && end > data)
        windowAccess(true);
    // Bus mastering may just have been turned on: queues that waited for it are looked at.
    if (offset <= pci::kCommand && end > pci::kCommand && wiring_.ioThread)
        for (const auto& queue : queues_)
            if (queue->enabled)
                queue->doorbell.signal();
}

void VirtioPciTransport::beforeConfigRead(unsigned offset, unsigned size) {
    const unsigned data = windowCapability_ + offsetof(virtio_pci_cfg_cap, pci_cfg_data);
    if (offset < data + 4 && offset + size > data)
        windowAccess(false);
}

void VirtioPciTransport::windowAccess(bool write) {
    // 4.1.4.9.1: the access reaches `length` bytes (1, 2 or 4) at `offset` of BAR `bar`,
    // through the first `length` bytes of pci_cfg_data. Others are ignored.
    const unsigned cap = windowCapability_;
    const uint8_t bar = config().get8(cap + offsetof(virtio_pci_cap, bar));
    const uint32_t offset = config().get32(cap + offsetof(virtio_pci_cap, offset));
    const uint32_t length = config().get32(cap + offsetof(virtio_pci_cap, length));
    const unsigned data = cap + offsetof(virtio_pci_cfg_cap, pci_cfg_data);
    if (bar != kBar || (length != 1 && length != 2 && length != 4) ||
        uint64_t{offset} + length > kBarSize || offset % length != 0)
        return;
    std::array<uint8_t, 4> bytes{};
    if (write) {
        for (unsigned i = 0; i < length; ++i)
            bytes[i] = config().get8(data + i);
        // The lock is held here: doorbells rung through the window reach the I/O thread only.
        for (const unsigned queue : writeRegisters(offset, std::span(bytes.data(), length)))
            if (wiring_.ioThread)
                queues_[queue]->doorbell.signal();
        return;
    }
    readRegisters(offset, std::span(bytes.data(), length));
    for (unsigned i = 0; i < length; ++i)
        config().set8(data + i, bytes[i]);
}

void VirtioPciTransport::afterBarMove(unsigned index, std::optional<uint64_t> base) {
    if (index != kBar)
        return;
    barBase_ = base;
    updateDoorbells();
}

void VirtioPciTransport::updateDoorbells() {
    if (!wiring_.doorbells)
        return;
    for (unsigned index = 0; index < queues_.size(); ++index) {
        Queue& queue = *queues_[index];
        std::optional<uint64_t> wanted;
        if (barBase_ && queue.enabled)
            wanted = *barBase_ + kNotifyOffset + uint64_t{index} * kNotifyOffMultiplier;
        if (wanted == queue.doorbellAt)
            continue;
        if (queue.doorbellAt)
            wiring_.doorbells->detach(*queue.doorbellAt, kDoorbellWriteSize, queue.doorbell.fd());
        queue.doorbellAt.reset();
        if (wanted && wiring_.doorbells->attach(*wanted, kDoorbellWriteSize, queue.doorbell.fd()))
            queue.doorbellAt = wanted;
    }
}

// ---- attributes -----------------------------------------------------------------------------

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
