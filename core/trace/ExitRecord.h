#pragma once
// One VM exit as kvmscope records it: small, fixed size, written by the vcpu thread on every
// exit (design: "Threads and signals" — a ring of records plus counters, drained on a timer).
#include <cstdint>

namespace kvmscope::trace {

enum class AccessKind : uint8_t { None, PortIn, PortOut, MmioRead, MmioWrite };

struct ExitRecord {
    uint64_t sequence = 0;    // per-vcpu exit number, from 1
    uint64_t timestampNs = 0; // CLOCK_MONOTONIC
    uint64_t rip = 0;         // guest RIP at the exit when the host syncs registers, else 0
    uint64_t address = 0;     // port or guest-physical MMIO address
    uint64_t data = 0;        // first up-to-8 bytes of the access (out/write: what the guest wrote)
    uint32_t reason = 0;      // KVM_EXIT_*
    uint32_t vcpu = 0;
    uint32_t count = 0; // string I/O repeat count
    uint8_t size = 0;   // access size in bytes
    AccessKind access = AccessKind::None;
    bool ripValid = false;
};

// KVM_EXIT_IO -> "IO"; a number newer than the headers -> its decimal text ("200"), so that
// "KVM_EXIT_" + the name reads the same either way.
const char* exitReasonName(uint32_t reason);

// CLOCK_MONOTONIC in nanoseconds: the clock of every record's timestampNs.
uint64_t monotonicNs();
const char* toString(AccessKind access);

} // namespace kvmscope::trace
