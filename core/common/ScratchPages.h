#pragma once
// A large temporary that is written once, front to back, then read once: anonymous memory
// reserved with MAP_NORESERVE, so that pages nobody writes read as zero without being backed.
// append() leaves a page alone when the bytes for it are all zero, so a buffer costs only its
// non-zero pages of RSS (a decompressed vmlinux is a third zeros: bss, padding, .init.scratch),
// and release() hands pages back to the kernel as soon as their bytes have been used, so that a
// copy out of the buffer does not hold source and destination at once (docs/benchmarks.md, RSS).
#include <cstdint>
#include <span>

namespace kvmscope {

class ScratchPages {
public:
    ScratchPages() = default;
    // Reserves room for `capacity` bytes (at least one), all reading as zero. Throws Error when
    // mmap fails.
    explicit ScratchPages(uint64_t capacity);
    ~ScratchPages();
    ScratchPages(ScratchPages&& other) noexcept;
    ScratchPages& operator=(ScratchPages&& other) noexcept;
    ScratchPages(const ScratchPages&) = delete;
    ScratchPages& operator=(const ScratchPages&) = delete;

    uint64_t capacity() const { return capacity_; }
    // The bytes appended so far.
    uint64_t size() const { return size_; }
    uint64_t room() const { return capacity_ - size_; }
    std::span<const uint8_t> bytes() const { return {data_, size_}; }

    // Appends `data` after the bytes appended before and returns how many fitted (all of them
    // unless room() ran out). Since every byte is written at most once and the reservation
    // starts out zero, a piece of a page whose bytes are all zero need not be written at all.
    uint64_t append(std::span<const uint8_t> data);

    // For a writer that needs the whole destination at once (a one-shot decompressor): the
    // unwritten rest of the buffer, whose pages are backed as they are written, zeros or not;
    // commit(count) then appends its first `count` bytes (at most room()).
    std::span<uint8_t> unwritten() { return {data_ + size_, capacity_ - size_}; }
    void commit(uint64_t count);

    // Gives the whole pages below `end` (at most size()) back to the kernel, for a reader that
    // is done with the bytes in front of `end` (madvise(MADV_DONTNEED) on private anonymous
    // memory): they read as zero afterwards. A page that reaches past `end` is kept; an `end`
    // below an earlier one changes nothing.
    void releaseBelow(uint64_t end);

private:
    void unmap();

    uint8_t* data_ = nullptr;
    uint64_t capacity_ = 0;
    uint64_t mappedSize_ = 0; // capacity_ rounded up to whole pages
    uint64_t size_ = 0;
    uint64_t released_ = 0; // pages below this were given back
};

// True when every byte of `bytes` is zero (true for an empty span).
bool isAllZero(std::span<const uint8_t> bytes);

} // namespace kvmscope
