// A virtio-blk queue as a hostile driver writes it: the split virtqueue (virtio/SplitQueue.h)
// takes chains from rings and descriptors the input fills, and each chain is served as a
// virtio-blk request (virtio/BlockRequest.h) against a small in-memory raw image. Loops, buffers
// outside RAM, zero and huge lengths, indirect tables and headers split anywhere must end as a
// QueueError or a request status, never a crash, a hang, or a write outside the chain.
//
// Input: the queue size's exponent (size = 1 << (byte % 9)), a flags byte (bit 0 indirect
// descriptors, bit 1 event index), the available index (16 bits), then guest memory from
// 0x10000 on: the descriptor table (16 * size bytes), the available ring, the used ring (4-byte
// aligned), and whatever buffers the descriptors point at.
#include "FuzzSupport.h"
#include "machine/GuestMemory.h"
#include "storage/DiskImage.h"
#include "virtio/BlockRequest.h"

#include <linux/virtio_blk.h>
#include <memory>

namespace {

constexpr uint64_t kRam = 1 << 20;
constexpr uint64_t kQueueBase = 0x10000;
constexpr uint64_t kImageSize = 64 * 1024;
constexpr int kMaxRequests = 64;

kvmscope::storage::DiskImage& image() {
    static kvmscope::fuzz::MemoryFile file("fuzz_virtio_block.img");
    static std::unique_ptr<kvmscope::storage::DiskImage> disk = [] {
        file.assignZeros(kImageSize);
        kvmscope::storage::DiskSpec spec;
        spec.path = file.path();
        spec.formatGiven = true;
        return std::make_unique<kvmscope::storage::DiskImage>(spec);
    }();
    return *disk;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kvmscope;
    using fuzz::check;
    fuzz::InputReader input(data, size);
    const auto queueSize = static_cast<uint16_t>(1u << (input.read<uint8_t>() % 9));
    const uint8_t flags = input.read<uint8_t>();
    const uint16_t availableIndex = input.read<uint16_t>();

    GuestMemory memory(kRam);
    const auto bytes = input.rest();
    memory.write(kQueueBase, bytes.data(), std::min<uint64_t>(bytes.size(), kRam - kQueueBase));
    virtio::QueueLayout layout;
    layout.size = queueSize;
    layout.descriptorTable = kQueueBase;
    layout.availableRing = kQueueBase + 16ull * queueSize;
    layout.usedRing = (layout.availableRing + 6 + 2ull * queueSize + 3) & ~3ull;
    memory.writeValue<uint16_t>(layout.availableRing + 2, availableIndex);

    virtio::BlockLimits limits;
    limits.serial = "fuzz";
    limits.maxDiscardSectors = 16;
    limits.maxDiscardSegments = 4;
    limits.maxZeroesSectors = 16;
    limits.maxZeroesSegments = 4;
    try {
        virtio::SplitQueue queue(memory, layout, flags & 1, flags & 2);
        virtio::BlockRequestHandler handler(memory, image(), limits);
        virtio::Chain chain;
        for (int served = 0; served < kMaxRequests && queue.pop(chain); ++served) {
            check(chain.buffers.size() <= std::max<size_t>(queueSize, 1024),
                  "a chain longer than the queue and an indirect table allow");
            const virtio::BlockOutcome outcome = handler.serve(chain);
            check(outcome.written <= chain.writableBytes(),
                  "the device claims more bytes written than the chain can take");
            check(outcome.status <= VIRTIO_BLK_S_UNSUPP, "a status virtio-blk does not define");
            check(outcome.status != VIRTIO_BLK_S_OK || outcome.bytes <= kImageSize ||
                      outcome.type == VIRTIO_BLK_T_FLUSH,
                  "more data moved than the image holds");
            queue.push(chain.head, outcome.written);
            queue.driverWantsInterrupt();
        }
    } catch (const virtio::QueueError&) {
        // The driver broke the queue: the device needs a reset. That is the expected end.
    } catch (const std::exception& error) {
        fuzz::failOnException("the virtio-blk queue", error);
    }
    return 0;
}
