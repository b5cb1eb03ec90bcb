#pragma once
// What every kvmscope fuzz target shares: a way to report a finding that libFuzzer records as a
// crash (with the input that caused it), little-endian field reads from the input, and an
// in-memory file that kvmscope's path-based loaders can open.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <span>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace kvmscope::fuzz {

// A broken invariant or an unexpected exception: print why, then abort() so that libFuzzer stops,
// writes the input to crash-<sha1> and the run fails.
[[noreturn]] inline void fail(const std::string& why) {
    std::fprintf(stderr, "kvmscope fuzz finding: %s\n", why.c_str());
    std::fflush(stderr);
    std::abort();
}

inline void check(bool condition, const char* what) {
    if (!condition)
        fail(what);
}

// An exception type the code under test must never let escape here.
[[noreturn]] inline void failOnException(const char* where, const std::exception& error) {
    fail(std::string(where) + " threw an unexpected exception: " + error.what());
}

// Reads fields from the front of the input; past its end every read yields zeros, so that any
// input decodes to some configuration (libFuzzer explores the short ones first).
class InputReader {
public:
    InputReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

    template <typename T> T read() {
        T value{};
        const size_t count = std::min(sizeof value, size_ - offset_);
        std::memcpy(&value, data_ + offset_, count);
        offset_ += count;
        return value;
    }
    bool empty() const { return offset_ >= size_; }
    std::span<const uint8_t> rest() const { return {data_ + offset_, size_ - offset_}; }
    std::span<const uint8_t> take(size_t count) {
        count = std::min(count, size_ - offset_);
        const std::span<const uint8_t> bytes(data_ + offset_, count);
        offset_ += count;
        return bytes;
    }

private:
    const uint8_t* data_;
    size_t size_;
    size_t offset_ = 0;
};

// An anonymous in-memory file (memfd_create(2)) reachable by a path, /proc/self/fd/N, so that
// boot::loadImage reads fuzz input exactly as it reads an image from disk.
class MemoryFile {
public:
    explicit MemoryFile(const char* name) : fd_(::memfd_create(name, MFD_CLOEXEC)) {
        if (fd_ < 0)
            fail(std::string("memfd_create failed: ") + std::strerror(errno));
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    ~MemoryFile() { ::close(fd_); }
    MemoryFile(const MemoryFile&) = delete;
    MemoryFile& operator=(const MemoryFile&) = delete;

    const std::string& path() const { return path_; }

    // Replaces the contents with `bytes`.
    void assign(std::span<const uint8_t> bytes) {
        resize(0);
        size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t count =
                ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
            if (count <= 0)
                fail(std::string("writing the memfd failed: ") + std::strerror(errno));
            done += static_cast<size_t>(count);
        }
    }
    // `size` bytes of zeros (a sparse file; what the loaders copy does not matter).
    void assignZeros(uint64_t size) {
        resize(0);
        resize(size);
    }

private:
    void resize(uint64_t size) {
        if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
            fail(std::string("ftruncate on the memfd failed: ") + std::strerror(errno));
    }

    int fd_;
    std::string path_;
};

} // namespace kvmscope::fuzz
