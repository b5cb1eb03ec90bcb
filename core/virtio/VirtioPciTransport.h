#pragma once
// A virtio device on PCI, modern interface only (VIRTIO 1.2, 4.1 "Virtio Over PCI Bus"): the PCI
// function that carries a VirtioDevice. It holds what every device type shares:
//
// * Identity (4.1.2): vendor 0x1AF4, device 0x1040 + the virtio device ID, revision 1 (no legacy
//   interface), the subsystem IDs the same.
// * One 64-bit prefetchable memory BAR (BAR 4, 16 KiB) with every structure in it, each found
//   through a vendor-specific PCI capability (4.1.4): common configuration at 0x0000, ISR status
//   at 0x0800, the device-specific configuration at 0x1000, notifications at 0x2000 (one doorbell
//   of 4 bytes per queue: queue_notify_off = the queue's index, notify_off_multiplier 4), the
//   MSI-X table at 0x3000 and its PBA at 0x3800; and the PCI configuration access capability
//   (4.1.4.9), a window onto the BAR through configuration space for drivers that cannot map it.
// * Feature negotiation and the device status state machine (2.1, 3.1): VIRTIO_F_VERSION_1 is
//   required; FEATURES_OK is refused (reads back clear) for features the device did not offer;
//   a driver that breaks a rule it cannot recover from gets DEVICE_NEEDS_RESET, and writing 0
//   resets the device, dropping its queues.
// * Queue setup through common configuration (4.1.4.3): size, addresses, MSI-X vector, enable.
// * Notifications (4.1.4.4): each enabled queue's doorbell is an eventfd. With `doorbells` the
//   machine has KVM signal it directly (KVM_IOEVENTFD) while the BAR is decoded, so the vcpu
//   that rings never leaves the kernel; otherwise the write arrives as MMIO and the transport
//   signals the eventfd itself. Either way the queue is served on the I/O thread.
// * Interrupts (4.1.4.5, 4.1.5.1.3): MSI-X while the guest enables it (a vector per queue and
//   one for configuration changes, through `msi`), else INTx# with the ISR status register,
//   which a read clears.
//
// Locking: the function's lock guards every register, queue setting and the MSI-X table. A
// queue is served with it held only to take and return chains: the device's request runs
// without it, so a vcpu reading a register never waits for the disk. Reset while a request is
// in flight completes when the request does: until then device_status reads as before, and a
// driver waits for 0 (4.1.4.3.2), so it never sees the queue freed under the request.
//
// Snapshots (docs/snapshots.md, "virtio-blk"): every register, queue setting, the split queues'
// device-side indices, the MSI-X table and PBA are declared saved state (describeDeviceState);
// the rings and the requests themselves are in guest RAM. A save first holds the requests
// (holdRequests): no chain is taken any more and every chain taken has been returned, so RAM and
// the indices agree. A restore rebuilds the rings from the saved settings, routes every MSI-X
// vector again and, once the BAR is decoded, puts the doorbells back into the kernel; releasing
// the hold then looks at every queue, since a doorbell rung before the save may have found the
// requests held.
#include "common/EventFd.h"
#include "pci/MsiRouter.h"
#include "pci/MsixTable.h"
#include "pci/PciFunction.h"
#include "virtio/SplitQueue.h"
#include "virtio/VirtioDevice.h"

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kvmscope {
class GuestMemory;
class IoThread;
} // namespace kvmscope

namespace kvmscope::virtio {

// Where a doorbell's writes go when the kernel can take them (the machine implements it with
// KVM_IOEVENTFD).
class DoorbellWiring {
public:
    virtual ~DoorbellWiring() = default;
    // Guest writes of `length` bytes at `address` signal `eventFd` from now on; false when that
    // cannot be arranged (the writes then arrive as MMIO, which works as well, only slower).
    virtual bool attach(uint64_t address, uint32_t length, int eventFd) = 0;
    virtual void detach(uint64_t address, uint32_t length, int eventFd) = 0;
};

class VirtioPciTransport final : public pci::PciFunction {
public:
    // 4.1.2 "PCI Device Discovery".
    static constexpr uint16_t kVendorId = 0x1af4;
    static constexpr uint16_t kModernDeviceIdBase = 0x1040;
    static constexpr uint8_t kRevision = 1; // 4.1.2.1: non-transitional devices SHOULD have >= 1
    // The BAR and where each structure lies in it.
    static constexpr unsigned kBar = 4;
    static constexpr uint64_t kBarSize = 0x4000;
    static constexpr uint32_t kCommonOffset = 0x0000;
    // struct virtio_pci_common_cfg as 1.2 has it: queue_notif_config_data and queue_reset (0x38,
    // 0x3a) read 0, as VIRTIO_F_NOTIF_CONFIG_DATA and VIRTIO_F_RING_RESET are not offered.
    static constexpr uint32_t kCommonSize = 0x3c;
    static constexpr uint32_t kIsrOffset = 0x0800;
    static constexpr uint32_t kIsrSize = 1;
    static constexpr uint32_t kDeviceConfigOffset = 0x1000;
    static constexpr uint32_t kDeviceConfigMaxSize = 0x1000;
    static constexpr uint32_t kNotifyOffset = 0x2000;
    static constexpr uint32_t kNotifyOffMultiplier = 4; // a dword per queue
    static constexpr uint32_t kMsixTableOffset = 0x3000;
    static constexpr uint32_t kMsixPbaOffset = 0x3800;
    static constexpr uint32_t kMsixAreaSize = 0x800;
    static constexpr uint16_t kNoVector = 0xffff; // VIRTIO_MSI_NO_VECTOR
    // The doorbell write KVM is asked to catch: queue_notify is 16 bits (4.1.4.4.1).
    static constexpr uint32_t kDoorbellWriteSize = 2;
    // ISR status bits (4.1.4.5).
    static constexpr uint8_t kIsrQueue = 0x1;
    static constexpr uint8_t kIsrConfig = 0x2;
    // Attribute groups after PciFunction's.
    static constexpr uint32_t kVirtioGroup = kFirstDeviceGroup;
    static constexpr uint32_t kMsixGroup = kFirstDeviceGroup + 1;
    static constexpr uint32_t kFirstQueueGroup = kFirstDeviceGroup + 2;
    static constexpr uint32_t kFirstVirtioDeviceGroup = 64;

    struct Wiring {
        IoThread* ioThread = nullptr;        // serves the queues; null: the notifying thread does
        DoorbellWiring* doorbells = nullptr; // null: doorbell writes arrive as MMIO
        pci::MsiRouter* msi = nullptr;       // null: no MSI-X capability, INTx# only
    };

    // Throws Error when the device has no queues or more than the notify area holds, or asks for
    // more MSI-X vectors than `wiring.msi` has.
    VirtioPciTransport(std::unique_ptr<VirtioDevice> device, GuestMemory& memory,
                       const Wiring& wiring);
    ~VirtioPciTransport() override;

    VirtioDevice& device() { return *device_; }
    // Lets go of the wiring before it goes: stops watching the doorbells on the I/O thread
    // (waiting for a request it is serving), detaches them from the kernel, and sends no more
    // MSI-X messages. The device keeps answering its registers; queues are served no more.
    void disconnect();
    // The queue's doorbell rang: serves every chain the driver has made available on it. From
    // the I/O thread; tests call it directly. Does nothing for a queue that cannot be served now
    // (not enabled, no DRIVER_OK, DEVICE_NEEDS_RESET, bus mastering off).
    void serveQueue(unsigned queue);

    // Stops taking chains from the queues and waits until every chain already taken has been
    // returned to its used ring (its interrupt sent), so that guest RAM and the queue state agree
    // and no request is half done: for a snapshot of the paused machine. False when one is still
    // being served after `timeout`. Holds nest, and each must be released, whatever this
    // returned: the queues are served again once the last one is.
    bool holdRequests(std::chrono::milliseconds timeout);
    // Ends a hold. The last one looks at every enabled queue as a doorbell would: a chain offered
    // meanwhile, whose doorbell found the requests held, is served now.
    void releaseRequests();

    uint8_t deviceStatus() const;
    uint64_t negotiatedFeatures() const;
    // Why the device last set DEVICE_NEEDS_RESET ("" when it never did).
    std::string needsResetReason() const;
    bool doorbellInKernel(unsigned queue) const;

protected:
    void barRead(unsigned index, uint64_t offset, std::span<uint8_t> data) override;
    void barWrite(unsigned index, uint64_t offset, std::span<const uint8_t> data) override;
    void afterConfigWrite(unsigned offset, unsigned size) override;
    void beforeConfigRead(unsigned offset, unsigned size) override;
    void afterBarMove(unsigned index, std::optional<uint64_t> base) override;
    void describeDeviceState(StateVisitor& state) override;
    void afterDeviceRestore() override;

private:
    struct Queue {
        uint16_t size = 0; // queue_size: the maximum until the driver writes a smaller one
        uint16_t msixVector = kNoVector;
        bool enabled = false;
        uint64_t descriptorTable = 0;     // queue_desc
        uint64_t driverArea = 0;          // queue_driver: the available ring
        uint64_t deviceArea = 0;          // queue_device: the used ring
        std::unique_ptr<SplitQueue> ring; // while enabled
        EventFd doorbell;
        std::optional<uint64_t> doorbellAt; // where KVM signals `doorbell`, if it does
        bool busy = false;                  // a thread is serving the queue
        uint64_t inFlight = 0;
        Chain chain; // the chain being served (its buffer storage reused)
        // A restore's ring indices, until afterDeviceRestore builds the ring with them.
        uint16_t restoredNextAvailable = 0;
        uint16_t restoredNextUsed = 0;
        uint16_t restoredLastSignalledUsed = 0;
    };

    // The BAR's registers, with the lock held. A write returns the queues whose doorbell must
    // ring once the lock is released.
    void readRegisters(uint64_t offset, std::span<uint8_t> data);
    std::vector<unsigned> writeRegisters(uint64_t offset, std::span<const uint8_t> data);
    void readCommon(uint32_t offset, std::span<uint8_t> data) const;
    void writeCommon(uint32_t offset, std::span<const uint8_t> data, std::vector<unsigned>& kicks);
    void commonImage(std::array<uint8_t, 64>& image) const;
    void writeCommonField(uint32_t field, uint64_t value, std::vector<unsigned>& kicks);
    void writeStatus(uint8_t value, std::vector<unsigned>& kicks);
    void enableQueue(unsigned index);
    void requestReset();
    void reset();
    void needsReset(const std::string& reason);
    // Sends `vector`'s message, unless disconnected.
    void sendMsi(unsigned vector);
    // Interrupts (4.1.4.5): a queue's, and the configuration-change one.
    void signalQueue(unsigned index);
    void signalConfigChange();
    void signalVector(uint16_t vector, uint8_t isrBit);
    void updateMsixControl();
    void updateDoorbells();
    bool servable(const Queue& queue) const;
    Queue* selectedQueue();
    const Queue* selectedQueue() const;
    uint16_t acceptedVector(uint16_t vector) const;
    uint64_t offeredFeatures() const;
    // Rings a doorbell as KVM would: the I/O thread serves the queue. Without one, serves it on
    // this thread (the lock must not be held then).
    void ringDoorbell(unsigned index);
    // The PCI configuration access capability's window (4.1.4.9).
    void windowAccess(bool write);

    std::unique_ptr<VirtioDevice> device_;
    GuestMemory& memory_;
    Wiring wiring_;
    std::vector<std::unique_ptr<Queue>> queues_;
    std::unique_ptr<pci::MsixTable> msix_; // null without an MSI router
    unsigned msixCapability_ = 0;
    unsigned windowCapability_ = 0;
    std::optional<uint64_t> barBase_;
    std::vector<std::string> queueGroupNames_;

    // Common configuration (4.1.4.3).
    uint32_t deviceFeatureSelect_ = 0;
    uint32_t driverFeatureSelect_ = 0;
    uint64_t driverFeatures_ = 0;     // as the driver wrote them
    uint64_t negotiatedFeatures_ = 0; // accepted with FEATURES_OK
    uint16_t configMsixVector_ = kNoVector;
    uint8_t status_ = 0;
    uint8_t configGeneration_ = 0;
    uint16_t queueSelect_ = 0;
    uint8_t isr_ = 0;
    bool resetPending_ = false;          // the driver wrote 0 while a request was in flight
    bool disconnected_ = false;          // disconnect() ran: no more serving
    unsigned requestHolds_ = 0;          // holdRequests() not yet released: no chain is taken
    std::condition_variable queuesIdle_; // a queue's server finished (busy went false)

    // Statistics.
    uint64_t notifications_ = 0; // doorbells that reached the transport
    uint64_t interrupts_ = 0;    // MSI-X messages sent and INTx# assertions
    uint64_t guestErrors_ = 0;   // rule breaks that set DEVICE_NEEDS_RESET
    uint64_t ignoredWrites_ = 0; // writes to read-only fields or at the wrong time
    uint64_t resets_ = 0;
    std::string needsResetReason_;
};

} // namespace kvmscope::virtio
