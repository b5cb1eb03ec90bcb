#pragma once
// A regular file mapped read-only (mmap(2), MAP_PRIVATE): the loaders read an image or an initrd
// through it instead of through a heap copy, so the bytes are held once, in the page cache, and
// stop counting against kvmscope's RSS when the mapping goes (docs/benchmarks.md, RSS).
//
// A file that another process truncates while it is mapped loses the pages past its new end:
// touching them raises SIGBUS, which would kill kvmscope. While a MappedFile exists, a SIGBUS
// handler (put in front whenever a file is mapped, chaining to the handler it displaced: the
// default action, a sanitizer's) recognises a fault
// inside a mapping, puts a zero page where the lost one was so that the read completes, and
// marks the mapping: shrank() then tells the loader that what it read is not the file.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace kvmscope {

class MappedFile {
public:
    MappedFile() = default;
    // Maps the first `size` bytes (the size fstat(2) reported; at least one) of the open file
    // `fd`; the descriptor may be closed afterwards. `path` names the file in errors: a failing
    // mmap is a LoadError. Only [0, size) is ever read, so a file that grows meanwhile is read as
    // it was. Throws Error when more than kMaxMappings files are mapped at once.
    MappedFile(int fd, uint64_t size, const std::string& path);
    ~MappedFile();
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    std::span<const uint8_t> bytes() const { return {data_, size_}; }
    uint64_t size() const { return size_; }

    // True once a read hit a page the file no longer had (it was truncated while mapped) or that
    // could not be read (an I/O error): the bytes read there were zeros, not the file's.
    bool shrank() const;

    // Says that the bytes of `range` have been read and will not be needed again soon: the whole
    // pages inside it that belong to a live MappedFile leave kvmscope's RSS (madvise
    // MADV_DONTNEED on a read-only private file mapping drops the process's reference only; the
    // page cache keeps them, and a later read faults them in again with the same bytes). Bytes
    // outside every mapping, a heap buffer's say, are left alone, so a loader may call this on
    // whatever span it was given.
    static void releaseRead(std::span<const uint8_t> range);

    // How many files may be mapped at the same time (an image and an initrd per load).
    static constexpr size_t kMaxMappings = 16;

private:
    void unmap();

    const uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
    size_t slot_ = 0; // this mapping's entry in the SIGBUS handler's table
};

} // namespace kvmscope
