#include "trace/ExitRecord.h"

#include "kvm/compat.h"

#include <array>
#include <ctime>
#include <string>

namespace kvmscope::trace {
namespace {

// The decimal text of a reason this build has no name for (one newer than its headers). Views
// call exitReasonName per row, so the texts are made once and kept rather than per call.
const char* numberedReason(uint32_t reason) {
    constexpr uint32_t kNumbered = 256; // KVM's reasons are below 64 today
    static const std::array<std::string, kNumbered> kTexts = [] {
        std::array<std::string, kNumbered> texts;
        for (uint32_t n = 0; n < kNumbered; ++n)
            texts[n] = std::to_string(n);
        return texts;
    }();
    return reason < kNumbered ? kTexts[reason].c_str() : "beyond 255";
}

} // namespace

const char* exitReasonName(uint32_t reason) {
    switch (reason) {
    case KVM_EXIT_UNKNOWN:
        return "UNKNOWN";
    case KVM_EXIT_EXCEPTION:
        return "EXCEPTION";
    case KVM_EXIT_IO:
        return "IO";
    case KVM_EXIT_HYPERCALL:
        return "HYPERCALL";
    case KVM_EXIT_DEBUG:
        return "DEBUG";
    case KVM_EXIT_HLT:
        return "HLT";
    case KVM_EXIT_MMIO:
        return "MMIO";
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        return "IRQ_WINDOW_OPEN";
    case KVM_EXIT_SHUTDOWN:
        return "SHUTDOWN";
    case KVM_EXIT_FAIL_ENTRY:
        return "FAIL_ENTRY";
    case KVM_EXIT_INTR:
        return "INTR";
    case KVM_EXIT_SET_TPR:
        return "SET_TPR";
    case KVM_EXIT_TPR_ACCESS:
        return "TPR_ACCESS";
    case KVM_EXIT_NMI:
        return "NMI";
    case KVM_EXIT_INTERNAL_ERROR:
        return "INTERNAL_ERROR";
    case KVM_EXIT_OSI:
        return "OSI";
    case KVM_EXIT_PAPR_HCALL:
        return "PAPR_HCALL";
    case KVM_EXIT_WATCHDOG:
        return "WATCHDOG";
    case KVM_EXIT_EPR:
        return "EPR";
    case KVM_EXIT_SYSTEM_EVENT:
        return "SYSTEM_EVENT";
    case KVM_EXIT_IOAPIC_EOI:
        return "IOAPIC_EOI";
    case KVM_EXIT_HYPERV:
        return "HYPERV";
    case KVM_EXIT_DIRTY_RING_FULL:
        return "DIRTY_RING_FULL";
    case KVM_EXIT_AP_RESET_HOLD:
        return "AP_RESET_HOLD";
    case KVM_EXIT_X86_BUS_LOCK:
        return "X86_BUS_LOCK";
    case KVM_EXIT_XEN:
        return "XEN";
    case KVM_EXIT_X86_RDMSR:
        return "X86_RDMSR";
    case KVM_EXIT_X86_WRMSR:
        return "X86_WRMSR";
    case KVM_EXIT_RISCV_SBI:
        return "RISCV_SBI";
    case KVM_EXIT_NOTIFY:
        return "NOTIFY";
    default:
        return numberedReason(reason);
    }
}

const char* toString(AccessKind access) {
    switch (access) {
    case AccessKind::None:
        return "";
    case AccessKind::PortIn:
        return "in";
    case AccessKind::PortOut:
        return "out";
    case AccessKind::MmioRead:
        return "read";
    case AccessKind::MmioWrite:
        return "write";
    }
    return "?";
}

uint64_t monotonicNs() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000ull +
           static_cast<uint64_t>(now.tv_nsec);
}

} // namespace kvmscope::trace
