#include "trace/ExitTrace.h"

#include <algorithm>

namespace kvmscope::trace {

ExitTrace::ExitTrace(size_t capacity) : ring_(capacity == 0 ? 1 : capacity) {}

void ExitTrace::record(ExitRecord record) {
    const uint32_t reason = record.reason < kReasonCount ? record.reason : kReasonCount - 1;
    // Single writer: relaxed read-modify-write is enough for monotonic statistics.
    counts_[reason].fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    record.sequence = ++written_;
    ring_[(written_ - 1) % ring_.size()] = record;
}

std::vector<ExitRecord> ExitTrace::drain(uint64_t afterSequence) const {
    std::lock_guard lock(mutex_);
    const uint64_t oldest = written_ > ring_.size() ? written_ - ring_.size() + 1 : 1;
    const uint64_t first = std::max(afterSequence + 1, oldest);
    std::vector<ExitRecord> out;
    if (first > written_)
        return out;
    out.reserve(written_ - first + 1);
    for (uint64_t sequence = first; sequence <= written_; ++sequence)
        out.push_back(ring_[(sequence - 1) % ring_.size()]);
    return out;
}

uint64_t ExitTrace::count(uint32_t reason) const {
    return reason < kReasonCount ? counts_[reason].load(std::memory_order_relaxed) : 0;
}

std::array<uint64_t, ExitTrace::kReasonCount> ExitTrace::counts() const {
    std::array<uint64_t, kReasonCount> result{};
    for (size_t i = 0; i < kReasonCount; ++i)
        result[i] = counts_[i].load(std::memory_order_relaxed);
    return result;
}

} // namespace kvmscope::trace
