#include "debug/ExitBreakpoints.h"

#include "trace/ExitRecord.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace kvmscope::debug {
namespace {

bool overlaps(uint64_t start, uint64_t length, uint64_t accessStart, uint64_t accessLength) {
    return accessStart < start + length && start < accessStart + accessLength;
}

uint64_t littleEndian(const uint8_t* data, size_t size) {
    uint64_t value = 0;
    std::memcpy(&value, data, std::min<size_t>(size, sizeof value));
    return value;
}

} // namespace

const char* toString(ExitBreakKind kind) {
    switch (kind) {
    case ExitBreakKind::PortWrite:
        return "port write";
    case ExitBreakKind::PortRead:
        return "port read";
    case ExitBreakKind::PortAccess:
        return "port access";
    case ExitBreakKind::MmioWrite:
        return "MMIO write";
    case ExitBreakKind::MmioRead:
        return "MMIO read";
    case ExitBreakKind::MmioAccess:
        return "MMIO access";
    case ExitBreakKind::ExitReason:
        return "exit reason";
    }
    return "?";
}

std::string ExitBreakpoint::describe() const {
    if (kind == ExitBreakKind::ExitReason)
        return fmt::format("exit KVM_EXIT_{}", trace::exitReasonName(exitReason));
    std::string text = fmt::format("{} {:#x}", toString(kind), address);
    if (length > 1)
        text += fmt::format("-{:#x}", address + length - 1);
    if (value)
        text += fmt::format(" value {:#x}", *value);
    return text;
}

int ExitBreakpoints::add(ExitBreakpoint breakpoint) {
    std::lock_guard lock(mutex_);
    breakpoint.id = nextId_++;
    if (breakpoint.length == 0)
        breakpoint.length = 1;
    breakpoint.hits = 0;
    breakpoints_.push_back(breakpoint);
    updateCount();
    return breakpoint.id;
}

bool ExitBreakpoints::remove(int id) {
    std::lock_guard lock(mutex_);
    const auto removed = std::erase_if(breakpoints_, [id](const auto& b) { return b.id == id; });
    updateCount();
    return removed != 0;
}

bool ExitBreakpoints::setEnabled(int id, bool enabled) {
    std::lock_guard lock(mutex_);
    const auto it = std::find_if(breakpoints_.begin(), breakpoints_.end(),
                                 [id](const auto& b) { return b.id == id; });
    if (it == breakpoints_.end())
        return false;
    it->enabled = enabled;
    updateCount();
    return true;
}

void ExitBreakpoints::countHit(int id) {
    std::lock_guard lock(mutex_);
    for (ExitBreakpoint& b : breakpoints_)
        if (b.id == id)
            ++b.hits;
}

void ExitBreakpoints::updateCount() {
    // armed() reads only this count: with every breakpoint disabled the exit path pays the same
    // one relaxed load as with none set, and never takes mutex_.
    const auto enabled = std::count_if(breakpoints_.begin(), breakpoints_.end(),
                                       [](const auto& b) { return b.enabled; });
    count_.store(static_cast<size_t>(enabled), std::memory_order_relaxed);
}

std::vector<ExitBreakpoint> ExitBreakpoints::list() const {
    std::lock_guard lock(mutex_);
    return breakpoints_;
}

std::optional<ExitBreakpointHit> ExitBreakpoints::match(const kvm_run& run) const {
    std::lock_guard lock(mutex_);
    for (const ExitBreakpoint& b : breakpoints_) {
        if (!b.enabled)
            continue;
        ExitBreakpointHit hit{b.id, 0, 0, {}};
        bool matched = false;
        switch (b.kind) {
        case ExitBreakKind::ExitReason:
            matched = run.exit_reason == b.exitReason;
            break;
        case ExitBreakKind::PortWrite:
        case ExitBreakKind::PortRead:
        case ExitBreakKind::PortAccess: {
            if (run.exit_reason != KVM_EXIT_IO)
                break;
            const bool write = run.io.direction == KVM_EXIT_IO_OUT;
            if ((b.kind == ExitBreakKind::PortWrite && !write) ||
                (b.kind == ExitBreakKind::PortRead && write) ||
                !overlaps(b.address, b.length, run.io.port, run.io.size))
                break;
            hit.address = run.io.port;
            if (write) {
                // A string OUT (count > 1) matches when any of its elements does.
                const auto* data = reinterpret_cast<const uint8_t*>(&run) + run.io.data_offset;
                for (uint32_t i = 0; i < run.io.count && !matched; ++i) {
                    hit.value = littleEndian(data + i * run.io.size, run.io.size);
                    matched = !b.value || *b.value == hit.value;
                }
            } else {
                matched = true;
            }
            break;
        }
        case ExitBreakKind::MmioWrite:
        case ExitBreakKind::MmioRead:
        case ExitBreakKind::MmioAccess: {
            if (run.exit_reason != KVM_EXIT_MMIO)
                break;
            const bool write = run.mmio.is_write != 0;
            if ((b.kind == ExitBreakKind::MmioWrite && !write) ||
                (b.kind == ExitBreakKind::MmioRead && write) ||
                !overlaps(b.address, b.length, run.mmio.phys_addr, run.mmio.len))
                break;
            hit.address = run.mmio.phys_addr;
            if (write)
                hit.value = littleEndian(run.mmio.data, run.mmio.len);
            matched = !write || !b.value || *b.value == hit.value;
            break;
        }
        }
        if (matched) {
            hit.description = fmt::format("exit breakpoint {} ({})", b.id, b.describe());
            return hit;
        }
    }
    return std::nullopt;
}

} // namespace kvmscope::debug
