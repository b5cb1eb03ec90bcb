#include "virtio/VirtioBlockDevice.h"

#include "common/Error.h"
#include "storage/DiskImage.h"
#include "virtio/Ring.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>

namespace kvmscope::virtio {
namespace {

constexpr unsigned kMaxQueues = 16;

constexpr uint64_t bit(unsigned feature) {
    return uint64_t{1} << feature;
}

} // namespace

VirtioBlockDevice::VirtioBlockDevice(GuestMemory& memory, std::shared_ptr<storage::DiskImage> image,
                                     unsigned queues)
    : image_(std::move(image)) {
    if (queues == 0 || queues > kMaxQueues)
        throw Error(fmt::format("virtio-blk {}: {} queues, 1 to {} allowed", image_->path(), queues,
                                kMaxQueues));
    // 5.2.6: GET_ID's answer is at most 20 bytes, not NUL-terminated when full.
    serial_ = std::filesystem::path(image_->path()).filename().string().substr(0, kSerialBytes);

    // 5.2.4: every field little-endian; those of features not offered stay 0.
    config_.capacity = image_->sectors();
    config_.size_max = kMaxSegmentBytes;
    // 5.2.4: seg_max counts data segments; the header and status take two more descriptors.
    config_.seg_max = kQueueSize - 2;
    config_.blk_size = kBlockSize;
    config_.num_queues = static_cast<uint16_t>(queues);
    BlockLimits limits;
    limits.serial = serial_;
    if (!image_->readOnly()) {
        config_.max_discard_sectors = kMaxDiscardSectors;
        config_.max_discard_seg = kMaxDiscardSegments;
        config_.discard_sector_alignment = kBlockSize / storage::DiskImage::kSectorSize;
        config_.max_write_zeroes_sectors = kMaxZeroesSectors;
        config_.max_write_zeroes_seg = kMaxZeroesSegments;
        config_.write_zeroes_may_unmap = 1;
        limits.maxDiscardSectors = kMaxDiscardSectors;
        limits.maxDiscardSegments = kMaxDiscardSegments;
        limits.maxZeroesSectors = kMaxZeroesSectors;
        limits.maxZeroesSegments = kMaxZeroesSegments;
    }
    for (unsigned index = 0; index < queues; ++index) {
        auto queue = std::make_unique<Queue>();
        queue->handler = std::make_unique<BlockRequestHandler>(memory, *image_, limits);
        queues_.push_back(std::move(queue));
        groupNames_.push_back(fmt::format("requests of queue {}", index));
    }
}

VirtioBlockDevice::~VirtioBlockDevice() = default;

std::string VirtioBlockDevice::name() const {
    return fmt::format("virtio-blk {}", std::filesystem::path(image_->path()).filename().string());
}

uint64_t VirtioBlockDevice::features() const {
    uint64_t offered = bit(VIRTIO_BLK_F_SIZE_MAX) | bit(VIRTIO_BLK_F_SEG_MAX) |
                       bit(VIRTIO_BLK_F_BLK_SIZE) | bit(VIRTIO_BLK_F_FLUSH) |
                       bit(ring::kFeatureIndirectDescriptors) | bit(ring::kFeatureEventIndex);
    if (image_->readOnly())
        offered |= bit(VIRTIO_BLK_F_RO);
    else
        offered |= bit(VIRTIO_BLK_F_DISCARD) | bit(VIRTIO_BLK_F_WRITE_ZEROES);
    if (queues_.size() > 1)
        offered |= bit(VIRTIO_BLK_F_MQ);
    return offered;
}

void VirtioBlockDevice::readConfig(uint32_t offset, std::span<uint8_t> data) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(&config_);
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = offset + i < sizeof(config_) ? bytes[offset + i] : 0;
}

uint32_t VirtioBlockDevice::serve(unsigned queueIndex, const Chain& chain) {
    Queue& queue = *queues_.at(queueIndex);
    ++queue.requests;
    ++queue.inFlight;
    struct Done {
        Queue& queue;
        ~Done() { --queue.inFlight; }
    } done{queue};
    try {
        const BlockOutcome outcome = queue.handler->serve(chain);
        if (outcome.status != VIRTIO_BLK_S_OK)
            ++queue.errors;
        else if (outcome.type == VIRTIO_BLK_T_IN)
            queue.bytesRead += outcome.bytes;
        else if (outcome.type == VIRTIO_BLK_T_OUT)
            queue.bytesWritten += outcome.bytes;
        return outcome.written;
    } catch (...) {
        ++queue.errors;
        throw;
    }
}

void VirtioBlockDevice::describe(StateVisitor& state, uint32_t firstGroup) {
    state.group(firstGroup, "disk");
    state.readOnlyBytes("path", "the image file", [this] {
        return std::vector<uint8_t>(image_->path().begin(), image_->path().end());
    });
    state.readOnly("size", AttrType::U64, "bytes", [this] { return image_->size(); });
    state.readOnly("capacity", AttrType::U64, "5.2.4: capacity, in 512-byte sectors",
                   [this] { return image_->sectors(); });
    state.readOnly("read-only", AttrType::Bool, "VIRTIO_BLK_F_RO: writes fail with IOERR",
                   [this] { return uint64_t{image_->readOnly()}; });
    state.readOnlyBytes("serial", "GET_ID's answer (the file name, at most 20 bytes)",
                        [this] { return std::vector<uint8_t>(serial_.begin(), serial_.end()); });
    for (unsigned index = 0; index < queues_.size(); ++index) {
        Queue& queue = *queues_[index];
        state.group(firstGroup + 1 + index, groupNames_[index]);
        // Counters are saved, so that a restored machine's go on from where they were; none
        // is in flight at a save (the transport holds the requests first).
        const auto counter = [&state](std::string_view name, std::string_view description,
                                      std::atomic<uint64_t>& value) {
            state.computed(
                {name, AttrType::U64, AttrAccess::Read, description, StateUse::ShownAndSaved},
                [&value] { return value.load(); },
                [&value](uint64_t saved) { value.store(saved); });
        };
        counter("requests", "chains served", queue.requests);
        state.readOnly("in flight", AttrType::U64, "requests being served now",
                       [&queue] { return queue.inFlight.load(); });
        counter("bytes read", "data read from the image (VIRTIO_BLK_T_IN)", queue.bytesRead);
        counter("bytes written", "data written to the image (VIRTIO_BLK_T_OUT)",
                queue.bytesWritten);
        counter("errors", "requests that ended IOERR or UNSUPP, or that broke the queue",
                queue.errors);
    }
}

} // namespace kvmscope::virtio
