#include "inspect/TripleFaultAutopsyParts.h"

namespace kvmscope::inspect::autopsy {

Outcome Autopsy::deliverReal(const Event& event) {
    // SDM vol. 3A 20.1.4: vector n is the 4 bytes at IDTR.base + 4n; beyond the limit, #GP.
    const kvm_dtable& idt = state_.sregs.idt;
    const uint64_t entry = uint64_t{event.vector} * 4;
    if (entry + 3 > idt.limit) {
        Event gp = fault(kVectorGeneralProtection, 0);
        gp.realMode = true;
        return Outcome::raises(gp, fmt::format("its vector at IVT offset {:#x}-{:#x} lies beyond "
                                               "the IDT limit {:#x}",
                                               entry, entry + 3, idt.limit));
    }
    std::array<uint8_t, 4> raw{};
    if (memory_.readLinear(at_, idt.base + entry, raw.data(), raw.size()) != raw.size())
        return Outcome::unknown(
            fmt::format("its vector at {:#x} is not in guest RAM", idt.base + entry));
    const GateDescriptor gate = decodeGate(raw, TableMode::Real);
    handler_ = gate.target;
    handlerKnown_ = true;
    return Outcome::fine();
}

Outcome Autopsy::readDescriptor(uint16_t selector, const Event& event, SegmentDescriptor& out,
                                const char* what, unsigned errorVector) {
    const uint32_t code = (selector & 0xfffc) | ext(event);
    const bool local = (selector & 4) != 0;
    uint64_t base = state_.sregs.gdt.base;
    uint32_t limit = state_.sregs.gdt.limit;
    if (local) {
        const kvm_segment& ldt = state_.sregs.ldt;
        if (ldt.unusable || !ldt.present || ldt.selector < 4)
            return Outcome::raises(
                fault(errorVector, code),
                fmt::format("{} {:#06x} names the LDT, and none is loaded", what, selector));
        base = ldt.base;
        limit = ldt.limit;
    }
    const uint64_t offset = selector & ~uint64_t{7};
    if (offset + 7 > limit)
        return Outcome::raises(fault(errorVector, code),
                               fmt::format("{} {:#06x} lies beyond the {} limit {:#x}", what,
                                           selector, local ? "LDT" : "GDT", limit));
    std::array<uint8_t, 8> raw{};
    const Outcome access =
        systemAccess(base + offset, raw.size(), false, raw.data(),
                     fmt::format("the descriptor of {} {:#06x}", what, selector));
    if (access.kind != Outcome::Kind::Fine)
        return access;
    out = decodeSegmentDescriptor(raw, mode_);
    return Outcome::fine();
}

Outcome Autopsy::pushFrame(uint64_t highest, uint64_t lowest, const std::string& stackName) {
    // The first push is the highest: its page is written first, then the lowest one's.
    const std::string what = fmt::format("the frame on {}", stackName);
    const Outcome high = systemAccess(highest, 1, true, nullptr, what);
    if (high.kind != Outcome::Kind::Fine)
        return high;
    return systemAccess(lowest, 1, true, nullptr, what);
}

Outcome Autopsy::deliver(const Event& event) {
    handlerKnown_ = false;
    if (mode_ == TableMode::Real)
        return deliverReal(event);
    if (state_.regs.rflags & kRflagsVm)
        return Outcome::unknown("virtual-8086 mode delivery is not modelled");
    const bool longMode = mode_ == TableMode::Long;
    const unsigned gateSize = longMode ? 16 : 8;
    const kvm_dtable& idt = state_.sregs.idt;
    const uint32_t idtCode = (event.vector << 3) | kErrorIdt | ext(event);
    // SDM vol. 3A 6.10/6.12.1: the gate must lie inside the IDT limit.
    const uint64_t entry = uint64_t{event.vector} * gateSize;
    if (entry + gateSize - 1 > idt.limit)
        return Outcome::raises(fault(kVectorGeneralProtection, idtCode),
                               fmt::format("its gate {} at IDT offset {:#x}-{:#x} lies beyond "
                                           "the IDT limit {:#x}",
                                           event.vector, entry, entry + gateSize - 1, idt.limit));
    std::array<uint8_t, 16> raw{};
    if (const Outcome access = systemAccess(idt.base + entry, gateSize, false, raw.data(),
                                            fmt::format("IDT gate {}", event.vector));
        access.kind != Outcome::Kind::Fine)
        return access;
    const GateDescriptor gate = decodeGate(std::span(raw.data(), gateSize), mode_);
    const bool interruptOrTrap = gate.type == 0xe || gate.type == 0xf ||
                                 (!longMode && (gate.type == 0x6 || gate.type == 0x7));
    const bool system = !((raw[5] >> 4) & 1);
    if (!system || !(interruptOrTrap || (!longMode && gate.type == 0x5)))
        return Outcome::raises(fault(kVectorGeneralProtection, idtCode),
                               fmt::format("gate {} is {}, not an interrupt{} gate", event.vector,
                                           gate.kind, longMode ? " or trap" : ", trap or task"));
    if (event.software && gate.dpl < cpl_)
        return Outcome::raises(fault(kVectorGeneralProtection, idtCode),
                               fmt::format("gate {} has DPL {} below CPL {} (INT n checks it)",
                                           event.vector, gate.dpl, cpl_));
    if (!gate.present)
        return Outcome::raises(fault(kVectorNotPresent, idtCode),
                               fmt::format("gate {} ({}) is not present", event.vector, gate.kind));
    if (gate.type == 0x5)
        return Outcome::unknown(fmt::format("gate {} is a task gate (TSS {:#06x}): kvmscope does "
                                            "not follow task switches",
                                            event.vector, gate.selector));
    // The handler's code segment (the INT n pseudocode of SDM vol. 2A).
    if ((gate.selector & 0xfffc) == 0)
        return Outcome::raises(fault(kVectorGeneralProtection, ext(event)),
                               fmt::format("gate {} names the null selector", event.vector));
    SegmentDescriptor code;
    if (const Outcome read = readDescriptor(gate.selector, event, code, "its code selector",
                                            kVectorGeneralProtection);
        read.kind != Outcome::Kind::Fine)
        return read;
    const uint32_t selectorCode = (gate.selector & 0xfffc) | ext(event);
    if (code.system || !(code.type & 0x8) || code.dpl > cpl_)
        return Outcome::raises(
            fault(kVectorGeneralProtection, selectorCode),
            fmt::format("its code selector {:#06x} names {} (DPL {}), not a code segment of DPL "
                        "<= CPL {}",
                        gate.selector, code.kind, code.dpl, cpl_));
    if (!code.present)
        return Outcome::raises(
            fault(kVectorNotPresent, selectorCode),
            fmt::format("its code segment {:#06x} is not present", gate.selector));
    if (longMode && !(code.longCode && !code.defaultBig))
        return Outcome::raises(
            fault(kVectorGeneralProtection, selectorCode),
            fmt::format("its code segment {:#06x} is not a 64-bit one", gate.selector));
    const bool conforming = (code.type & 0x4) != 0;
    const unsigned newCpl = conforming ? cpl_ : code.dpl;
    const bool privilegeChange = newCpl < cpl_;
    const bool hasError = event.errorCode.has_value();
    // The stack the frame goes to.
    const TaskState tss = readTaskState(memory_, at_);
    const kvm_segment& tr = state_.sregs.tr;
    const uint32_t trCode = (tr.selector & 0xfffc) | ext(event);
    auto tssField = [&](const std::string& name) -> const TaskStateField* {
        for (const TaskStateField& field : tss.fields)
            if (field.name == name)
                return &field;
        return nullptr;
    };
    if (longMode) {
        uint64_t rsp = state_.regs.rsp;
        std::string stackName = "the current stack";
        if (gate.ist != 0 || privilegeChange) {
            const std::string name =
                gate.ist ? fmt::format("IST{}", gate.ist) : fmt::format("RSP{}", newCpl);
            const unsigned fieldOffset = gate.ist ? 36 + 8 * (gate.ist - 1) : 4 + 8 * newCpl;
            if (!tss.present || fieldOffset + 7 > tr.limit)
                return Outcome::raises(fault(kVectorInvalidTss, trCode),
                                       fmt::format("the TSS ({:#06x}, limit {:#x}) holds no {}",
                                                   tr.selector, tr.limit, name));
            if (const Outcome access = systemAccess(tr.base + fieldOffset, 8, false, nullptr,
                                                    fmt::format("the TSS's {}", name));
                access.kind != Outcome::Kind::Fine)
                return access;
            const TaskStateField* field = tssField(name);
            if (!field)
                return Outcome::unknown(fmt::format("the TSS's {} is not in guest RAM", name));
            rsp = field->value;
            stackName = fmt::format("the {} stack", name);
            if (!canonical(rsp))
                return Outcome::raises(
                    fault(kVectorStack, ext(event)),
                    fmt::format("the TSS's {} {:#x} is not canonical", name, rsp));
        }
        // SDM vol. 3A 6.14.2: RSP is aligned to 16, then SS, RSP, RFLAGS, CS, RIP and the error
        // code are pushed, 8 bytes each.
        rsp &= ~uint64_t{0xf};
        const unsigned bytes = 8 * (5 + (hasError ? 1 : 0));
        if (const Outcome push = pushFrame(rsp - 8, rsp - bytes, stackName);
            push.kind != Outcome::Kind::Fine)
            return push;
        if (!canonical(gate.offset))
            return Outcome::raises(fault(kVectorGeneralProtection, ext(event)),
                                   fmt::format("its handler {:#x} is not canonical", gate.offset));
        handler_ = gate.offset;
        handlerCpl_ = newCpl;
        handlerKnown_ = true;
        return Outcome::fine();
    }
    // Protected mode: the gate's size decides the width of each push (SDM vol. 3A 6.12.1).
    const unsigned width = (gate.type & 0x8) ? 4 : 2;
    kvm_segment stack = state_.sregs.ss;
    uint64_t esp = state_.regs.rsp & (stack.db ? 0xffffffffull : 0xffffull);
    std::string stackName = "the current stack";
    unsigned pushes = 3 + (hasError ? 1 : 0);
    uint32_t stackFaultCode = ext(event);
    if (privilegeChange) {
        // SSn:ESPn from the TSS (32-bit: ESPn at 4 + 8n, SSn at 8 + 8n; 16-bit: SPn at 2 + 4n).
        const bool tss32 = (tr.type & 0x8) != 0;
        const std::string spName =
            tss32 ? fmt::format("ESP{}", newCpl) : fmt::format("SP{}", newCpl);
        const std::string ssName = fmt::format("SS{}", newCpl);
        const unsigned end = tss32 ? 8 + 8 * newCpl + 1 : 4 + 4 * newCpl + 1;
        if (!tss.present || end > tr.limit)
            return Outcome::raises(fault(kVectorInvalidTss, trCode),
                                   fmt::format("the TSS ({:#06x}, limit {:#x}) holds no {}",
                                               tr.selector, tr.limit, ssName));
        const TaskStateField* sp = tssField(spName);
        const TaskStateField* ss = tssField(ssName);
        if (!sp || !ss)
            return Outcome::unknown(fmt::format("the TSS's {} is not in guest RAM", ssName));
        const uint16_t ssSelector = static_cast<uint16_t>(ss->value);
        const uint32_t ssCode = (ssSelector & 0xfffc) | ext(event);
        if ((ssSelector & 0xfffc) == 0)
            return Outcome::raises(fault(kVectorInvalidTss, ext(event)),
                                   fmt::format("the TSS's {} is the null selector", ssName));
        SegmentDescriptor ssDescriptor;
        if (const Outcome read =
                readDescriptor(ssSelector, event, ssDescriptor, ssName.c_str(), kVectorInvalidTss);
            read.kind != Outcome::Kind::Fine)
            return read;
        if ((ssSelector & 3) != newCpl || ssDescriptor.dpl != newCpl || ssDescriptor.system ||
            (ssDescriptor.type & 0x8) || !(ssDescriptor.type & 0x2))
            return Outcome::raises(fault(kVectorInvalidTss, ssCode),
                                   fmt::format("the TSS's {} {:#06x} is not a writable data "
                                               "segment of privilege {}",
                                               ssName, ssSelector, newCpl));
        if (!ssDescriptor.present)
            return Outcome::raises(
                fault(kVectorStack, ssCode),
                fmt::format("the TSS's {} {:#06x} is not present", ssName, ssSelector));
        stack.base = ssDescriptor.base;
        stack.limit = ssDescriptor.limit;
        stack.type = ssDescriptor.type;
        stack.db = ssDescriptor.defaultBig;
        esp = sp->value;
        stackName = fmt::format("the {}:{} stack", ssName, spName);
        pushes += 2;
        stackFaultCode = ssCode;
    }
    // The pushes wrap within the stack's width (ESP with B set, else SP) and must lie inside an
    // expand-up stack segment's limit (SDM vol. 3A 5.3); expand-down stacks are not checked.
    const uint64_t mask = stack.db ? 0xffffffffull : 0xffffull;
    const unsigned bytes = pushes * width;
    const uint64_t highest = (esp - width) & mask;
    const uint64_t lowest = (esp - bytes) & mask;
    const bool expandDown = (stack.type & 0x4) != 0;
    if (!expandDown && (highest + width - 1 > stack.limit || lowest > stack.limit))
        return Outcome::raises(fault(kVectorStack, stackFaultCode),
                               fmt::format("the {}-byte frame below ESP {:#x} does not fit in "
                                           "the stack segment (limit {:#x})",
                                           bytes, esp, stack.limit));
    if (const Outcome push = pushFrame(stack.base + highest, stack.base + lowest, stackName);
        push.kind != Outcome::Kind::Fine)
        return push;
    if (gate.offset > code.limit)
        return Outcome::raises(fault(kVectorGeneralProtection, ext(event)),
                               fmt::format("its handler offset {:#x} lies beyond the code "
                                           "segment's limit {:#x}",
                                           gate.offset, code.limit));
    handler_ = code.base + gate.offset;
    handlerCpl_ = newCpl;
    handlerKnown_ = true;
    return Outcome::fine();
}

} // namespace kvmscope::inspect::autopsy
