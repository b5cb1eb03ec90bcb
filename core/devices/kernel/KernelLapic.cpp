#include "devices/kernel/KernelLapic.h"

#include "cpu/VcpuRunner.h"

#include <cstring>
#include <fmt/format.h>
#include <linux/kvm.h>

namespace kvmscope {
namespace {

constexpr int kCallTimeoutMs = 1000;

struct RegisterRow {
    KernelLapic::Group group;
    uint32_t offset;
    const char* name;
    bool writable;
    const char* description;
};

// What a person may change through KVM_SET_LAPIC and see take effect: priorities, addressing,
// the LVT and the timer's programming. The rest is the chip's own bookkeeping (PPR and APR are
// derived from TPR and ISR, the ICR is a command KVM_SET_LAPIC stores but never sends, ESR is
// cleared by a guest write) and stays read-only. SDM Vol. 3A, 11.4-11.9 for each register.
constexpr RegisterRow kRows[] = {
    {KernelLapic::Registers, KernelLapic::kId, "ID", false, "local APIC id (xAPIC: bits 31-24)"},
    {KernelLapic::Registers, KernelLapic::kVersion, "version", false,
     "version (bits 7-0), max LVT entry (bits 23-16), EOI-broadcast suppression (bit 24)"},
    {KernelLapic::Registers, KernelLapic::kTaskPriority, "TPR", true,
     "task priority: vectors of a class (bits 7-4) at or below this are held back"},
    {KernelLapic::Registers, KernelLapic::kArbitrationPriority, "APR", false,
     "arbitration priority"},
    {KernelLapic::Registers, KernelLapic::kProcessorPriority, "PPR", false,
     "processor priority: the higher of TPR and the highest vector in service"},
    {KernelLapic::Registers, KernelLapic::kLogicalDestination, "LDR", true,
     "logical destination (bits 31-24)"},
    {KernelLapic::Registers, KernelLapic::kDestinationFormat, "DFR", true,
     "destination format: 0xffffffff flat, 0x0fffffff cluster"},
    {KernelLapic::Registers, KernelLapic::kSpuriousVector, "SVR", true,
     "spurious vector (bits 7-0); bit 8 enables the APIC; while clear, every LVT entry is "
     "masked"},
    {KernelLapic::Registers, KernelLapic::kErrorStatus, "ESR", false,
     "error status: illegal vector, send/receive errors"},
    {KernelLapic::Registers, KernelLapic::kInterruptCommandLow, "ICR low", false,
     "the last interrupt command: vector, delivery mode, level, shorthand"},
    {KernelLapic::Registers, KernelLapic::kInterruptCommandHigh, "ICR high", false,
     "the last interrupt command's destination (bits 31-24)"},
    {KernelLapic::LocalVectorTable, KernelLapic::kLvtTimer, "timer", true,
     "vector (7-0), delivery status (12), masked (16), mode (18-17: one-shot, periodic, "
     "TSC-deadline)"},
    {KernelLapic::LocalVectorTable, KernelLapic::kLvtLint0, "LINT0", true,
     "vector (7-0), delivery mode (10-8: ExtINT from the PIC is 7), polarity (13), trigger (15), "
     "masked (16)"},
    {KernelLapic::LocalVectorTable, KernelLapic::kLvtLint1, "LINT1", true,
     "vector (7-0), delivery mode (10-8: NMI is 4), polarity (13), trigger (15), masked (16)"},
    {KernelLapic::LocalVectorTable, KernelLapic::kLvtError, "error", true,
     "vector (7-0), masked (16)"},
    {KernelLapic::LocalVectorTable, KernelLapic::kLvtPerformance, "performance counter", true,
     "vector (7-0), delivery mode (10-8), masked (16)"},
    {KernelLapic::LocalVectorTable, KernelLapic::kLvtThermal, "thermal sensor", true,
     "vector (7-0), delivery mode (10-8), masked (16)"},
    {KernelLapic::LocalVectorTable, KernelLapic::kLvtCmci, "CMCI", true,
     "corrected machine-check interrupt: vector (7-0), masked (16)"},
    {KernelLapic::Timer, KernelLapic::kTimerInitialCount, "initial count", true,
     "the count the guest last programmed"},
    {KernelLapic::Timer, KernelLapic::kTimerCurrentCount, "current count", false,
     "what is left of the count, computed by KVM when read"},
    {KernelLapic::Timer, KernelLapic::kTimerDivide, "divide configuration", true,
     "bits 3,1,0: 000 /2, 001 /4, 010 /8, 011 /16, 100 /32, 101 /64, 110 /128, 111 /1"},
};

struct VectorRow {
    uint32_t offset;
    const char* name;
    const char* description;
};

constexpr VectorRow kVectorRows[] = {
    {KernelLapic::kInterruptRequest, "IRR",
     "interrupt request: vectors accepted and waiting to be delivered (bit n: vector n)"},
    {KernelLapic::kInService, "ISR",
     "in service: vectors delivered whose handler has not yet written EOI (bit n: vector n)"},
    {KernelLapic::kTriggerMode, "TMR",
     "trigger mode: vectors accepted as level-triggered, which an EOI reports to the IOAPIC"},
};

const char* groupName(KernelLapic::Group group) {
    switch (group) {
    case KernelLapic::Registers:
        return "registers";
    case KernelLapic::LocalVectorTable:
        return "local vector table";
    case KernelLapic::Timer:
        return "timer";
    case KernelLapic::Vectors:
        return "vectors";
    }
    return "?";
}

} // namespace

KernelLapic::KernelLapic(cpu::VcpuRunner& runner) : runner_(runner) {}

std::string KernelLapic::name() const {
    return fmt::format("LAPIC (vcpu {}, in-kernel)", runner_.index());
}

uint32_t KernelLapic::vcpuIndex() const {
    return runner_.index();
}

std::vector<AttributeInfo> KernelLapic::attributes() const {
    std::vector<AttributeInfo> attributes;
    for (const RegisterRow& row : kRows)
        attributes.push_back({row.group, row.offset, groupName(row.group), row.name, AttrType::U32,
                              row.writable ? AttrAccess::ReadWrite : AttrAccess::Read,
                              row.description});
    for (const VectorRow& row : kVectorRows)
        attributes.push_back({Vectors, row.offset, groupName(Vectors), row.name, AttrType::Bytes,
                              AttrAccess::Read, row.description});
    return attributes;
}

uint32_t KernelLapic::registerAt(const kvm_lapic_state& state, uint32_t offset) {
    uint32_t value = 0;
    std::memcpy(&value, state.regs + offset, sizeof value);
    return value;
}

void KernelLapic::setRegisterAt(kvm_lapic_state& state, uint32_t offset, uint32_t value) {
    std::memcpy(state.regs + offset, &value, sizeof value);
}

std::array<uint8_t, 32> KernelLapic::vectorsAt(const kvm_lapic_state& state, uint32_t offset) {
    // Eight 32-bit registers 16 bytes apart, the first holding vectors 0-31 (SDM Vol. 3A,
    // Figure 11-20 "IRR, ISR and TMR Registers").
    std::array<uint8_t, 32> bytes{};
    for (uint32_t word = 0; word < 8; ++word) {
        const uint32_t bits = registerAt(state, offset + word * 0x10);
        for (uint32_t byte = 0; byte < 4; ++byte)
            bytes[word * 4 + byte] = static_cast<uint8_t>(bits >> (byte * 8));
    }
    return bytes;
}

kvm_lapic_state KernelLapic::read() const {
    return runner_.call([](kvm::Vcpu& vcpu) { return vcpu.lapic(); }, kCallTimeoutMs);
}

AttrValue KernelLapic::getAttr(uint32_t group, uint64_t attr) const {
    const AttributeInfo info = requireAttr(group, attr);
    try {
        const kvm_lapic_state state = read();
        const auto offset = static_cast<uint32_t>(attr);
        if (group == Vectors) {
            const auto bytes = vectorsAt(state, offset);
            return AttrValue{0, {bytes.begin(), bytes.end()}};
        }
        return AttrValue::of(registerAt(state, offset));
    } catch (const AttributeError&) {
        throw;
    } catch (const Error& error) {
        throw AttributeError(fmt::format("{}: {}: {}", name(), info.name, error.what()));
    }
}

void KernelLapic::setAttr(uint32_t group, uint64_t attr, const AttrValue& value) {
    const AttributeInfo info = requireAttr(group, attr);
    requireWritable(info, value);
    try {
        runner_.call(
            [&](kvm::Vcpu& vcpu) {
                kvm_lapic_state state = vcpu.lapic();
                setRegisterAt(state, static_cast<uint32_t>(attr),
                              static_cast<uint32_t>(value.scalar));
                vcpu.setLapic(state);
            },
            kCallTimeoutMs);
    } catch (const Error& error) {
        throw AttributeError(fmt::format("{}: {}: {}", name(), info.name, error.what()));
    }
}

} // namespace kvmscope
