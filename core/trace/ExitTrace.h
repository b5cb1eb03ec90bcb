#pragma once
// Per-vcpu trace of exits: a fixed-size ring of the most recent records and a counter per exit
// reason. One writer (the vcpu thread), any number of readers (GUI timer, tests, the CLI).
// The writer takes an uncontended mutex for a few nanoseconds per exit; readers copy out only
// the records they have not seen, so no reader holds the lock for long.
#include "trace/ExitRecord.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace kvmscope::trace {

class ExitTrace {
public:
    static constexpr size_t kDefaultCapacity = 4096;
    static constexpr size_t kReasonCount = 64; // KVM_EXIT_* numbers are below this

    explicit ExitTrace(size_t capacity = kDefaultCapacity);

    // Called by the vcpu thread for every exit. Assigns record.sequence.
    void record(ExitRecord record);

    // Records with sequence > `afterSequence` still in the ring, oldest first. Pass the last
    // sequence you saw; records overwritten before you drained them are lost, which shows as a gap
    // in the sequence numbers.
    std::vector<ExitRecord> drain(uint64_t afterSequence) const;

    uint64_t totalExits() const { return total_.load(std::memory_order_relaxed); }
    uint64_t count(uint32_t reason) const;
    std::array<uint64_t, kReasonCount> counts() const;
    size_t capacity() const { return ring_.size(); }

private:
    mutable std::mutex mutex_;
    std::vector<ExitRecord> ring_;
    uint64_t written_ = 0; // guarded by mutex_
    std::atomic<uint64_t> total_{0};
    std::array<std::atomic<uint64_t>, kReasonCount> counts_{};
};

} // namespace kvmscope::trace
