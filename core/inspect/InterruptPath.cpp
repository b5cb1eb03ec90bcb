#include "inspect/InterruptPath.h"

#include "machine/Machine.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace kvmscope::inspect {
namespace {

constexpr uint32_t kPicInputs = 8;
constexpr uint32_t kCascadeInput = 2; // the slave PIC sits on master input 2 (PC/AT wiring)
constexpr uint32_t kLegacyIrqs = 16;

// Local APIC register offsets and bits (SDM Vol. 3A, Table 11-1, 11.5.1, 11.9).
constexpr uint32_t kApicId = 0x20, kApicPpr = 0xa0, kApicLdr = 0xd0, kApicDfr = 0xe0;
constexpr uint32_t kApicSvr = 0xf0, kApicIsr = 0x100, kApicIrr = 0x200, kApicLint0 = 0x350;
constexpr uint32_t kSvrEnabled = 1u << 8;
constexpr uint32_t kLvtMasked = 1u << 16;
constexpr uint32_t kLvtDeliveryExtInt = 7;
constexpr uint64_t kApicBaseEnabled = 1ull << 11; // IA32_APIC_BASE.EN (SDM Vol. 3A, 11.4.4)
constexpr uint64_t kRflagsIf = 1ull << 9;
constexpr uint8_t kDeliveryNmi = 4;

uint32_t apicRegister(const kvm_lapic_state& lapic, uint32_t offset) {
    uint32_t value = 0;
    std::memcpy(&value, lapic.regs + offset, sizeof value);
    return value;
}

// Bit `vector` of a 256-bit APIC register (eight words 16 bytes apart, SDM Vol. 3A, 11.8.4).
bool apicVectorBit(const kvm_lapic_state& lapic, uint32_t base, uint8_t vector) {
    return (apicRegister(lapic, base + (vector / 32u) * 0x10) >> (vector % 32u)) & 1u;
}

bool apicEnabled(const cpu::CpuState& vcpu) {
    return (vcpu.sregs.apic_base & kApicBaseEnabled) &&
           (apicRegister(vcpu.lapic, kApicSvr) & kSvrEnabled);
}

uint8_t apicId(const cpu::CpuState& vcpu) {
    return static_cast<uint8_t>(apicRegister(vcpu.lapic, kApicId) >> 24);
}

// Whether a LAPIC is among an IOAPIC message's destinations (SDM Vol. 3A, 11.6.2.1 physical,
// 11.6.2.2 logical: the flat and cluster models by DFR bits 31-28).
bool addressed(const cpu::CpuState& vcpu, const RedirectionEntry& entry) {
    if (!entry.logical)
        return entry.destination == 0xff || apicId(vcpu) == entry.destination;
    const uint32_t logicalId = apicRegister(vcpu.lapic, kApicLdr) >> 24;
    const bool flat = (apicRegister(vcpu.lapic, kApicDfr) >> 28) == 0xf;
    if (flat)
        return (logicalId & entry.destination) != 0;
    return (logicalId >> 4) == (entry.destination >> 4u) &&
           (logicalId & entry.destination & 0xfu) != 0;
}

// The PIC route ends at vcpu 0's LINT0: KVM hands the PIC's INTR to vcpu 0 when its LAPIC is
// disabled in IA32_APIC_BASE, or when LINT0 is unmasked with delivery mode ExtINT (as
// kvm_apic_accept_pic_intr decides).
bool lint0AcceptsPic(const cpu::CpuState& vcpu0) {
    if (!vcpu0.hasLapic || !(vcpu0.sregs.apic_base & kApicBaseEnabled))
        return true;
    const uint32_t lint0 = apicRegister(vcpu0.lapic, kApicLint0);
    return !(lint0 & kLvtMasked) && ((lint0 >> 8) & 7u) == kLvtDeliveryExtInt;
}

// An 8259A's priority of input `input` under rotation: 0 is the highest (Intel 8259A
// datasheet, "Priority Cell"; priority_add is KVM's rotation base).
uint32_t picPriority(const kvm_pic_state& pic, uint32_t input) {
    return (input - pic.priority_add) & 7u;
}

// Whether the PIC is serving `input` or an input of higher priority (fully nested mode).
bool picBusy(const kvm_pic_state& pic, uint32_t input) {
    for (uint32_t other = 0; other < kPicInputs; ++other)
        if ((pic.isr >> other) & 1u && picPriority(pic, other) <= picPriority(pic, input))
            return true;
    return false;
}

std::string vcpuList(const std::vector<uint32_t>& vcpus) {
    std::string text;
    for (uint32_t vcpu : vcpus)
        text += fmt::format("{}{}", text.empty() ? "" : ", ", vcpu);
    return (vcpus.size() == 1 ? "vcpu " : "vcpus ") + text;
}

const char* deliveryName(uint8_t mode) {
    static const char* const kNames[] = {"fixed", "lowest priority", "SMI",   "reserved", "NMI",
                                         "INIT",  "reserved",        "ExtINT"};
    return kNames[mode & 7u];
}

// The vcpu-side checks on one target: where a vector accepted by its LAPIC stops.
InterruptBlock vcpuBlock(const cpu::CpuState& vcpu, uint8_t vector, bool viaLapic,
                         std::string& why) {
    if (viaLapic) {
        if (apicVectorBit(vcpu.lapic, kApicIsr, vector)) {
            why = fmt::format("vector {:#x} is in service on vcpu {} (ISR): its handler has not "
                              "written EOI yet",
                              vector, vcpu.vcpu);
            return InterruptBlock::InService;
        }
        const uint32_t ppr = apicRegister(vcpu.lapic, kApicPpr);
        if (apicVectorBit(vcpu.lapic, kApicIrr, vector) && (vector & 0xf0u) <= (ppr & 0xf0u)) {
            why = fmt::format("vector {:#x} waits in vcpu {}'s IRR: its priority class {} is not "
                              "above the processor priority (PPR {:#x})",
                              vector, vcpu.vcpu, vector >> 4, ppr);
            return InterruptBlock::Priority;
        }
    }
    const bool pending = viaLapic ? apicVectorBit(vcpu.lapic, kApicIrr, vector) : true;
    if (!pending)
        return InterruptBlock::Idle;
    if (!(vcpu.regs.rflags & kRflagsIf)) {
        why = fmt::format("vector {:#x} is pending, but vcpu {} has interrupts disabled (IF = 0)",
                          vector, vcpu.vcpu);
        return InterruptBlock::InterruptsOff;
    }
    if (vcpu.events.interrupt.shadow) {
        why = fmt::format("vector {:#x} is pending; vcpu {} is in an interrupt shadow ({}) for "
                          "one instruction",
                          vector, vcpu.vcpu,
                          vcpu.events.interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS ? "MOV SS"
                                                                                   : "STI");
        return InterruptBlock::Shadow;
    }
    why = fmt::format("vector {:#x} is pending on vcpu {} and is taken when it runs", vector,
                      vcpu.vcpu);
    return InterruptBlock::Pending;
}

std::string lineSummary(const InterruptPath& path) {
    std::string owners;
    for (const IrqLineRecord& line : path.lines)
        if (owners.find(line.owner) == std::string::npos)
            owners += fmt::format("{}{}", owners.empty() ? "" : ", ", line.owner);
    if (path.irq == 0 && owners.empty())
        owners = "PIT, in-kernel";
    std::string text =
        fmt::format("IRQ {}{}", path.irq, owners.empty() ? "" : fmt::format(" ({})", owners));
    if (path.lineHigh)
        text += " is high";
    else if (path.raises > 0)
        text += fmt::format(" was raised {} time{}", path.raises, path.raises == 1 ? "" : "s");
    if (path.raises > 0 && path.lastRaiseExit > 0)
        text += fmt::format(", last at exit {}", path.lastRaiseExit);
    return text;
}

} // namespace

InterruptChips readInterruptChips(Machine& machine) {
    InterruptChips chips;
    chips.master = machine.vm().getIrqchip(KVM_IRQCHIP_PIC_MASTER).chip.pic;
    chips.slave = machine.vm().getIrqchip(KVM_IRQCHIP_PIC_SLAVE).chip.pic;
    chips.ioapic = machine.vm().getIrqchip(KVM_IRQCHIP_IOAPIC).chip.ioapic;
    return chips;
}

RedirectionEntry decodeRedirection(uint64_t bits) {
    RedirectionEntry entry;
    entry.vector = static_cast<uint8_t>(bits & 0xff);
    entry.deliveryMode = static_cast<uint8_t>((bits >> 8) & 7u);
    entry.logical = (bits >> 11) & 1u;
    entry.remoteIrr = (bits >> 14) & 1u;
    entry.levelTriggered = (bits >> 15) & 1u;
    entry.masked = (bits >> 16) & 1u;
    entry.destination = static_cast<uint8_t>(bits >> 56);
    return entry;
}

InterruptPath traceInterrupt(uint32_t irq, std::span<const IrqLineRecord> lines,
                             const InterruptChips& chips, std::span<const cpu::CpuState> vcpus) {
    InterruptPath path;
    path.irq = irq;
    for (const IrqLineRecord& line : lines) {
        if (line.gsi != irq || (line.standby && line.raises == 0 && !line.level))
            continue;
        path.lines.push_back(line);
        path.lineHigh |= line.level;
        path.raises += line.raises;
        if (line.lastRaiseExit >= path.lastRaiseExit) {
            path.lastRaiseExit = line.lastRaiseExit;
            if (line.lastStatus)
                path.lastStatus = line.lastStatus;
        }
    }

    // The PIC route (IRQ 0-15).
    path.viaPic = irq < kLegacyIrqs;
    if (path.viaPic) {
        const bool onSlave = irq >= kPicInputs;
        const kvm_pic_state& pic = onSlave ? chips.slave : chips.master;
        const uint32_t input = irq % kPicInputs;
        path.picMasked = (pic.imr >> input) & 1u;
        if (onSlave)
            path.picMasked |= (chips.master.imr >> kCascadeInput) & 1u;
        path.picRequested = (pic.irr >> input) & 1u;
        path.picInService = (pic.isr >> input) & 1u;
        path.picVector = static_cast<uint8_t>(pic.irq_base + input);
    }
    // The IOAPIC route (GSI 0-23).
    path.viaIoapic = irq < KVM_IOAPIC_NUM_PINS;
    if (path.viaIoapic) {
        path.redirection = decodeRedirection(chips.ioapic.redirtbl[irq].bits);
        path.ioapicRequested = (chips.ioapic.irr >> irq) & 1u;
    }

    const std::string head = lineSummary(path);
    const bool inKernelSource = irq == 0; // the PIT: KVM counts its raises, kvmscope cannot
    if (!inKernelSource && path.lines.empty() && !path.picRequested && !path.ioapicRequested) {
        path.block = InterruptBlock::NotRaised;
        path.sentence = fmt::format("{}: no device drives this line", head);
        return path;
    }
    if (!inKernelSource && !path.lineHigh && path.raises == 0 && !path.picRequested &&
        !path.ioapicRequested) {
        path.block = InterruptBlock::NotRaised;
        path.sentence = fmt::format("{}: never raised", head);
        return path;
    }

    const cpu::CpuState* vcpu0 = vcpus.empty() ? nullptr : &vcpus[0];
    const bool lint0Open = vcpu0 && lint0AcceptsPic(*vcpu0);
    const bool ioapicOpen = path.viaIoapic && !path.redirection.masked;
    const bool picOpen = path.viaPic && !path.picMasked;

    if (!ioapicOpen && !(picOpen && lint0Open)) {
        std::vector<std::string> closed;
        if (path.viaIoapic)
            closed.push_back(fmt::format("IOAPIC pin {} is masked", irq));
        if (path.viaPic && path.picMasked)
            closed.push_back(irq >= kPicInputs && ((chips.master.imr >> kCascadeInput) & 1u) &&
                                     !((chips.slave.imr >> (irq % kPicInputs)) & 1u)
                                 ? std::string("the master PIC masks the slave's cascade (IRQ 2)")
                                 : fmt::format("the PIC masks IRQ {} (IMR)", irq));
        else if (path.viaPic)
            closed.push_back("the PIC's output is closed at vcpu 0's LINT0 (masked or not ExtINT)");
        path.block = path.viaPic && picOpen ? InterruptBlock::Lint0Closed
                     : path.viaIoapic       ? InterruptBlock::IoapicMasked
                                            : InterruptBlock::PicMasked;
        std::string joined;
        for (size_t i = 0; i < closed.size(); ++i)
            joined += (i == 0 ? "" : i + 1 == closed.size() ? " and " : ", ") + closed[i];
        path.sentence = fmt::format("{}; {}", head, joined);
        return path;
    }

    std::string why;
    if (ioapicOpen) {
        const RedirectionEntry& entry = path.redirection;
        if (entry.levelTriggered && entry.remoteIrr) {
            path.block = InterruptBlock::IoapicRemoteIrr;
            path.sentence =
                fmt::format("{}; IOAPIC pin {} waits for the EOI of vector {:#x} (remote IRR "
                            "set, level-triggered)",
                            head, irq, entry.vector);
            return path;
        }
        for (const cpu::CpuState& vcpu : vcpus)
            if (vcpu.hasLapic && addressed(vcpu, entry))
                path.targetVcpus.push_back(vcpu.vcpu);
        const std::string route =
            fmt::format("IOAPIC pin {} → vector {:#x} ({}, {} {:#x})", irq, entry.vector,
                        deliveryName(entry.deliveryMode), entry.logical ? "logical" : "APIC id",
                        entry.destination);
        if (path.targetVcpus.empty()) {
            path.block = InterruptBlock::NoTarget;
            path.sentence = fmt::format("{}; {} addresses no vcpu's LAPIC", head, route);
            return path;
        }
        // Fixed delivery gives each target a copy, lowest priority one of them: the first target
        // where the vector is held (or pending) tells where it stands; all idle is idle.
        InterruptBlock best = InterruptBlock::Idle;
        std::string bestWhy;
        for (const cpu::CpuState& vcpu : vcpus) {
            if (std::find(path.targetVcpus.begin(), path.targetVcpus.end(), vcpu.vcpu) ==
                path.targetVcpus.end())
                continue;
            std::string targetWhy;
            InterruptBlock block;
            if (!apicEnabled(vcpu)) {
                block = InterruptBlock::ApicDisabled;
                targetWhy = fmt::format("vcpu {}'s LAPIC is disabled ({})", vcpu.vcpu,
                                        vcpu.sregs.apic_base & kApicBaseEnabled
                                            ? "SVR bit 8 clear"
                                            : "IA32_APIC_BASE bit 11 clear");
            } else if (entry.deliveryMode == kDeliveryNmi) {
                block = InterruptBlock::Pending;
                targetWhy = fmt::format("delivered to vcpu {} as an NMI", vcpu.vcpu);
            } else {
                block = vcpuBlock(vcpu, entry.vector, true, targetWhy);
            }
            if (block != InterruptBlock::Idle) {
                best = block;
                bestWhy = targetWhy;
                break;
            }
        }
        path.block = best;
        path.sentence = best == InterruptBlock::Idle
                            ? fmt::format("{}; nothing pending, and the path is open: {} on {}",
                                          head, route, vcpuList(path.targetVcpus))
                            : fmt::format("{}; {}: {}", head, route, bestWhy);
        return path;
    }

    // Only the PIC route is open.
    const bool onSlave = irq >= kPicInputs;
    const kvm_pic_state& pic = onSlave ? chips.slave : chips.master;
    path.targetVcpus.push_back(0);
    const std::string route = fmt::format(
        "PIC → vector {:#x} through vcpu 0's LINT0 (IOAPIC pin masked)", path.picVector);
    if (path.picRequested && picBusy(pic, irq % kPicInputs)) {
        path.block = InterruptBlock::PicInService;
        path.sentence = fmt::format("{}; {}: the PIC is serving it or an IRQ of higher priority "
                                    "(ISR {:#04x}) and waits for its EOI",
                                    head, route, pic.isr);
        return path;
    }
    if (!path.picRequested && path.picInService) {
        path.block = InterruptBlock::PicInService;
        path.sentence = fmt::format("{}; {}: the PIC is serving it (ISR) and waits for its "
                                    "handler's EOI",
                                    head, route);
        return path;
    }
    if (!path.picRequested) {
        path.block = InterruptBlock::Idle;
        path.sentence = fmt::format("{}; nothing pending, and the path is open: {}", head, route);
        return path;
    }
    path.block = vcpuBlock(*vcpu0, path.picVector, false, why);
    path.sentence = fmt::format("{}; {}: {}", head, route, why);
    return path;
}

std::vector<InterruptPath> traceInterrupts(std::span<const IrqLineRecord> lines,
                                           const InterruptChips& chips,
                                           std::span<const cpu::CpuState> vcpus) {
    std::vector<InterruptPath> paths;
    for (uint32_t irq = 0; irq < KVM_IOAPIC_NUM_PINS; ++irq)
        paths.push_back(traceInterrupt(irq, lines, chips, vcpus));
    return paths;
}

} // namespace kvmscope::inspect
