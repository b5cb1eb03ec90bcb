#include "virtio/SplitQueue.h"

#include "machine/GuestMemory.h"
#include "virtio/Ring.h"

#include <fmt/format.h>

namespace kvmscope::virtio {
namespace {

constexpr uint32_t kMaxQueueSize = 32768; // 2.7: "Queue Size ... maximum ... 32768"
constexpr uint32_t kDescriptorSize = sizeof(ring::Descriptor);
constexpr uint32_t kMaxIndirectEntries = 1024; // as many as a Linux driver puts in one table
// Offsets inside the rings (2.7.6, 2.7.8): flags, idx, then the ring entries and the event word.
constexpr uint64_t kRingIndexOffset = 2;
constexpr uint64_t kRingEntriesOffset = 4;
constexpr uint64_t kUsedElementSize = sizeof(ring::UsedElement);

uint64_t availableRingBytes(uint32_t size) {
    return kRingEntriesOffset + 2ull * size + 2; // ... ring[size], used_event
}
uint64_t usedRingBytes(uint32_t size) {
    return kRingEntriesOffset + kUsedElementSize * size + 2; // ... ring[size], avail_event
}

// Host pointers into RAM for the 16-bit ring words the guest writes concurrently: read with
// acquire and written with release so the entries they publish are seen in order (2.7.13).
uint16_t loadAcquire(const GuestMemory& memory, uint64_t address) {
    const auto bytes = memory.span(address, sizeof(uint16_t));
    return __atomic_load_n(reinterpret_cast<const uint16_t*>(bytes.data()), __ATOMIC_ACQUIRE);
}
void storeRelease(GuestMemory& memory, uint64_t address, uint16_t value) {
    const auto bytes = memory.span(address, sizeof(uint16_t));
    __atomic_store_n(reinterpret_cast<uint16_t*>(bytes.data()), value, __ATOMIC_RELEASE);
}

} // namespace

uint64_t Chain::readableBytes() const {
    uint64_t total = 0;
    for (const Buffer& buffer : buffers)
        if (!buffer.deviceWritable)
            total += buffer.length;
    return total;
}

uint64_t Chain::writableBytes() const {
    uint64_t total = 0;
    for (const Buffer& buffer : buffers)
        if (buffer.deviceWritable)
            total += buffer.length;
    return total;
}

std::string checkQueueLayout(const GuestMemory& memory, const QueueLayout& layout) {
    const uint32_t size = layout.size;
    if (size == 0 || size > kMaxQueueSize || (size & (size - 1)) != 0)
        return fmt::format("queue size {} is not a power of 2 from 1 to {}", size, kMaxQueueSize);
    struct Area {
        const char* name;
        uint64_t address;
        uint64_t alignment;
        uint64_t bytes;
    };
    const Area areas[] = {
        {"descriptor table", layout.descriptorTable, 16, uint64_t{kDescriptorSize} * size},
        {"available ring", layout.availableRing, 2, availableRingBytes(size)},
        {"used ring", layout.usedRing, 4, usedRingBytes(size)},
    };
    for (const Area& area : areas) {
        if (area.address % area.alignment != 0)
            return fmt::format("the {} at {:#x} is not {}-byte aligned", area.name, area.address,
                               area.alignment);
        if (!memory.contains(area.address, area.bytes))
            return fmt::format("the {} at {:#x} ({} bytes) is not in RAM", area.name, area.address,
                               area.bytes);
    }
    return {};
}

SplitQueue::SplitQueue(GuestMemory& memory, const QueueLayout& layout, bool indirect,
                       bool eventIndex)
    : memory_(memory), layout_(layout), indirect_(indirect), eventIndex_(eventIndex) {
    if (const std::string problem = checkQueueLayout(memory, layout); !problem.empty())
        throw QueueError(problem);
}

void SplitQueue::restoreIndices(uint16_t nextAvailable, uint16_t nextUsed) {
    restoreIndices(nextAvailable, nextUsed, nextUsed);
}

void SplitQueue::restoreIndices(uint16_t nextAvailable, uint16_t nextUsed,
                                uint16_t lastSignalledUsed) {
    nextAvailable_ = nextAvailable;
    nextUsed_ = nextUsed;
    lastSignalledUsed_ = lastSignalledUsed;
}

uint16_t SplitQueue::availableIndex() const {
    return loadAcquire(memory_, layout_.availableRing + kRingIndexOffset);
}

SplitQueue::Descriptor SplitQueue::readDescriptor(uint64_t table, uint32_t index) const {
    ring::Descriptor raw{};
    memory_.read(table + uint64_t{kDescriptorSize} * index, &raw, sizeof raw);
    return {raw.address, raw.length, raw.flags, raw.next};
}

void SplitQueue::appendBuffer(Chain& chain, const Descriptor& descriptor,
                              bool& writableSeen) const {
    const bool writable = (descriptor.flags & ring::kWrite) != 0;
    // 2.7.4.2: the driver places device-writable buffers after the device-readable ones.
    if (!writable && writableSeen)
        throw QueueError(fmt::format("chain {}: a device-readable buffer at {:#x} follows a "
                                     "device-writable one",
                                     chain.head, descriptor.address));
    writableSeen |= writable;
    if (descriptor.length != 0 && !memory_.contains(descriptor.address, descriptor.length))
        throw QueueError(fmt::format("chain {}: the buffer at {:#x} ({} bytes) is not in RAM",
                                     chain.head, descriptor.address, descriptor.length));
    chain.buffers.push_back({descriptor.address, descriptor.length, writable});
}

void SplitQueue::appendIndirect(Chain& chain, const Descriptor& indirect,
                                bool& writableSeen) const {
    // 2.7.5.3: a table of descriptors in a buffer of its own, walked from its first entry.
    if (indirect.length == 0 || indirect.length % kDescriptorSize != 0 ||
        indirect.length / kDescriptorSize > kMaxIndirectEntries)
        throw QueueError(fmt::format("chain {}: the indirect table at {:#x} is {} bytes, not a "
                                     "multiple of {} up to {} entries",
                                     chain.head, indirect.address, indirect.length, kDescriptorSize,
                                     kMaxIndirectEntries));
    if (!memory_.contains(indirect.address, indirect.length))
        throw QueueError(fmt::format("chain {}: the indirect table at {:#x} ({} bytes) is not in "
                                     "RAM",
                                     chain.head, indirect.address, indirect.length));
    const uint32_t entries = indirect.length / kDescriptorSize;
    uint32_t index = 0;
    for (uint32_t walked = 1;; ++walked) {
        if (walked > entries)
            throw QueueError(fmt::format("chain {}: the indirect table at {:#x} loops", chain.head,
                                         indirect.address));
        const Descriptor descriptor = readDescriptor(indirect.address, index);
        if (descriptor.flags & ring::kIndirect)
            throw QueueError(fmt::format("chain {}: entry {} of an indirect table is itself "
                                         "indirect",
                                         chain.head, index));
        appendBuffer(chain, descriptor, writableSeen);
        if (!(descriptor.flags & ring::kNext))
            return;
        index = descriptor.next;
        if (index >= entries)
            throw QueueError(fmt::format("chain {}: entry {} of the indirect table at {:#x} "
                                         "points past its {} entries",
                                         chain.head, index, indirect.address, entries));
    }
}

bool SplitQueue::pop(Chain& chain) {
    const uint32_t size = layout_.size;
    const uint16_t available = availableIndex();
    const uint16_t pending = static_cast<uint16_t>(available - nextAvailable_);
    if (pending == 0)
        return false;
    if (pending > size)
        throw QueueError(fmt::format("the available ring's index {} is {} ahead of the device's "
                                     "{}, more than the queue's {} entries",
                                     available, pending, nextAvailable_, size));
    const uint64_t entry =
        layout_.availableRing + kRingEntriesOffset + 2ull * (nextAvailable_ % size);
    const auto head = memory_.readValue<uint16_t>(entry);
    if (head >= size)
        throw QueueError(fmt::format("available ring entry {} names descriptor {}, past the "
                                     "queue's {}",
                                     nextAvailable_ % size, head, size));
    ++nextAvailable_;
    if (eventIndex_) // 2.7.10: notify the device again when the driver offers the next chain
        storeRelease(memory_, layout_.usedRing + kRingEntriesOffset + kUsedElementSize * size,
                     nextAvailable_);

    chain.head = head;
    chain.buffers.clear();
    bool writableSeen = false;
    uint32_t index = head;
    // 2.7.5.2: a chain is never longer than the queue, so a longer walk has looped.
    for (uint32_t walked = 1;; ++walked) {
        if (walked > size)
            throw QueueError(fmt::format("chain {} loops (more than {} descriptors)", head, size));
        const Descriptor descriptor = readDescriptor(layout_.descriptorTable, index);
        if (descriptor.flags & ring::kIndirect) {
            if (!indirect_)
                throw QueueError(fmt::format("chain {}: descriptor {} is indirect, but "
                                             "VIRTIO_RING_F_INDIRECT_DESC was not negotiated",
                                             head, index));
            // 2.7.5.3.1: the driver MUST NOT set both INDIRECT and NEXT.
            if (descriptor.flags & ring::kNext)
                throw QueueError(fmt::format("chain {}: descriptor {} is both indirect and "
                                             "chained",
                                             head, index));
            appendIndirect(chain, descriptor, writableSeen);
            return true;
        }
        appendBuffer(chain, descriptor, writableSeen);
        if (!(descriptor.flags & ring::kNext))
            return true;
        index = descriptor.next;
        if (index >= size)
            throw QueueError(
                fmt::format("chain {}: descriptor {} is past the queue's {}", head, index, size));
    }
}

void SplitQueue::push(uint16_t head, uint32_t written) {
    const uint32_t size = layout_.size;
    const ring::UsedElement element{head, written};
    memory_.write(layout_.usedRing + kRingEntriesOffset + kUsedElementSize * (nextUsed_ % size),
                  &element, sizeof element);
    ++nextUsed_;
    // 2.7.8.2: the element is visible before the index that publishes it.
    storeRelease(memory_, layout_.usedRing + kRingIndexOffset, nextUsed_);
}

bool SplitQueue::driverWantsInterrupt() {
    // The used index written above must be visible before the driver's event word or flags are
    // read, or an interrupt the driver asked for meanwhile is missed (2.7.7.2).
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    const uint16_t previous = lastSignalledUsed_;
    lastSignalledUsed_ = nextUsed_;
    if (eventIndex_) {
        const uint16_t usedEvent =
            loadAcquire(memory_, layout_.availableRing + kRingEntriesOffset + 2ull * layout_.size);
        return ring::needsEvent(usedEvent, nextUsed_, previous);
    }
    const uint16_t flags = loadAcquire(memory_, layout_.availableRing);
    return previous != nextUsed_ && !(flags & ring::kAvailableNoInterrupt);
}

} // namespace kvmscope::virtio
