#pragma once
// The driver's side of a split virtqueue for tests: lays a queue out in guest RAM, writes
// descriptor chains and offers them, and reads back what the device returned (VIRTIO 1.2, 2.7).
#include "machine/GuestMemory.h"
#include "virtio/Ring.h"
#include "virtio/SplitQueue.h"

#include <cstdint>
#include <vector>

namespace kvmscope::testing {

struct TestBuffer {
    uint64_t address;
    uint32_t length;
    bool writable;
};

class TestDriver {
public:
    // A queue of `size` entries at 0x10000 (table), then the rings; buffers from 0x100000 on.
    TestDriver(GuestMemory& memory, uint16_t size) : memory_(memory) {
        layout_.size = size;
        layout_.descriptorTable = 0x10000;
        layout_.availableRing = layout_.descriptorTable + 16ull * size;
        layout_.usedRing = (layout_.availableRing + 6 + 2ull * size + 3) & ~3ull;
        memory.fill(0x10000, 0, 0x40000);
    }
    const virtio::QueueLayout& layout() const { return layout_; }

    // Writes `buffers` as a chain from descriptor `head` on (consecutive indices) and offers it.
    void offer(uint16_t head, const std::vector<TestBuffer>& buffers) {
        for (size_t i = 0; i < buffers.size(); ++i) {
            const uint16_t index = static_cast<uint16_t>((head + i) % layout_.size);
            virtio::ring::Descriptor d{};
            d.address = buffers[i].address;
            d.length = buffers[i].length;
            d.flags = static_cast<uint16_t>((buffers[i].writable ? virtio::ring::kWrite : 0) |
                                            (i + 1 < buffers.size() ? virtio::ring::kNext : 0));
            d.next = static_cast<uint16_t>((index + 1) % layout_.size);
            writeDescriptor(index, d);
        }
        offerHead(head);
    }
    void writeDescriptor(uint16_t index, const virtio::ring::Descriptor& d) {
        memory_.writeValue(layout_.descriptorTable + 16ull * index, d);
    }
    // Puts `head` in the next available-ring slot and publishes it.
    void offerHead(uint16_t head) {
        const uint16_t index = availableIndex();
        memory_.writeValue<uint16_t>(layout_.availableRing + 4 + 2ull * (index % layout_.size),
                                     head);
        memory_.writeValue<uint16_t>(layout_.availableRing + 2, static_cast<uint16_t>(index + 1));
    }
    uint16_t availableIndex() const {
        return memory_.readValue<uint16_t>(layout_.availableRing + 2);
    }
    void setAvailableIndex(uint16_t index) {
        memory_.writeValue<uint16_t>(layout_.availableRing + 2, index);
    }
    void setAvailableFlags(uint16_t flags) {
        memory_.writeValue<uint16_t>(layout_.availableRing, flags);
    }
    void setUsedEvent(uint16_t event) {
        memory_.writeValue<uint16_t>(layout_.availableRing + 4 + 2ull * layout_.size, event);
    }
    uint16_t usedIndex() const { return memory_.readValue<uint16_t>(layout_.usedRing + 2); }
    virtio::ring::UsedElement used(uint16_t slot) const {
        return memory_.readValue<virtio::ring::UsedElement>(layout_.usedRing + 4 +
                                                            8ull * (slot % layout_.size));
    }
    uint16_t availableEvent() const {
        return memory_.readValue<uint16_t>(layout_.usedRing + 4 + 8ull * layout_.size);
    }

private:
    GuestMemory& memory_;
    virtio::QueueLayout layout_;
};

} // namespace kvmscope::testing
