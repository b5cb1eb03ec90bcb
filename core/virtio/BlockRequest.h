#pragma once
// One virtio-blk request (VIRTIO 1.2, 5.2.6 "Device Operation"), served against a disk image: the
// chain holds the request header (type, sector), the data, and a status byte the device writes
// last. Reads and writes go straight between the image and guest RAM (preadv/pwritev on the
// chain's buffers); a flush returns only after fdatasync has.
//
// The header and the segments may be split across buffers in any way (2.6.4, "message framing"),
// so they are gathered byte by byte rather than taken from the first buffer.
#include "virtio/SplitQueue.h"

#include <cstdint>
#include <string>
#include <sys/uio.h>
#include <vector>

namespace kvmscope {
class GuestMemory;
}
namespace kvmscope::storage {
class DiskImage;
}

namespace kvmscope::virtio {

// What the device offers the driver in its configuration (5.2.4), as far as requests obey it.
struct BlockLimits {
    std::string serial;              // GET_ID's answer, at most 20 bytes (VIRTIO_BLK_ID_BYTES)
    uint32_t maxDiscardSectors = 0;  // per segment; 0: DISCARD not offered
    uint32_t maxDiscardSegments = 1; // per request
    uint32_t maxZeroesSectors = 0;   // per segment; 0: WRITE_ZEROES not offered
    uint32_t maxZeroesSegments = 1;  // per request
};

struct BlockOutcome {
    uint32_t type = 0;    // VIRTIO_BLK_T_*
    uint8_t status = 0;   // VIRTIO_BLK_S_*
    uint32_t written = 0; // bytes written into the chain's writable buffers (for the used ring)
    uint64_t bytes = 0;   // data bytes moved to or from the image
    int error = 0;        // the image's errno behind an IOERR, 0 otherwise
};

class BlockRequestHandler {
public:
    BlockRequestHandler(GuestMemory& memory, storage::DiskImage& image, BlockLimits limits);

    // Serves `chain` and writes its status byte. Throws QueueError when the chain cannot carry a
    // request at all (no 16-byte header, no writable status byte): the device then needs a reset.
    BlockOutcome serve(const Chain& chain);

    const BlockLimits& limits() const { return limits_; }

private:
    bool gather(const Chain& chain, uint64_t skip, bool writable, uint64_t length);
    uint8_t serveSegments(const Chain& chain, uint32_t type, BlockOutcome& outcome);
    bool inRange(uint64_t sector, uint64_t bytes) const;

    GuestMemory& memory_;
    storage::DiskImage& image_;
    BlockLimits limits_;
    std::vector<iovec> vectors_; // reused from request to request
};

} // namespace kvmscope::virtio
