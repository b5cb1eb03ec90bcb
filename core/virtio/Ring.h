#pragma once
// The split virtqueue's structures in guest memory (VIRTIO 1.2, 2.7.5 "The Virtqueue Descriptor
// Table", 2.7.6 "The Virtqueue Available Ring", 2.7.8 "The Virtqueue Used Ring"), little-endian
// as virtio 1.x has them and x86 stores them.
//
// <linux/virtio_ring.h> defines the same, but its inline vring_init() assigns a void* to typed
// pointers, which C++ refuses; so the few layouts and flags are written out here, checked by
// size, and the rest of virtio comes from the kernel's headers (<linux/virtio_blk.h>,
// <linux/virtio_pci.h>, <linux/virtio_config.h>).
#include <cstdint>

namespace kvmscope::virtio::ring {

struct Descriptor {
    uint64_t address;
    uint32_t length;
    uint16_t flags;
    uint16_t next;
};
static_assert(sizeof(Descriptor) == 16);

struct UsedElement {
    uint32_t id;     // the chain's head descriptor
    uint32_t length; // bytes written into the chain's device-writable buffers
};
static_assert(sizeof(UsedElement) == 8);

// Descriptor flags (2.7.5).
constexpr uint16_t kNext = 1;
constexpr uint16_t kWrite = 2; // device-writable
constexpr uint16_t kIndirect = 4;
// The available ring's flag (2.7.6): no interrupt wanted when buffers are used.
constexpr uint16_t kAvailableNoInterrupt = 1;
// Feature bits (6 "Reserved Feature Bits").
constexpr unsigned kFeatureIndirectDescriptors = 28; // VIRTIO_F_INDIRECT_DESC
constexpr unsigned kFeatureEventIndex = 29;          // VIRTIO_F_EVENT_IDX

// 2.7.10: whether moving the used index from `old` to `next` passes the driver's `event`.
constexpr bool needsEvent(uint16_t event, uint16_t next, uint16_t old) {
    return static_cast<uint16_t>(next - event - 1) < static_cast<uint16_t>(next - old);
}

} // namespace kvmscope::virtio::ring
