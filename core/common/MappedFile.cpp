#include "common/MappedFile.h"

#include "common/Error.h"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>
#include <utility>

namespace kvmscope {
namespace {

// What the SIGBUS handler knows of each live mapping. The handler only reads these atomics
// (lock-free, so async-signal-safe); constructors and destructors claim and free entries.
constexpr uintptr_t kFree = 0;
constexpr uintptr_t kClaimed = 1; // taken by a mapping that is not made yet

struct GuardedRange {
    std::atomic<uintptr_t> start{kFree}; // or kClaimed, or the mapping's first byte
    std::atomic<uintptr_t> end{0};
    std::atomic<bool> faulted{false};
};
std::array<GuardedRange, MappedFile::kMaxMappings> guardedRanges;
struct sigaction previousAction {};
std::mutex handlerMutex;
// Read once outside the handler (sysconf is not async-signal-safe).
const uintptr_t pageSize = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));

void onSigbus(int signal, siginfo_t* info, void* context) {
    const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
    for (GuardedRange& range : guardedRanges) {
        const uintptr_t start = range.start.load(std::memory_order_acquire);
        if (start <= kClaimed || address < start ||
            address >= range.end.load(std::memory_order_acquire))
            continue;
        // A page past the file's new end (or one the file system could not read): map zeros over
        // it (mmap is a plain system call here, safe in a handler) and let the faulting read run
        // again. The mapping is marked, so the zeros never pass for the file's bytes.
        void* lost = reinterpret_cast<void*>(address & ~(pageSize - 1));
        if (::mmap(lost, pageSize, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
            MAP_FAILED) {
            range.faulted.store(true, std::memory_order_release);
            return;
        }
        break; // cannot repair: treat it as any other SIGBUS
    }
    // Not a mapped file's page: whatever handled SIGBUS before (a sanitizer, the default action)
    // decides. For the default, restore it and return: the access faults again and kills.
    if (previousAction.sa_flags & SA_SIGINFO) {
        previousAction.sa_sigaction(signal, info, context);
    } else if (previousAction.sa_handler == SIG_DFL || previousAction.sa_handler == SIG_IGN) {
        ::signal(SIGBUS, SIG_DFL);
    } else {
        previousAction.sa_handler(signal);
    }
}

// Puts onSigbus in front unless it is there already: checked for every new mapping, so that a
// handler installed after kvmscope's (a test framework's, say) does not leave mappings unguarded.
void installHandler() {
    const std::lock_guard lock(handlerMutex);
    struct sigaction current {};
    ::sigaction(SIGBUS, nullptr, &current);
    if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == onSigbus)
        return;
    struct sigaction action {};
    action.sa_sigaction = onSigbus;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGBUS, &action, &previousAction);
}

} // namespace

MappedFile::MappedFile(int fd, uint64_t size, const std::string& path) : size_(size) {
    if (size == 0)
        throw LoadError(path, "cannot map an empty file");
    installHandler();
    size_t slot = 0;
    uintptr_t free = kFree;
    // Claim an entry so that no other mapping takes it; the handler ignores it until the range
    // is stored below, end before start.
    while (slot < guardedRanges.size() &&
           !guardedRanges[slot].start.compare_exchange_strong(free, kClaimed)) {
        free = kFree;
        ++slot;
    }
    if (slot == guardedRanges.size())
        throw Error(fmt::format("{}: more than {} files are mapped at once", path, kMaxMappings));
    void* mapping = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapping == MAP_FAILED) {
        const int error = errno;
        guardedRanges[slot].start.store(kFree, std::memory_order_release);
        throw LoadError(path, fmt::format("cannot map its {:#x} bytes read-only: mmap: {}", size,
                                          std::strerror(error)));
    }
    data_ = static_cast<const uint8_t*>(mapping);
    slot_ = slot;
    GuardedRange& range = guardedRanges[slot];
    range.faulted.store(false, std::memory_order_relaxed);
    range.end.store(reinterpret_cast<uintptr_t>(mapping) + size, std::memory_order_release);
    range.start.store(reinterpret_cast<uintptr_t>(mapping), std::memory_order_release);
    // Every loader reads its input front to back, once: ask for large read-ahead.
    ::madvise(mapping, size, MADV_SEQUENTIAL);
}

MappedFile::~MappedFile() {
    unmap();
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
      slot_(other.slot_) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
    if (this != &other) {
        unmap();
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        slot_ = other.slot_;
    }
    return *this;
}

bool MappedFile::shrank() const {
    return data_ && guardedRanges[slot_].faulted.load(std::memory_order_acquire);
}

void MappedFile::releaseRead(std::span<const uint8_t> range) {
    if (range.empty())
        return;
    const auto first = reinterpret_cast<uintptr_t>(range.data());
    const uintptr_t last = first + range.size(); // one past
    for (const GuardedRange& guarded : guardedRanges) {
        const uintptr_t start = guarded.start.load(std::memory_order_acquire);
        if (start <= kClaimed || first < start ||
            last > guarded.end.load(std::memory_order_acquire))
            continue;
        // Whole pages only: the partial pages at either end may hold bytes still to be read.
        const uintptr_t from = (first + pageSize - 1) & ~(pageSize - 1);
        const uintptr_t to = last & ~(pageSize - 1);
        if (from < to)
            ::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
        return;
    }
}

void MappedFile::unmap() {
    if (!data_)
        return;
    // Forget the range before unmapping it: the addresses may be reused by the next mmap.
    guardedRanges[slot_].start.store(kFree, std::memory_order_release);
    ::munmap(const_cast<uint8_t*>(data_), size_);
    data_ = nullptr;
}

} // namespace kvmscope
