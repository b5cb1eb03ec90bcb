#include "boot/GuestCopy.h"

#include "common/MappedFile.h"

#include <algorithm>

namespace kvmscope::boot {
namespace {

// Large enough that madvise is called rarely, small enough that the copy's transient share of
// the RSS stays small beside the guest's own pages.
constexpr uint64_t kCopyChunkSize = 2ull << 20;

} // namespace

void copyIntoGuest(GuestMemory& memory, uint64_t address, std::span<const uint8_t> bytes) {
    for (uint64_t done = 0; done < bytes.size(); done += kCopyChunkSize) {
        const std::span<const uint8_t> piece =
            bytes.subspan(done, std::min<uint64_t>(kCopyChunkSize, bytes.size() - done));
        memory.write(address + done, piece.data(), piece.size());
        MappedFile::releaseRead(piece);
    }
}

} // namespace kvmscope::boot
