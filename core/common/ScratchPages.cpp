#include "common/ScratchPages.h"

#include "common/Error.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>
#include <utility>

namespace kvmscope {
namespace {

uint64_t pageSize() {
    static const uint64_t size = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

} // namespace

bool isAllZero(std::span<const uint8_t> bytes) {
    // Zero at the front and every byte equal to the one before it: memcmp does the scan at the
    // speed of the library's vectorised compare.
    return bytes.empty() ||
           (bytes[0] == 0 && std::memcmp(bytes.data(), bytes.data() + 1, bytes.size() - 1) == 0);
}

ScratchPages::ScratchPages(uint64_t capacity) : capacity_(capacity) {
    if (capacity == 0)
        throw Error("a scratch buffer of 0 bytes was asked for");
    const uint64_t page = pageSize();
    mappedSize_ = (capacity + page - 1) & ~(page - 1);
    void* mapping = ::mmap(nullptr, mappedSize_, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapping == MAP_FAILED)
        throw Error(fmt::format("cannot reserve a {:#x}-byte scratch buffer: mmap: {}", capacity,
                                std::strerror(errno)));
    data_ = static_cast<uint8_t*>(mapping);
    // Where transparent huge pages are "always", one written byte would back its whole 2 MiB,
    // zeros included; 4 KiB pages keep the cost at the non-zero pages. Only a hint: ignore a
    // kernel without THP.
    ::madvise(mapping, mappedSize_, MADV_NOHUGEPAGE);
}

ScratchPages::~ScratchPages() {
    unmap();
}

ScratchPages::ScratchPages(ScratchPages&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), capacity_(std::exchange(other.capacity_, 0)),
      mappedSize_(std::exchange(other.mappedSize_, 0)), size_(std::exchange(other.size_, 0)),
      released_(std::exchange(other.released_, 0)) {}

ScratchPages& ScratchPages::operator=(ScratchPages&& other) noexcept {
    if (this != &other) {
        unmap();
        data_ = std::exchange(other.data_, nullptr);
        capacity_ = std::exchange(other.capacity_, 0);
        mappedSize_ = std::exchange(other.mappedSize_, 0);
        size_ = std::exchange(other.size_, 0);
        released_ = std::exchange(other.released_, 0);
    }
    return *this;
}

void ScratchPages::unmap() {
    if (data_)
        ::munmap(data_, mappedSize_);
    data_ = nullptr;
}

uint64_t ScratchPages::append(std::span<const uint8_t> data) {
    const uint64_t count = std::min<uint64_t>(data.size(), room());
    const uint64_t page = pageSize();
    uint64_t done = 0;
    while (done < count) {
        // One page of the destination at a time: [position, the next page boundary).
        const uint64_t position = size_ + done;
        const uint64_t piece = std::min(count - done, page - (position & (page - 1)));
        const std::span<const uint8_t> bytes = data.subspan(done, piece);
        if (!isAllZero(bytes))
            std::memcpy(data_ + position, bytes.data(), piece);
        done += piece;
    }
    size_ += count;
    return count;
}

void ScratchPages::commit(uint64_t count) {
    if (count > room())
        throw Error(fmt::format("committing {:#x} bytes to a scratch buffer with room for {:#x}",
                                count, room()));
    size_ += count;
}

void ScratchPages::releaseBelow(uint64_t end) {
    const uint64_t last = std::min(end, size_) & ~(pageSize() - 1);
    // MADV_DONTNEED on private anonymous memory cannot fail for whole pages inside the mapping:
    // they are dropped and fault back in as zero.
    if (last > released_)
        ::madvise(data_ + released_, last - released_, MADV_DONTNEED);
    released_ = std::max(released_, last);
}

} // namespace kvmscope
