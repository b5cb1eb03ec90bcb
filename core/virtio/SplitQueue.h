#pragma once
// The device's side of a split virtqueue (Virtual I/O Device (VIRTIO) Version 1.2, 2.7 "Split
// Virtqueues"): the driver lists buffers in the descriptor table and offers chains of them in the
// available ring; the device takes each chain, uses it, and returns it in the used ring.
//
// Everything here lives in guest RAM and is written by the guest while the device reads it, so
// every index and address is checked before it is followed: a chain that leaves RAM, loops, or
// breaks a rule the spec gives the driver is a QueueError, which the device turns into
// DEVICE_NEEDS_RESET (2.1.2), never a crash. Ring layouts and flags come from the kernel's
// <linux/virtio_ring.h>.
#include "common/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kvmscope {
class GuestMemory;
}

namespace kvmscope::virtio {

// The driver broke the queue's rules; the message says how, with the index and address.
class QueueError : public Error {
public:
    using Error::Error;
};

// One buffer of a chain, inside guest RAM (length 0 buffers are kept, at any address).
struct Buffer {
    uint64_t address = 0;
    uint32_t length = 0;
    bool deviceWritable = false;
};

// A chain the driver made available: its head descriptor's index (what goes back in the used
// ring) and its buffers in order, the device-readable ones first (2.7.4.2).
struct Chain {
    uint16_t head = 0;
    std::vector<Buffer> buffers;
    uint64_t readableBytes() const;
    uint64_t writableBytes() const;
};

// Where the driver put the queue (the transport's queue_desc, queue_driver, queue_device) and its
// size (queue_size), as 4.1.4.3 has a virtio-pci driver write them.
struct QueueLayout {
    uint16_t size = 0;            // a power of 2, at most 32768 (2.7)
    uint64_t descriptorTable = 0; // 16-byte aligned, 16 * size bytes
    uint64_t availableRing = 0;   // 2-byte aligned, 6 + 2 * size bytes
    uint64_t usedRing = 0;        // 4-byte aligned, 6 + 8 * size bytes
};

// Why `layout` cannot be used with `memory`, or "" when it can (2.7, "alignment and size
// requirements"; every area must lie in RAM).
std::string checkQueueLayout(const GuestMemory& memory, const QueueLayout& layout);

class SplitQueue {
public:
    // `layout` must pass checkQueueLayout (throws QueueError naming the problem otherwise).
    // `indirect` and `eventIndex`: whether VIRTIO_RING_F_INDIRECT_DESC and
    // VIRTIO_RING_F_EVENT_IDX were negotiated.
    SplitQueue(GuestMemory& memory, const QueueLayout& layout, bool indirect, bool eventIndex);

    // Takes the next chain the driver made available into `chain` (its buffers' storage reused);
    // false when the driver has offered no more. Throws QueueError for a malformed ring or chain
    // (the queue is then unusable).
    bool pop(Chain& chain);
    // Returns the chain at `head` with `written` bytes written into its writable buffers.
    void push(uint16_t head, uint32_t written);
    // After pushes: whether the driver wants an interrupt for them (2.7.7.2: the used event
    // index with VIRTIO_RING_F_EVENT_IDX, else the available ring's NO_INTERRUPT flag).
    bool driverWantsInterrupt();

    const QueueLayout& layout() const { return layout_; }
    uint16_t nextAvailable() const { return nextAvailable_; } // chains taken, modulo 2^16
    uint16_t nextUsed() const { return nextUsed_; }           // chains returned, modulo 2^16
    // The used index at the last driverWantsInterrupt (2.7.10: with VIRTIO_RING_F_EVENT_IDX the
    // driver's used_event is compared with the chains returned since).
    uint16_t lastSignalledUsed() const { return lastSignalledUsed_; }
    // The device state a snapshot needs to continue the queue (everything else is in guest
    // RAM). `lastSignalledUsed` defaults to `nextUsed`: every returned chain looked at.
    void restoreIndices(uint16_t nextAvailable, uint16_t nextUsed);
    void restoreIndices(uint16_t nextAvailable, uint16_t nextUsed, uint16_t lastSignalledUsed);

private:
    struct Descriptor {
        uint64_t address;
        uint32_t length;
        uint16_t flags;
        uint16_t next;
    };
    Descriptor readDescriptor(uint64_t table, uint32_t index) const;
    void appendIndirect(Chain& chain, const Descriptor& indirect, bool& writableSeen) const;
    void appendBuffer(Chain& chain, const Descriptor& descriptor, bool& writableSeen) const;
    uint16_t availableIndex() const;

    GuestMemory& memory_;
    QueueLayout layout_;
    bool indirect_;
    bool eventIndex_;
    uint16_t nextAvailable_ = 0;
    uint16_t nextUsed_ = 0;
    uint16_t lastSignalledUsed_ = 0; // used index at the last driverWantsInterrupt
};

} // namespace kvmscope::virtio
