#pragma once
// A virtio block device (VIRTIO 1.2, 5.2 "Block Device") on a raw disk image: its feature bits,
// its configuration (5.2.4: capacity, size_max, seg_max, blk_size 512, num_queues, and the
// DISCARD and WRITE_ZEROES limits) and its request queues, whose chains BlockRequestHandler
// serves (5.2.6). A flush is reported done only once fdatasync has returned.
//
// Features offered: SIZE_MAX, SEG_MAX, BLK_SIZE, FLUSH, RO for a read-only image, DISCARD and
// WRITE_ZEROES for a writable one, MQ with more than one queue, and the ring features the split
// queue serves (INDIRECT_DESC, EVENT_IDX). GET_ID answers the image's file name, cut to 20 bytes.
//
// Counters per queue (requests, in flight, bytes read and written, errors) are atomics: a queue
// is served without the transport's lock while the attributes are read under it.
#include "virtio/BlockRequest.h"
#include "virtio/VirtioDevice.h"

#include <atomic>
#include <linux/virtio_blk.h>
#include <memory>
#include <string>
#include <vector>

namespace kvmscope {
class GuestMemory;
}
namespace kvmscope::storage {
class DiskImage;
}

namespace kvmscope::virtio {

class VirtioBlockDevice final : public VirtioDevice {
public:
    static constexpr uint16_t kDeviceId = 2;                 // 5 "Device Types": block device
    static constexpr uint32_t kPciClass = 0x01'80'00;        // mass storage, other
    static constexpr uint16_t kQueueSize = 256;              // per queue
    static constexpr uint32_t kBlockSize = 512;              // blk_size
    static constexpr uint32_t kMaxSegmentBytes = 1u << 20;   // size_max
    static constexpr uint32_t kMaxDiscardSectors = 1u << 22; // 2 GiB per segment
    static constexpr uint32_t kMaxDiscardSegments = 16;
    static constexpr uint32_t kMaxZeroesSectors = 1u << 22;
    static constexpr uint32_t kMaxZeroesSegments = 16;
    static constexpr size_t kSerialBytes = VIRTIO_BLK_ID_BYTES; // 20

    // Serves `image` through `queues` request queues (1 to 16).
    VirtioBlockDevice(GuestMemory& memory, std::shared_ptr<storage::DiskImage> image,
                      unsigned queues = 1);
    ~VirtioBlockDevice() override;

    std::string name() const override;
    uint16_t deviceId() const override { return kDeviceId; }
    uint32_t pciClassCode() const override { return kPciClass; }
    uint64_t features() const override;
    unsigned queueCount() const override { return static_cast<unsigned>(queues_.size()); }
    uint16_t maxQueueSize() const override { return kQueueSize; }
    uint32_t configSize() const override { return sizeof(config_); }
    void readConfig(uint32_t offset, std::span<uint8_t> data) override;
    uint32_t serve(unsigned queue, const Chain& chain) override;
    void describe(StateVisitor& state, uint32_t firstGroup) override;

    storage::DiskImage& image() { return *image_; }
    const std::string& serial() const { return serial_; }

private:
    struct Queue {
        std::unique_ptr<BlockRequestHandler> handler;
        std::atomic<uint64_t> requests{0};
        std::atomic<uint64_t> inFlight{0};
        std::atomic<uint64_t> bytesRead{0};
        std::atomic<uint64_t> bytesWritten{0};
        std::atomic<uint64_t> errors{0}; // requests that ended other than VIRTIO_BLK_S_OK
    };

    std::shared_ptr<storage::DiskImage> image_; // shared with the next boot's device
    std::string serial_;
    virtio_blk_config config_{};
    std::vector<std::unique_ptr<Queue>> queues_;
    std::vector<std::string> groupNames_;
};

} // namespace kvmscope::virtio
