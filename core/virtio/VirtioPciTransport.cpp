#include "virtio/VirtioPciTransport.h"

#include "common/IoThread.h"
#include "virtio/VirtioPciShared.h"

#include <algorithm>
#include <cstddef>
#include <fmt/format.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <utility>

namespace kvmscope::virtio {
using namespace pci_transport;
namespace {

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
    putLittleEndian(body, VIRTIO_PCI_CAP_OFFSET - kCapabilityHeader, offset, 4);
    putLittleEndian(body, VIRTIO_PCI_CAP_LENGTH - kCapabilityHeader, length, 4);
    if (hasExtra)
        putLittleEndian(body, sizeof(virtio_pci_cap) - kCapabilityHeader, extra, 4);
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
        putLittleEndian(body, PCI_MSIX_FLAGS - kCapabilityHeader, vectors - 1, 2);
        putLittleEndian(body, PCI_MSIX_TABLE - kCapabilityHeader, kMsixTableOffset | kBar, 4);
        putLittleEndian(body, PCI_MSIX_PBA - kCapabilityHeader, kMsixPbaOffset | kBar, 4);
        // Only MSI-X Enable and Function Mask are software's (6.8.2.3).
        std::vector<uint8_t> writable(body.size(), 0);
        putLittleEndian(writable, PCI_MSIX_FLAGS - kCapabilityHeader,
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

} // namespace kvmscope::virtio
