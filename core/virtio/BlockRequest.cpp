#include "virtio/BlockRequest.h"

#include "machine/GuestMemory.h"
#include "storage/DiskImage.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <linux/virtio_blk.h>

namespace kvmscope::virtio {
namespace {

constexpr uint64_t kHeaderSize = sizeof(virtio_blk_outhdr); // 16 bytes (5.2.6)
constexpr uint64_t kSegmentSize = sizeof(virtio_blk_discard_write_zeroes);
constexpr uint64_t kSector = storage::DiskImage::kSectorSize;

uint8_t statusOf(int error) {
    return error == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
}

} // namespace

BlockRequestHandler::BlockRequestHandler(GuestMemory& memory, storage::DiskImage& image,
                                         BlockLimits limits)
    : memory_(memory), image_(image), limits_(std::move(limits)) {}

bool BlockRequestHandler::inRange(uint64_t sector, uint64_t bytes) const {
    // Sector numbers count 512-byte units whatever the block size (5.2.6).
    return sector <= image_.sectors() && bytes <= (image_.sectors() - sector) * kSector;
}

// Host views of `length` bytes of the chain's readable (or writable) buffers, after `skip` bytes
// of them; false when the chain holds fewer.
bool BlockRequestHandler::gather(const Chain& chain, uint64_t skip, bool writable,
                                 uint64_t length) {
    vectors_.clear();
    for (const Buffer& buffer : chain.buffers) {
        if (buffer.deviceWritable != writable || length == 0)
            continue;
        if (skip >= buffer.length) {
            skip -= buffer.length;
            continue;
        }
        const uint64_t take = std::min<uint64_t>(buffer.length - skip, length);
        const auto bytes = memory_.span(buffer.address + skip, take);
        vectors_.push_back({bytes.data(), bytes.size()});
        length -= take;
        skip = 0;
    }
    return length == 0;
}

BlockOutcome BlockRequestHandler::serve(const Chain& chain) {
    const uint64_t readable = chain.readableBytes();
    if (readable < kHeaderSize)
        throw QueueError(fmt::format("chain {}: a virtio-blk request starts with a {}-byte "
                                     "header; the chain has {} device-readable bytes",
                                     chain.head, kHeaderSize, readable));
    if (chain.buffers.empty() || !chain.buffers.back().deviceWritable ||
        chain.buffers.back().length == 0)
        throw QueueError(fmt::format("chain {}: a virtio-blk request ends with a device-writable "
                                     "status byte; the chain has none",
                                     chain.head));
    virtio_blk_outhdr header{};
    gather(chain, 0, false, kHeaderSize);
    uint8_t* into = reinterpret_cast<uint8_t*>(&header);
    for (const iovec& vector : vectors_) {
        std::memcpy(into, vector.iov_base, vector.iov_len);
        into += vector.iov_len;
    }
    const Buffer& last = chain.buffers.back();
    const uint64_t statusAddress = last.address + last.length - 1;
    const uint64_t dataIn = chain.writableBytes() - 1; // for the driver, before the status
    const uint64_t dataOut = readable - kHeaderSize;   // from the driver, after the header

    BlockOutcome outcome;
    outcome.type = header.type;
    uint32_t dataWritten = 0;
    switch (header.type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT: {
        const bool writing = header.type == VIRTIO_BLK_T_OUT;
        const uint64_t length = writing ? dataOut : dataIn;
        // 5.2.6.2: a write to a read-only device fails and writes nothing; data comes in whole
        // sectors; the range must lie inside the capacity.
        if ((writing && image_.readOnly()) || length % kSector != 0 ||
            !inRange(header.sector, length)) {
            outcome.status = VIRTIO_BLK_S_IOERR;
            break;
        }
        gather(chain, writing ? kHeaderSize : 0, !writing, length);
        const uint64_t offset = header.sector * kSector;
        const int count = static_cast<int>(vectors_.size());
        outcome.error = writing ? image_.write(vectors_.data(), count, offset)
                                : image_.read(vectors_.data(), count, offset);
        outcome.status = statusOf(outcome.error);
        if (outcome.error == 0) {
            outcome.bytes = length;
            dataWritten = writing ? 0 : static_cast<uint32_t>(length);
        }
        break;
    }
    case VIRTIO_BLK_T_FLUSH:
        outcome.error = image_.flush();
        outcome.status = statusOf(outcome.error);
        break;
    case VIRTIO_BLK_T_GET_ID: {
        // 5.2.6: up to VIRTIO_BLK_ID_BYTES bytes, NUL-padded, not NUL-terminated when full.
        char id[VIRTIO_BLK_ID_BYTES] = {};
        std::memcpy(id, limits_.serial.data(),
                    std::min<size_t>(limits_.serial.size(), VIRTIO_BLK_ID_BYTES));
        const uint64_t length = std::min<uint64_t>(dataIn, VIRTIO_BLK_ID_BYTES);
        gather(chain, 0, true, length);
        const char* from = id;
        for (const iovec& vector : vectors_) {
            std::memcpy(vector.iov_base, from, vector.iov_len);
            from += vector.iov_len;
        }
        dataWritten = static_cast<uint32_t>(length);
        outcome.status = VIRTIO_BLK_S_OK;
        break;
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        outcome.status = serveSegments(chain, header.type, outcome);
        break;
    default:
        outcome.status = VIRTIO_BLK_S_UNSUPP;
        break;
    }
    memory_.write(statusAddress, &outcome.status, 1);
    outcome.written = dataWritten + 1;
    return outcome;
}

uint8_t BlockRequestHandler::serveSegments(const Chain& chain, uint32_t type,
                                           BlockOutcome& outcome) {
    const bool zeroes = type == VIRTIO_BLK_T_WRITE_ZEROES;
    const uint32_t maxSectors = zeroes ? limits_.maxZeroesSectors : limits_.maxDiscardSectors;
    const uint32_t maxSegments = zeroes ? limits_.maxZeroesSegments : limits_.maxDiscardSegments;
    const uint64_t bytes = chain.readableBytes() - kHeaderSize;
    // 5.2.6.2: not offered, malformed, more segments or sectors than the configuration allows,
    // or a flag the command does not know: unsupported.
    if (maxSectors == 0 || bytes == 0 || bytes % kSegmentSize != 0 ||
        bytes / kSegmentSize > maxSegments)
        return VIRTIO_BLK_S_UNSUPP;
    std::vector<virtio_blk_discard_write_zeroes> segments(bytes / kSegmentSize);
    gather(chain, kHeaderSize, false, bytes);
    uint8_t* into = reinterpret_cast<uint8_t*>(segments.data());
    for (const iovec& vector : vectors_) {
        std::memcpy(into, vector.iov_base, vector.iov_len);
        into += vector.iov_len;
    }
    const uint32_t knownFlags = zeroes ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
    for (const auto& segment : segments) {
        if ((segment.flags & ~knownFlags) != 0 || segment.num_sectors > maxSectors)
            return VIRTIO_BLK_S_UNSUPP;
        if (!inRange(segment.sector, uint64_t{segment.num_sectors} * kSector))
            return VIRTIO_BLK_S_IOERR;
    }
    if (image_.readOnly())
        return VIRTIO_BLK_S_IOERR;
    for (const auto& segment : segments) {
        const uint64_t offset = segment.sector * kSector;
        const uint64_t length = uint64_t{segment.num_sectors} * kSector;
        int error = zeroes ? image_.writeZeroes(offset, length,
                                                segment.flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
                           : image_.discard(offset, length);
        // A discard is a hint: where the file system cannot free the range, it stays as it was.
        if (!zeroes && (error == EOPNOTSUPP || error == ENOSYS))
            error = 0;
        if (error != 0) {
            outcome.error = error;
            return VIRTIO_BLK_S_IOERR;
        }
        outcome.bytes += length;
    }
    return VIRTIO_BLK_S_OK;
}

} // namespace kvmscope::virtio
