#include "inspect/TripleFaultAutopsyParts.h"
#include "trace/ExitRecord.h"

namespace kvmscope::inspect::autopsy {

ZydisMachineMode zydisMode(debug::CodeMode mode) {
    switch (mode) {
    case debug::CodeMode::Real16:
        return ZYDIS_MACHINE_MODE_REAL_16;
    case debug::CodeMode::Protected16:
        return ZYDIS_MACHINE_MODE_LEGACY_16;
    case debug::CodeMode::Protected32:
        return ZYDIS_MACHINE_MODE_LEGACY_32;
    case debug::CodeMode::Long64:
        return ZYDIS_MACHINE_MODE_LONG_64;
    }
    return ZYDIS_MACHINE_MODE_LONG_64;
}

ZydisStackWidth zydisStack(debug::CodeMode mode) {
    switch (mode) {
    case debug::CodeMode::Long64:
        return ZYDIS_STACK_WIDTH_64;
    case debug::CodeMode::Protected32:
        return ZYDIS_STACK_WIDTH_32;
    default:
        return ZYDIS_STACK_WIDTH_16;
    }
}

void fillRegisters(ZydisRegisterContext& context, const kvm_regs& r) {
    const std::pair<ZydisRegister, uint64_t> gprs[] = {
        {ZYDIS_REGISTER_RAX, r.rax}, {ZYDIS_REGISTER_RCX, r.rcx}, {ZYDIS_REGISTER_RDX, r.rdx},
        {ZYDIS_REGISTER_RBX, r.rbx}, {ZYDIS_REGISTER_RSP, r.rsp}, {ZYDIS_REGISTER_RBP, r.rbp},
        {ZYDIS_REGISTER_RSI, r.rsi}, {ZYDIS_REGISTER_RDI, r.rdi}, {ZYDIS_REGISTER_R8, r.r8},
        {ZYDIS_REGISTER_R9, r.r9},   {ZYDIS_REGISTER_R10, r.r10}, {ZYDIS_REGISTER_R11, r.r11},
        {ZYDIS_REGISTER_R12, r.r12}, {ZYDIS_REGISTER_R13, r.r13}, {ZYDIS_REGISTER_R14, r.r14},
        {ZYDIS_REGISTER_R15, r.r15}};
    const ZydisRegister eax[] = {ZYDIS_REGISTER_EAX, ZYDIS_REGISTER_ECX, ZYDIS_REGISTER_EDX,
                                 ZYDIS_REGISTER_EBX, ZYDIS_REGISTER_ESP, ZYDIS_REGISTER_EBP,
                                 ZYDIS_REGISTER_ESI, ZYDIS_REGISTER_EDI};
    const ZydisRegister ax[] = {ZYDIS_REGISTER_AX, ZYDIS_REGISTER_CX, ZYDIS_REGISTER_DX,
                                ZYDIS_REGISTER_BX, ZYDIS_REGISTER_SP, ZYDIS_REGISTER_BP,
                                ZYDIS_REGISTER_SI, ZYDIS_REGISTER_DI};
    for (size_t i = 0; i < std::size(gprs); ++i) {
        context.values[gprs[i].first] = gprs[i].second;
        if (i < 8) {
            context.values[eax[i]] = gprs[i].second & 0xffffffff;
            context.values[ax[i]] = gprs[i].second & 0xffff;
        }
    }
}

// The value of a general register operand (8 to 64 bits) from the registers.
std::optional<uint64_t> registerValue(ZydisMachineMode mode, ZydisRegister reg,
                                      const kvm_regs& regs) {
    static constexpr ZydisRegister kHigh[] = {ZYDIS_REGISTER_AH, ZYDIS_REGISTER_CH,
                                              ZYDIS_REGISTER_DH, ZYDIS_REGISTER_BH};
    ZydisRegisterContext context{};
    fillRegisters(context, regs);
    for (unsigned i = 0; i < 4; ++i)
        if (reg == kHigh[i])
            return (context.values[ZYDIS_REGISTER_RAX + i] >> 8) & 0xff;
    const ZydisRegister full = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, reg);
    if (full < ZYDIS_REGISTER_RAX || full > ZYDIS_REGISTER_R15)
        return std::nullopt;
    const unsigned width = ZydisRegisterGetWidth(mode, reg);
    const uint64_t value = context.values[full];
    return width >= 64 ? value : value & ((1ull << width) - 1);
}

uint64_t segmentBaseOf(const kvm_sregs& sregs, ZydisRegister segment, bool longMode) {
    switch (segment) {
    case ZYDIS_REGISTER_FS:
        return sregs.fs.base;
    case ZYDIS_REGISTER_GS:
        return sregs.gs.base;
    default:
        break;
    }
    if (longMode)
        return 0;
    switch (segment) {
    case ZYDIS_REGISTER_ES:
        return sregs.es.base;
    case ZYDIS_REGISTER_CS:
        return sregs.cs.base;
    case ZYDIS_REGISTER_SS:
        return sregs.ss.base;
    default:
        return sregs.ds.base;
    }
}

const kvm_segment& segmentOf(const kvm_sregs& sregs, ZydisRegister segment) {
    switch (segment) {
    case ZYDIS_REGISTER_ES:
        return sregs.es;
    case ZYDIS_REGISTER_CS:
        return sregs.cs;
    case ZYDIS_REGISTER_SS:
        return sregs.ss;
    case ZYDIS_REGISTER_FS:
        return sregs.fs;
    case ZYDIS_REGISTER_GS:
        return sregs.gs;
    default:
        return sregs.ds;
    }
}

Outcome Autopsy::memoryOperand(const ZydisDecodedInstruction& instruction,
                               const ZydisDecodedOperand& operand, uint64_t offset) {
    ZydisRegisterContext context{};
    fillRegisters(context, state_.regs);
    uint64_t effective = 0;
    if (ZYAN_FAILED(
            ZydisCalcAbsoluteAddressEx(&instruction, &operand, offset, &context, &effective)))
        return Outcome::fine();
    const bool longMode = instruction.machine_mode == ZYDIS_MACHINE_MODE_LONG_64;
    const bool write = (operand.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) != 0;
    const unsigned size = std::max(1u, operand.size / 8u);
    const bool stack = operand.mem.segment == ZYDIS_REGISTER_SS;
    const Event segmentFault = fault(stack ? kVectorStack : kVectorGeneralProtection, 0);
    const char* access = write ? "write" : "read";
    // Segmentation (SDM vol. 3A 5.3): limits outside 64-bit mode, canonical form inside it.
    if (longMode) {
        const uint64_t linear = segmentBaseOf(state_.sregs, operand.mem.segment, true) + effective;
        if (!canonical(linear) || !canonical(linear + size - 1))
            return Outcome::raises(
                segmentFault,
                fmt::format("the {}-byte {} at {:#x} is not canonical", size, access, linear));
    } else if (mode_ != TableMode::Real) {
        const kvm_segment& segment = segmentOf(state_.sregs, operand.mem.segment);
        if (segment.unusable || segment.selector < 4)
            return Outcome::raises(segmentFault,
                                   fmt::format("the {} goes through a null segment", access));
        const bool expandDown = !(segment.type & 0x8) && (segment.type & 0x4);
        if (!expandDown && effective + size - 1 > segment.limit)
            return Outcome::raises(
                segmentFault,
                fmt::format("the {}-byte {} at offset {:#x} passes the segment limit {:#x}", size,
                            access, effective, segment.limit));
    }
    const uint64_t linear = segmentBaseOf(state_.sregs, operand.mem.segment, longMode) + effective;
    for (uint64_t address : {linear, linear + size - 1}) {
        const debug::Translation t = memory_.translate(at_, address);
        uint32_t code = (write ? kPfWrite : 0) | pfUser();
        std::string why;
        if (!t.valid) {
            why = fmt::format("the {} at {:#x} finds no mapping ({})", access, address, t.fault);
        } else if (write && !t.writable && (cpl_ == 3 || (state_.sregs.cr0 & kCr0Wp))) {
            code |= kPfPresent;
            why = fmt::format("the write at {:#x} hits a read-only page", address);
        } else if (cpl_ == 3 && !t.user) {
            code |= kPfPresent;
            why =
                fmt::format("the {} at {:#x} reaches a supervisor page at CPL 3", access, address);
        } else {
            continue;
        }
        Event pf = fault(kVectorPageFault, code);
        pf.cr2 = address;
        return Outcome::raises(pf, why);
    }
    return Outcome::fine();
}

Outcome Autopsy::divide(const ZydisDecodedInstruction& instruction,
                        const ZydisDecodedOperand* operands, uint64_t offset) {
    // DIV/IDIV r/m (SDM vol. 2A): #DE for a zero divisor or a quotient that does not fit.
    const ZydisDecodedOperand* source = nullptr;
    for (unsigned i = 0; i < instruction.operand_count_visible; ++i)
        if (operands[i].visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT)
            source = &operands[i];
    if (!source)
        return Outcome::fine();
    const unsigned bits = source->size;
    uint64_t divisor = 0;
    if (source->type == ZYDIS_OPERAND_TYPE_REGISTER) {
        const auto value = registerValue(instruction.machine_mode, source->reg.value, state_.regs);
        if (!value)
            return Outcome::fine();
        divisor = *value;
    } else if (source->type == ZYDIS_OPERAND_TYPE_MEMORY) {
        const Outcome access = memoryOperand(instruction, *source, offset);
        if (access.kind != Outcome::Kind::Fine)
            return access;
        ZydisRegisterContext context{};
        fillRegisters(context, state_.regs);
        uint64_t effective = 0;
        if (ZYAN_FAILED(
                ZydisCalcAbsoluteAddressEx(&instruction, source, offset, &context, &effective)))
            return Outcome::fine();
        const uint64_t linear =
            segmentBaseOf(state_.sregs, source->mem.segment,
                          instruction.machine_mode == ZYDIS_MACHINE_MODE_LONG_64) +
            effective;
        if (memory_.readLinear(at_, linear, &divisor, bits / 8) != bits / 8)
            return Outcome::unknown(
                fmt::format("the divisor at {:#x} is not in guest RAM", linear));
    } else {
        return Outcome::fine();
    }
    const uint64_t mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
    divisor &= mask;
    if (divisor == 0)
        return Outcome::raises(fault(kVectorDivide), "the divisor is 0");
    // The dividend: AX for a byte divisor, else DX:AX, EDX:EAX or RDX:RAX.
    const kvm_regs& r = state_.regs;
    Uint128 dividend = bits == 8 ? (r.rax & 0xffff)
                                 : ((static_cast<Uint128>(r.rdx & mask) << bits) | (r.rax & mask));
    const bool isSigned = instruction.mnemonic == ZYDIS_MNEMONIC_IDIV;
    bool overflow = false;
    if (!isSigned) {
        overflow = dividend / divisor > mask;
    } else {
        // Sign-extend the 2*bits dividend and the divisor, divide, check the quotient's range.
        const unsigned width = 2 * bits;
        Int128 sdividend = static_cast<Int128>(dividend << (128 - width)) >> (128 - width);
        const Int128 sdivisor =
            static_cast<Int128>(static_cast<Uint128>(divisor) << (128 - bits)) >> (128 - bits);
        const Int128 quotient = sdividend / sdivisor;
        const Int128 limit = static_cast<Int128>(1) << (bits - 1);
        overflow = quotient >= limit || quotient < -limit;
    }
    if (overflow)
        return Outcome::raises(fault(kVectorDivide),
                               fmt::format("the quotient does not fit in {} bits", bits));
    return Outcome::fine();
}

Outcome Autopsy::instructionFaults(uint64_t linear, const uint8_t* bytes, size_t length) {
    const debug::CodeMode codeMode = debug::codeModeOf(state_.sregs);
    ZydisDecoder decoder;
    if (ZYAN_FAILED(ZydisDecoderInit(&decoder, zydisMode(codeMode), zydisStack(codeMode))))
        return Outcome::unknown("no decoder for this mode");
    ZydisDecodedInstruction instruction;
    ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
    if (ZYAN_FAILED(ZydisDecoderDecodeFull(&decoder, bytes, length, &instruction, operands))) {
        // Bytes that are no instruction in this mode raise #UD (SDM vol. 2, "Opcode map").
        Event ud = fault(kVectorInvalidOpcode);
        return Outcome::raises(ud,
                               fmt::format("the bytes at {:#x} are no valid instruction", linear));
    }
    const uint64_t offset =
        codeMode == debug::CodeMode::Long64 ? linear : linear - state_.sregs.cs.base;
    switch (instruction.mnemonic) {
    case ZYDIS_MNEMONIC_UD0:
    case ZYDIS_MNEMONIC_UD1:
    case ZYDIS_MNEMONIC_UD2:
        return Outcome::raises(fault(kVectorInvalidOpcode), "it always raises #UD");
    case ZYDIS_MNEMONIC_INT3: {
        Event bp = fault(kVectorBreakpoint);
        bp.software = true;
        return Outcome::raises(bp, "a software breakpoint");
    }
    case ZYDIS_MNEMONIC_INT: {
        Event n = fault(static_cast<unsigned>(operands[0].imm.value.u & 0xff));
        n.software = true;
        return Outcome::raises(n, "a software interrupt");
    }
    case ZYDIS_MNEMONIC_INTO:
        if (!(state_.regs.rflags & kRflagsOf))
            return Outcome::fine();
        {
            Event of = fault(kVectorOverflow);
            of.software = true;
            return Outcome::raises(of, "OF is set");
        }
    case ZYDIS_MNEMONIC_INT1:
        return Outcome::raises(fault(1), "icebp raises #DB");
    case ZYDIS_MNEMONIC_DIV:
    case ZYDIS_MNEMONIC_IDIV:
        return divide(instruction, operands, offset);
    default:
        break;
    }
    if (cpl_ > 0 && (instruction.attributes & ZYDIS_ATTRIB_IS_PRIVILEGED))
        return Outcome::raises(fault(kVectorGeneralProtection, 0),
                               fmt::format("a privileged instruction at CPL {}", cpl_));
    // The explicit memory operands, in order (an address computation like lea reads nothing).
    if (instruction.meta.category != ZYDIS_CATEGORY_NOP &&
        instruction.mnemonic != ZYDIS_MNEMONIC_LEA) {
        for (unsigned i = 0; i < instruction.operand_count_visible; ++i) {
            if (operands[i].type != ZYDIS_OPERAND_TYPE_MEMORY ||
                operands[i].mem.type != ZYDIS_MEMOP_TYPE_MEM)
                continue;
            const Outcome access = memoryOperand(instruction, operands[i], offset);
            if (access.kind != Outcome::Kind::Fine)
                return access;
        }
    }
    return Outcome::fine();
}

std::optional<Event> Autopsy::firstException() {
    uint64_t linear = at_.pc;
    uint64_t offset = state_.regs.rip;
    const debug::Disassembler disassembler = debug::Disassembler::forState(state_.sregs);
    auto readInstruction = [&](uint64_t address, std::array<uint8_t, 15>& bytes) {
        return memory_.readLinear(at_, address, bytes.data(), bytes.size());
    };
    std::array<uint8_t, 15> bytes{};
    if (state_.source == FaultState::Source::LastExit &&
        (state_.lastExitReason == KVM_EXIT_IO || state_.lastExitReason == KVM_EXIT_MMIO)) {
        // The exit's own instruction completes when the vcpu runs again (api.rst 5, KVM_EXIT_IO
        // and KVM_EXIT_MMIO): RIP still points at it. The guest goes on after it.
        const size_t read = readInstruction(linear, bytes);
        const auto exiting = disassembler.decode(linear, std::span(bytes.data(), read));
        if (!exiting) {
            step(fmt::format("the instruction at {:#x} that made the last exit cannot be read or "
                             "decoded: the first exception is unknown",
                             linear));
            return std::nullopt;
        }
        step(fmt::format("the last exit ({}) was made by `{}` at {:#x}; it completes when the vcpu "
                         "runs again, and the guest goes on at {:#x}",
                         trace::exitReasonName(state_.lastExitReason), exiting->text, linear,
                         linear + exiting->length));
        linear += exiting->length;
        offset += exiting->length;
    }
    if (const Outcome fetch = fetchAt(linear, offset, cpl_, "RIP");
        fetch.kind == Outcome::Kind::Raises) {
        step(fmt::format("{} → {}", fetch.why, fetch.event.name()));
        return fetch.event;
    }
    const size_t read = readInstruction(linear, bytes);
    if (read == 0) {
        step(fmt::format("the code at {:#x} is not in guest RAM: what the processor fetched there "
                         "cannot be told",
                         linear));
        return std::nullopt;
    }
    const auto instruction = disassembler.decode(linear, std::span(bytes.data(), read));
    const Outcome outcome = instructionFaults(linear, bytes.data(), read);
    const std::string text = instruction ? instruction->text : std::string("(undecodable)");
    if (outcome.kind == Outcome::Kind::Raises) {
        step(
            fmt::format("{} at {:#x} (`{}`): {}", outcome.event.name(), linear, text, outcome.why));
        return outcome.event;
    }
    if (outcome.kind == Outcome::Kind::Unknown)
        step(fmt::format("`{}` at {:#x}: {}: the first exception is unknown", text, linear,
                         outcome.why));
    else
        step(fmt::format("`{}` at {:#x} raises no exception that kvmscope can tell from {}: the "
                         "first exception is unknown",
                         text, linear,
                         state_.source == FaultState::Source::LastExit
                             ? "the last exit's state (the guest may have run further)"
                             : "this state"));
    return std::nullopt;
}

} // namespace kvmscope::inspect::autopsy
