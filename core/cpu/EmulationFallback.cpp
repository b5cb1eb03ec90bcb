#include "cpu/EmulationFallback.h"

#include "cpu/GuestOperand.h"
#include "debug/Disassembler.h"
#include "kvm/Vcpu.h"
#include "log/Log.h"

#include <Zydis/Zydis.h>
#include <array>
#include <cstring>

namespace kvmscope::cpu {
namespace {

constexpr uint8_t kInt3Opcode = 0xCC;
constexpr uint8_t kFwaitOpcode = 0x9B;
constexpr uint8_t kBreakpointVector = 3;         // #BP
constexpr uint8_t kDeviceNotAvailableVector = 7; // #NM
constexpr uint8_t kFpuErrorVector = 16;          // #MF
constexpr uint8_t kInvalidOpcodeVector = 6;      // #UD

// The MXCSR_MASK field of the FXSAVE image (SDM vol. 1 10.5.1, table 10-2).
constexpr size_t kFxsaveMxcsrMaskOffset = 28;

FallbackAction raiseWithoutErrorCode(uint8_t vector, const char* mnemonic, uint8_t length) {
    return {FallbackAction::Kind::Raise, length, vector, mnemonic};
}

// A general register's value for an address computation: Zydis names the register as the
// instruction encodes it (EAX, R8D, BX...); the sum is wrapped to the address size afterwards,
// so the full 64-bit register gives the same result.
std::optional<uint64_t> registerValue(ZydisRegister reg, const kvm_regs& regs) {
    switch (ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, reg)) {
    case ZYDIS_REGISTER_RAX:
        return regs.rax;
    case ZYDIS_REGISTER_RCX:
        return regs.rcx;
    case ZYDIS_REGISTER_RDX:
        return regs.rdx;
    case ZYDIS_REGISTER_RBX:
        return regs.rbx;
    case ZYDIS_REGISTER_RSP:
        return regs.rsp;
    case ZYDIS_REGISTER_RBP:
        return regs.rbp;
    case ZYDIS_REGISTER_RSI:
        return regs.rsi;
    case ZYDIS_REGISTER_RDI:
        return regs.rdi;
    case ZYDIS_REGISTER_R8:
        return regs.r8;
    case ZYDIS_REGISTER_R9:
        return regs.r9;
    case ZYDIS_REGISTER_R10:
        return regs.r10;
    case ZYDIS_REGISTER_R11:
        return regs.r11;
    case ZYDIS_REGISTER_R12:
        return regs.r12;
    case ZYDIS_REGISTER_R13:
        return regs.r13;
    case ZYDIS_REGISTER_R14:
        return regs.r14;
    case ZYDIS_REGISTER_R15:
        return regs.r15;
    default:
        return std::nullopt;
    }
}

std::optional<SegmentRegister> segmentRegister(ZydisRegister reg) {
    switch (reg) {
    case ZYDIS_REGISTER_ES:
        return SegmentRegister::Es;
    case ZYDIS_REGISTER_CS:
        return SegmentRegister::Cs;
    case ZYDIS_REGISTER_SS:
        return SegmentRegister::Ss;
    case ZYDIS_REGISTER_DS:
        return SegmentRegister::Ds;
    case ZYDIS_REGISTER_FS:
        return SegmentRegister::Fs;
    case ZYDIS_REGISTER_GS:
        return SegmentRegister::Gs;
    default:
        return std::nullopt;
    }
}

// The effective address of a memory operand: base + index * scale + displacement, wrapped to
// the address size; RIP-relative addressing starts from the next instruction (SDM vol. 1 3.7.5,
// vol. 2A 2.2.1.6).
std::optional<uint64_t> effectiveAddress(const ZydisDecodedInstruction& instruction,
                                         const ZydisDecodedOperand& operand, const kvm_regs& regs) {
    uint64_t address =
        operand.mem.disp.has_displacement ? static_cast<uint64_t>(operand.mem.disp.value) : 0;
    if (operand.mem.base == ZYDIS_REGISTER_RIP || operand.mem.base == ZYDIS_REGISTER_EIP) {
        address += regs.rip + instruction.length;
    } else if (operand.mem.base != ZYDIS_REGISTER_NONE) {
        const auto base = registerValue(operand.mem.base, regs);
        if (!base)
            return std::nullopt;
        address += *base;
    }
    if (operand.mem.index != ZYDIS_REGISTER_NONE) {
        const auto index = registerValue(operand.mem.index, regs);
        if (!index)
            return std::nullopt;
        address += *index * operand.mem.scale;
    }
    if (instruction.address_width < 64)
        address &= (1ull << instruction.address_width) - 1;
    return address;
}

ZydisMachineMode machineMode(debug::CodeMode mode) {
    switch (mode) {
    case debug::CodeMode::Long64:
        return ZYDIS_MACHINE_MODE_LONG_64;
    case debug::CodeMode::Protected32:
        return ZYDIS_MACHINE_MODE_LEGACY_32;
    case debug::CodeMode::Protected16:
        return ZYDIS_MACHINE_MODE_LEGACY_16;
    case debug::CodeMode::Real16:
        return ZYDIS_MACHINE_MODE_REAL_16;
    }
    return ZYDIS_MACHINE_MODE_LONG_64;
}

ZydisStackWidth stackWidth(debug::CodeMode mode) {
    switch (mode) {
    case debug::CodeMode::Long64:
        return ZYDIS_STACK_WIDTH_64;
    case debug::CodeMode::Protected32:
        return ZYDIS_STACK_WIDTH_32;
    case debug::CodeMode::Protected16:
    case debug::CodeMode::Real16:
        return ZYDIS_STACK_WIDTH_16;
    }
    return ZYDIS_STACK_WIDTH_64;
}

MxcsrCompletion refused(const char* why) {
    MxcsrCompletion completion;
    completion.refusal = why;
    return completion;
}

} // namespace

FallbackAction decideFallback(std::span<const uint8_t> instruction, uint64_t cr0,
                              uint16_t fpuStatus) {
    if (instruction.empty())
        return {};
    switch (instruction.front()) {
    case kInt3Opcode:
        return {FallbackAction::Kind::SkipAndRaise, 1, kBreakpointVector, "int3"};
    case kFwaitOpcode:
        if ((cr0 & kCr0MonitorCoprocessor) && (cr0 & kCr0TaskSwitched))
            return {FallbackAction::Kind::Raise, 1, kDeviceNotAvailableVector, "fwait"};
        if (fpuStatus & kFpuStatusErrorSummary)
            return {FallbackAction::Kind::Raise, 1, kFpuErrorVector, "fwait"};
        return {FallbackAction::Kind::Skip, 1, 0, "fwait"};
    default:
        return {};
    }
}

MxcsrCompletion completeMxcsrInstruction(std::span<const uint8_t> instruction, const kvm_regs& regs,
                                         const kvm_sregs& sregs, uint32_t mxcsr, uint32_t mxcsrMask,
                                         GuestMemory& memory) {
    const debug::CodeMode mode = debug::codeModeOf(sregs);
    ZydisDecoder decoder;
    if (ZYAN_FAILED(ZydisDecoderInit(&decoder, machineMode(mode), stackWidth(mode))))
        return {};
    ZydisDecodedInstruction decoded;
    ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
    if (ZYAN_FAILED(ZydisDecoderDecodeFull(&decoder, instruction.data(), instruction.size(),
                                           &decoded, operands)))
        return {};
    const bool load = decoded.mnemonic == ZYDIS_MNEMONIC_LDMXCSR;
    if ((!load && decoded.mnemonic != ZYDIS_MNEMONIC_STMXCSR) ||
        decoded.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY)
        return {};
    const char* mnemonic = load ? "ldmxcsr" : "stmxcsr";
    const ZydisDecodedOperand* memoryOperand = nullptr;
    for (uint8_t i = 0; i < decoded.operand_count; ++i)
        if (operands[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
            operands[i].visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT)
            memoryOperand = &operands[i];
    if (!memoryOperand)
        return {};

    // SDM vol. 2A LDMXCSR / vol. 2B STMXCSR, "Protected Mode Exceptions", in the priority of
    // vol. 3A 6.9: decoding faults (#UD, #NM) before those of the memory access.
    if ((sregs.cr0 & kCr0Emulation) || !(sregs.cr4 & kCr4Osfxsr))
        return {raiseWithoutErrorCode(kInvalidOpcodeVector, mnemonic, decoded.length), {}, ""};
    if (sregs.cr0 & kCr0TaskSwitched)
        return {raiseWithoutErrorCode(kDeviceNotAvailableVector, mnemonic, decoded.length), {}, ""};

    const auto offset = effectiveAddress(decoded, *memoryOperand, regs);
    const auto segment = segmentRegister(memoryOperand->mem.segment);
    if (!offset || !segment)
        return refused("operand addressing");
    std::array<uint8_t, 4> bytes{};
    if (!load)
        std::memcpy(bytes.data(), &mxcsr, sizeof mxcsr);
    const OperandAccess access =
        accessOperand(sregs, regs.rflags, *segment, *offset, bytes, !load, memory);
    MxcsrCompletion completion;
    switch (access.outcome) {
    case OperandAccess::Outcome::Refused:
        return refused(access.refusal);
    case OperandAccess::Outcome::Raise: {
        const CpuException& exception = access.exception;
        completion.action = {
            FallbackAction::Kind::Raise, decoded.length,      exception.vector,  mnemonic,
            exception.hasErrorCode,      exception.errorCode, exception.setsCr2, exception.cr2};
        return completion;
    }
    case OperandAccess::Outcome::Done:
        break;
    }
    if (load) {
        uint32_t value = 0;
        std::memcpy(&value, bytes.data(), sizeof value);
        // "#GP(0) For an attempt to set reserved bits in MXCSR": those outside MXCSR_MASK.
        if (value & ~mxcsrMask) {
            completion.action = {FallbackAction::Kind::Raise,
                                 decoded.length,
                                 kGeneralProtectionVector,
                                 mnemonic,
                                 true,
                                 0};
            return completion;
        }
        completion.mxcsr = value;
    }
    completion.action = {FallbackAction::Kind::Skip, decoded.length, 0, mnemonic};
    return completion;
}

uint32_t hostMxcsrMask() {
    static const uint32_t mask = [] {
        alignas(16) std::array<uint8_t, 512> area{};
        __asm__ volatile("fxsave %0" : "=m"(area));
        uint32_t value = 0;
        std::memcpy(&value, area.data() + kFxsaveMxcsrMaskOffset, sizeof value);
        return value != 0 ? value : static_cast<uint32_t>(kDefaultMxcsrMask);
    }();
    return mask;
}

std::optional<CompletedInstruction>
completeInstruction(kvm::Vcpu& vcpu, std::span<const uint8_t> instruction, GuestMemory* memory) {
    const kvm_sregs sregs = vcpu.sregs();
    kvm_fpu fpu = vcpu.fpu();
    kvm_regs regs = vcpu.regs();
    FallbackAction action = decideFallback(instruction, sregs.cr0, fpu.fsw);
    std::optional<uint32_t> mxcsr;
    if (action.kind == FallbackAction::Kind::NotHandled && memory) {
        // A completed STMXCSR has written guest RAM already: the checks below only ever turn
        // down a Raise, so RIP always moves past a store that was made.
        const MxcsrCompletion completion =
            completeMxcsrInstruction(instruction, regs, sregs, fpu.mxcsr, hostMxcsrMask(), *memory);
        if (*completion.refusal)
            log::get("kvm")->warn("vcpu {}: not completing the instruction at RIP {:#x}: {}",
                                  vcpu.id(), regs.rip, completion.refusal);
        action = completion.action;
        mxcsr = completion.mxcsr;
    }
    if (action.kind == FallbackAction::Kind::NotHandled)
        return std::nullopt;
    kvm_vcpu_events events = vcpu.events();
    const bool raises = action.kind != FallbackAction::Kind::Skip;
    if (raises && (events.exception.injected || events.exception.pending ||
                   events.interrupt.injected || events.nmi.injected))
        return std::nullopt;
    const uint64_t at = regs.rip;
    if (mxcsr) {
        fpu.mxcsr = *mxcsr;
        vcpu.setFpu(fpu);
    }
    if (action.kind != FallbackAction::Kind::Raise) {
        regs.rip += action.length;
        vcpu.setRegs(regs);
    }
    if (action.setsCr2) {
        // A #PF reports its linear address in CR2, which the injected exception does not carry
        // (KVM_CAP_EXCEPTION_PAYLOAD is not enabled): set it first.
        kvm_sregs faulting = sregs;
        faulting.cr2 = action.cr2;
        vcpu.setSregs(faulting);
    }
    if (raises) {
        events.flags = 0; // leave NMI-pending, SIPI, shadow and SMM state as KVM has them
        events.exception.injected = 1;
        events.exception.nr = action.vector;
        events.exception.has_error_code = action.hasErrorCode;
        events.exception.error_code = action.errorCode;
        vcpu.setEvents(events);
    }
    return CompletedInstruction{action.mnemonic, at};
}

} // namespace kvmscope::cpu
