#pragma once
// A virtio device type's own half (VIRTIO 1.2, 5 "Device Types"): its feature bits, its
// device-specific configuration, its queues and what a chain taken from them means. The
// transport (VirtioPciTransport) does the rest: feature negotiation, the status state machine,
// queue setup, notifications and interrupts (4.1 "Virtio Over PCI Bus").
#include "devices/DeviceState.h"
#include "virtio/SplitQueue.h"

#include <cstdint>
#include <span>
#include <string>

namespace kvmscope::virtio {

class VirtioDevice {
public:
    virtual ~VirtioDevice() = default;

    // What the device is, for the PCI function's name ("virtio-blk disk.img").
    virtual std::string name() const = 0;
    // 5 "Device Types": the virtio device ID (2: block device).
    virtual uint16_t deviceId() const = 0;
    // The PCI class code the function reports (base class << 16 | sub-class << 8 | prog-if).
    virtual uint32_t pciClassCode() const = 0;
    // The feature bits the device offers beyond the transport's own (VIRTIO_F_VERSION_1): its
    // type's bits and the ring features it can serve (6 "Reserved Feature Bits").
    virtual uint64_t features() const = 0;
    virtual unsigned queueCount() const = 0;
    virtual uint16_t maxQueueSize() const = 0;

    // The device-specific configuration (its type's "Device configuration layout"), read and
    // written with the transport's lock held; bytes past configSize() are the transport's.
    virtual uint32_t configSize() const = 0;
    virtual void readConfig(uint32_t offset, std::span<uint8_t> data) = 0;
    virtual void writeConfig(uint32_t, std::span<const uint8_t>) {}

    // Serves one chain the driver made available on `queue` and returns the bytes written into
    // its device-writable buffers (the used ring's len). Called without the transport's lock,
    // by one thread at a time per queue. Throws QueueError when the chain cannot carry a request
    // at all: the transport then sets DEVICE_NEEDS_RESET.
    virtual uint32_t serve(unsigned queue, const Chain& chain) = 0;

    // The driver reset the device (device_status 0).
    virtual void reset() {}

    // The device's own attributes and saved state, in groups from `firstGroup` on, with the
    // transport's lock held (serve may run meanwhile: what it counts is read atomically; a
    // snapshot saves while the transport holds the requests, so none is in flight).
    virtual void describe(StateVisitor& state, uint32_t firstGroup) = 0;
};

} // namespace kvmscope::virtio
