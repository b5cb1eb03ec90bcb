#pragma once
// An IrqLine wired to an input of the in-kernel irqchip with KVM_IRQ_LINE (api.rst 4.25): on
// x86 the GSI reaches both the PIC (IRQ < 16) and the IOAPIC pin of the same number.
//
// Each line also keeps what the interrupt view shows of it (inspect/InterruptPath.h): its level,
// how often it was raised, the machine's exit count at the last raise and the kernel's answer to
// the last change (KVM_IRQ_LINE_STATUS: delivered, coalesced or refused). The fields are relaxed
// atomics written by whichever thread drives the line and read by any: a reader may see the
// count of one raise with the status of the previous, never a torn value.
#include "devices/IrqLine.h"
#include "kvm/Vm.h"

#include <atomic>
#include <climits>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace kvmscope {

// What a line shows at one moment.
struct IrqLineRecord {
    uint32_t gsi = 0;
    std::string owner; // the device that drives it, as the device tree names it
    bool level = false;
    uint64_t raises = 0;        // low-to-high changes since the machine started
    uint64_t lastRaiseExit = 0; // the machine's exit count at the last raise (0: never raised)
    // KVM_IRQ_LINE_STATUS's answer to the last change: > 0 delivered to that many vcpus, 0
    // coalesced with a request still pending, < 0 accepted by no vcpu; nullopt without the
    // host capability or before the first change.
    std::optional<int> lastStatus;
    // A line that carries something only when software routes it (a PCI PIRQ onto this ISA
    // IRQ): not listed as the IRQ's driver until it was raised.
    bool standby = false;
};

class KvmIrqLine : public IrqLine {
public:
    // Counts the machine's exits so far, for "raised at exit N"; may be empty.
    using ExitClock = std::function<uint64_t()>;

    KvmIrqLine(kvm::Vm& vm, uint32_t gsi, std::string owner = {}, ExitClock exitClock = {},
               bool standby = false)
        : vm_(vm), gsi_(gsi), owner_(std::move(owner)), exitClock_(std::move(exitClock)),
          standby_(standby) {}

    void setLevel(bool high) override {
        // Only tell the kernel about changes: one ioctl fewer on most UART accesses.
        if (level_.exchange(high) == high)
            return;
        if (high) {
            raises_.fetch_add(1, std::memory_order_relaxed);
            lastRaiseExit_.store(exitClock_ ? exitClock_() : 0, std::memory_order_relaxed);
        }
        const std::optional<int> status = vm_.setIrqLine(gsi_, high);
        lastStatus_.store(status ? *status : kNoStatus, std::memory_order_relaxed);
    }

    IrqLineRecord record() const {
        const int64_t status = lastStatus_.load(std::memory_order_relaxed);
        return {gsi_,
                owner_,
                level_.load(std::memory_order_relaxed),
                raises_.load(std::memory_order_relaxed),
                lastRaiseExit_.load(std::memory_order_relaxed),
                status == kNoStatus ? std::nullopt : std::optional<int>(static_cast<int>(status)),
                standby_};
    }

private:
    static constexpr int64_t kNoStatus = INT64_MIN;

    kvm::Vm& vm_;
    uint32_t gsi_;
    std::string owner_;
    ExitClock exitClock_;
    bool standby_;
    std::atomic<bool> level_{false};
    std::atomic<uint64_t> raises_{0};
    std::atomic<uint64_t> lastRaiseExit_{0};
    std::atomic<int64_t> lastStatus_{kNoStatus};
};

} // namespace kvmscope
