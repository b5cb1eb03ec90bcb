#include "boot/MultibootHeader.h"

#include <algorithm>
#include <cstring>

namespace kvmscope::boot {
namespace {

uint32_t readWord(std::span<const uint8_t> image, uint64_t offset) {
    uint32_t value;
    std::memcpy(&value, image.data() + offset, sizeof value);
    return value;
}

} // namespace

MultibootHeaderSearch searchMultibootHeader(std::span<const uint8_t> image) {
    MultibootHeaderSearch search;
    // 3.1.1: the header lies completely within the first 8192 bytes (and within the file).
    const uint64_t limit = std::min<uint64_t>(image.size(), multiboot::kHeaderSearchLimit);
    for (uint64_t offset = 0; offset + multiboot::kHeaderMinimumSize <= limit;
         offset += multiboot::kHeaderAlignment) {
        if (readWord(image, offset) != multiboot::kHeaderMagic)
            continue;
        const uint32_t flags = readWord(image, offset + 4);
        const uint32_t checksum = readWord(image, offset + 8);
        if (!search.firstMagicOffset) {
            search.firstMagicOffset = offset;
            search.firstMagicFlags = flags;
            search.firstMagicChecksum = checksum;
        }
        if (static_cast<uint32_t>(multiboot::kHeaderMagic + flags + checksum) == 0) {
            search.headerOffset = offset;
            break;
        }
    }
    return search;
}

} // namespace kvmscope::boot
