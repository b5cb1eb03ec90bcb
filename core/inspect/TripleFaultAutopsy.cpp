#include "inspect/TripleFaultAutopsy.h"

#include "inspect/DescriptorTables.h"
#include "trace/ExitRecord.h"

#include <Zydis/Zydis.h>
#include <array>
#include <fmt/format.h>
#include <set>
#include <utility>

namespace kvmscope::inspect {
namespace {

constexpr unsigned kVectorDivide = 0;
constexpr unsigned kVectorBreakpoint = 3;
constexpr unsigned kVectorOverflow = 4;
constexpr unsigned kVectorInvalidOpcode = 6;
constexpr unsigned kVectorDoubleFault = 8;
constexpr unsigned kVectorInvalidTss = 10;
constexpr unsigned kVectorNotPresent = 11;
constexpr unsigned kVectorStack = 12;
constexpr unsigned kVectorGeneralProtection = 13;
constexpr unsigned kVectorPageFault = 14;

// Error code bits (SDM vol. 3A 6.13): EXT, the event was external to the program (an exception
// or interrupt being delivered, not INT n); IDT, the index names an IDT gate.
constexpr uint32_t kErrorExt = 1u << 0;
constexpr uint32_t kErrorIdt = 1u << 1;
// #PF error code bits (SDM vol. 3A 4.7).
constexpr uint32_t kPfPresent = 1u << 0;
constexpr uint32_t kPfWrite = 1u << 1;
constexpr uint32_t kPfUser = 1u << 2;
constexpr uint32_t kPfFetch = 1u << 4;

constexpr uint64_t kCr0Wp = 1ull << 16;
constexpr uint64_t kCr4Smep = 1ull << 20;
constexpr uint64_t kEferNxe = 1ull << 11;
constexpr uint64_t kRflagsOf = 1ull << 11;
constexpr uint64_t kRflagsVm = 1ull << 17;

constexpr size_t kMaxSteps = 24;

// GCC's 128-bit integers, for a divide's double-width dividend.
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 Uint128;

const char* mnemonicOf(unsigned vector) {
    static constexpr std::array<const char*, 22> names{
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO", "#TS",
        "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE",  "#CP"};
    return vector < names.size() ? names[vector] : "INT";
}

// SDM vol. 3A, table 6-4.
enum class ExceptionClass { Benign, Contributory, PageFault, DoubleFault };
ExceptionClass classOf(unsigned vector) {
    switch (vector) {
    case 0:
    case 10:
    case 11:
    case 12:
    case 13:
        return ExceptionClass::Contributory;
    case 14:
    case 20: // #VE counts with page faults
        return ExceptionClass::PageFault;
    case 8:
        return ExceptionClass::DoubleFault;
    default:
        return ExceptionClass::Benign;
    }
}
const char* toString(ExceptionClass c) {
    switch (c) {
    case ExceptionClass::Benign:
        return "benign";
    case ExceptionClass::Contributory:
        return "contributory";
    case ExceptionClass::PageFault:
        return "page fault";
    case ExceptionClass::DoubleFault:
        return "double fault";
    }
    return "?";
}

// One event to deliver, or that a delivery raised.
struct Event {
    unsigned vector = 0;
    std::optional<uint32_t> errorCode;
    std::optional<uint64_t> cr2;
    bool software = false; // INT n, INT3, INTO: the gate's DPL is checked, EXT is 0
    bool realMode = false; // no error code is pushed in real mode

    std::string name() const {
        std::string text = vector < 32 ? mnemonicOf(vector) : fmt::format("INT {:#x}", vector);
        if (vector < 32 && (vector >= 22 || vector == 15))
            text = fmt::format("exception {}", vector);
        if (errorCode && !realMode)
            text += fmt::format("({:#x})", *errorCode);
        if (cr2)
            text += fmt::format(" at {:#x}", *cr2);
        return text;
    }
};

Event fault(unsigned vector, std::optional<uint32_t> errorCode = std::nullopt) {
    Event event;
    event.vector = vector;
    event.errorCode = errorCode;
    return event;
}

// What trying something gives: nothing (it works), an exception, or nothing kvmscope can tell.
struct Outcome {
    enum class Kind { Fine, Raises, Unknown } kind = Kind::Fine;
    Event event;
    std::string why;
    static Outcome fine() { return {}; }
    static Outcome raises(Event event, std::string why) {
        return {Kind::Raises, std::move(event), std::move(why)};
    }
    static Outcome unknown(std::string why) { return {Kind::Unknown, {}, std::move(why)}; }
};

bool canonical(uint64_t address) {
    const int64_t extended = static_cast<int64_t>(address << 16) >> 16;
    return static_cast<uint64_t>(extended) == address;
}

class Autopsy {
public:
    Autopsy(const FaultState& state, const GuestView& memory) : state_(state), memory_(memory) {
        at_.cpu.regs = state.regs;
        at_.cpu.sregs = state.sregs;
        at_.pc = cpu::linearPc(state.regs, state.sregs);
        mode_ = tableModeOf(state.sregs);
        certainty_ = state.source == FaultState::Source::AtShutdown ? Certainty::Observed
                                                                    : Certainty::Inferred;
        // CPL is CS.RPL (SDM vol. 3A 5.5).
        cpl_ = mode_ == TableMode::Real ? 0 : (state.sregs.cs.selector & 3);
    }

    TripleFaultAutopsy run();

private:
    void step(std::string text) { result_.steps.push_back({certainty_, std::move(text)}); }
    void guess(std::string text) {
        result_.steps.push_back({Certainty::Inferred, std::move(text)});
    }
    std::optional<Event> firstException();
    Outcome fetchAt(uint64_t linear, uint64_t offset, unsigned cpl, const char* what);
    Outcome instructionFaults(uint64_t linear, const uint8_t* bytes, size_t length);
    Outcome memoryOperand(const ZydisDecodedInstruction& instruction,
                          const ZydisDecodedOperand& operand, uint64_t offset);
    Outcome divide(const ZydisDecodedInstruction& instruction, const ZydisDecodedOperand* operands,
                   uint64_t offset);
    // A supervisor access to `linear` by the processor itself (tables, TSS, stack): #PF when
    // the page is not mapped (or not writable for a write with CR0.WP), unknown when not RAM.
    Outcome systemAccess(uint64_t linear, size_t length, bool write, void* destination,
                         const std::string& what);
    Outcome deliver(const Event& event);
    Outcome deliverReal(const Event& event);
    Outcome readDescriptor(uint16_t selector, const Event& event, SegmentDescriptor& out,
                           const char* what, unsigned errorVector);
    // The frame's highest and lowest bytes, written by the processor as a supervisor.
    Outcome pushFrame(uint64_t highest, uint64_t lowest, const std::string& stackName);

    uint32_t ext(const Event& event) const { return event.software ? 0 : kErrorExt; }
    uint32_t pfUser() const { return cpl_ == 3 ? kPfUser : 0; }

    const FaultState& state_;
    const GuestView& memory_;
    VcpuSnapshot at_;
    TableMode mode_;
    Certainty certainty_;
    unsigned cpl_ = 0;
    uint64_t handler_ = 0; // where the last successful delivery went
    unsigned handlerCpl_ = 0;
    bool handlerKnown_ = false;
    TripleFaultAutopsy result_;
};

Outcome Autopsy::systemAccess(uint64_t linear, size_t length, bool write, void* destination,
                              const std::string& what) {
    const uint64_t pages[2] = {linear, linear + length - 1};
    for (uint64_t address : pages) {
        const debug::Translation t = memory_.translate(at_, address);
        if (!t.valid) {
            Event pf = fault(kVectorPageFault, write ? kPfWrite : 0);
            pf.cr2 = address;
            return Outcome::raises(
                pf, fmt::format("{} at {:#x} is not mapped ({})", what, address, t.fault));
        }
        // Supervisor writes to a read-only page fault only with CR0.WP (SDM vol. 3A 4.6.1).
        if (write && !t.writable && (state_.sregs.cr0 & kCr0Wp)) {
            Event pf = fault(kVectorPageFault, kPfPresent | kPfWrite);
            pf.cr2 = address;
            return Outcome::raises(pf, fmt::format("{} at {:#x} is read-only", what, address));
        }
    }
    if (destination && memory_.readLinear(at_, linear, destination, length) != length)
        return Outcome::unknown(
            fmt::format("{} at {:#x} is mapped but not in guest RAM", what, linear));
    return Outcome::fine();
}

Outcome Autopsy::fetchAt(uint64_t linear, uint64_t offset, unsigned cpl, const char* what) {
    if (mode_ == TableMode::Long && state_.sregs.cs.l) {
        if (!canonical(linear))
            return Outcome::raises(fault(kVectorGeneralProtection, 0),
                                   fmt::format("{} {:#x} is not canonical", what, linear));
    } else if (mode_ != TableMode::Real && offset > state_.sregs.cs.limit) {
        return Outcome::raises(fault(kVectorGeneralProtection, 0),
                               fmt::format("{} {:#x} lies beyond the CS limit {:#x}", what, offset,
                                           state_.sregs.cs.limit));
    }
    const debug::Translation t = memory_.translate(at_, linear);
    // The I/D bit is reported where execute-disable or SMEP exist (SDM vol. 3A 4.7).
    const bool reportsFetch =
        (state_.sregs.cr4 & kCr4Smep) ||
        ((state_.sregs.efer & kEferNxe) &&
         (t.mode == debug::PagingMode::Pae || t.mode == debug::PagingMode::Level4 ||
          t.mode == debug::PagingMode::Level5));
    const uint32_t fetchBit = reportsFetch ? kPfFetch : 0;
    const uint32_t user = cpl == 3 ? kPfUser : 0;
    if (!t.valid) {
        Event pf = fault(kVectorPageFault, fetchBit | user);
        pf.cr2 = linear;
        return Outcome::raises(pf,
                               fmt::format("{} {:#x} is not mapped ({})", what, linear, t.fault));
    }
    if (!t.executable) {
        Event pf = fault(kVectorPageFault, kPfPresent | fetchBit | user);
        pf.cr2 = linear;
        return Outcome::raises(pf,
                               fmt::format("{} {:#x} is on an execute-disable page", what, linear));
    }
    if (cpl == 3 && !t.user) {
        Event pf = fault(kVectorPageFault, kPfPresent | fetchBit | kPfUser);
        pf.cr2 = linear;
        return Outcome::raises(
            pf, fmt::format("{} {:#x} is a supervisor page, fetched at CPL 3", what, linear));
    }
    return Outcome::fine();
}

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

TripleFaultAutopsy Autopsy::run() {
    if (state_.source == FaultState::Source::AtShutdown) {
        result_.basis = fmt::format(
            "KVM's state at the shutdown (not reset): RIP {:#x} is the faulting instruction's",
            at_.pc);
    } else {
        result_.basis = fmt::format(
            "the registers at the last exit before the shutdown ({}, RIP {:#x}): KVM reset the "
            "vcpu, so the first exception is inferred from the instruction after that exit and "
            "the system state then (descriptor tables and page tables as they are in memory "
            "now), not seen",
            trace::exitReasonName(state_.lastExitReason), at_.pc);
    }
    if (state_.events && state_.source == FaultState::Source::AtShutdown) {
        const kvm_vcpu_events& e = *state_.events;
        if (e.exception.injected || e.exception.pending)
            step(fmt::format("KVM still holds exception {} ({}{}) {}", e.exception.nr,
                             mnemonicOf(e.exception.nr),
                             e.exception.has_error_code
                                 ? fmt::format(", error code {:#x}", e.exception.error_code)
                                 : std::string(),
                             e.exception.injected ? "injected" : "pending"));
        // Only with KVM_CAP_X86_TRIPLE_FAULT_EVENT enabled, and then for a triple fault not yet
        // turned into the shutdown (api.rst 4.31): named where KVM reports one.
        if ((e.flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT) && e.triple_fault.pending)
            step("KVM reports a triple fault pending (KVM_VCPUEVENT_VALID_TRIPLE_FAULT)");
    }
    std::optional<Event> current = firstException();
    if (current && mode_ == TableMode::Real)
        current->realMode = true; // real mode pushes no error codes
    if (current)
        result_.chain.push_back(current->name());
    if (!current) {
        // Without the first exception, the one thing left to check is the end of every chain:
        // can #DF be delivered at all?
        guess("whatever the first exception was, one whose delivery failed ended in #DF; "
              "checking whether #DF itself can be delivered");
        Event df = fault(kVectorDoubleFault, 0);
        df.realMode = mode_ == TableMode::Real;
        const Outcome outcome = deliver(df);
        if (outcome.kind == Outcome::Kind::Raises &&
            classOf(outcome.event.vector) != ExceptionClass::Benign) {
            guess(fmt::format("#DF: {} → {}, during #DF: triple fault (shutdown)", outcome.why,
                              outcome.event.name()));
            result_.chain = {"?", "#DF", "triple fault"};
            result_.reachesShutdown = true;
        } else if (outcome.kind == Outcome::Kind::Unknown) {
            guess(fmt::format("#DF: {}", outcome.why));
        } else {
            guess(fmt::format("#DF could be delivered (its handler is at {:#x}): the chain cannot "
                              "be told from this state",
                              handler_));
        }
    }
    std::set<std::pair<unsigned, uint64_t>> handlerFetchFaults;
    while (current && result_.steps.size() < kMaxSteps) {
        const Event event = *current;
        current.reset();
        const Outcome outcome = deliver(event);
        if (outcome.kind == Outcome::Kind::Unknown) {
            step(fmt::format("delivering {}: {}: the chain ends here", event.name(), outcome.why));
            break;
        }
        if (outcome.kind == Outcome::Kind::Fine) {
            // Delivered: the handler's first fetch is the handler's own, a new exception if it
            // faults (not one during delivery, SDM vol. 3A 6.15, interrupt 8).
            // The code segment's limit was checked above: only the paging part matters here.
            const Outcome fetch = handlerKnown_ && mode_ != TableMode::Real
                                      ? fetchAt(handler_, 0, handlerCpl_, "the handler's address")
                                      : Outcome::fine();
            if (fetch.kind == Outcome::Kind::Raises) {
                if (!handlerFetchFaults.insert({event.vector, handler_}).second) {
                    step(fmt::format("{} is delivered again to the same unmapped handler at "
                                     "{:#x}: each round pushes another frame until the stack "
                                     "runs out; kvmscope does not follow it further",
                                     event.name(), handler_));
                    break;
                }
                step(fmt::format("{} is delivered to its handler at {:#x}, but {} → {} on "
                                 "fetching its first instruction (a new exception, not one "
                                 "during delivery)",
                                 event.name(), handler_, fetch.why, fetch.event.name()));
                current = fetch.event;
                result_.chain.push_back(current->name());
                continue;
            }
            step(fmt::format("{} can be delivered: its handler is at {:#x}. The reconstruction "
                             "does not end in a triple fault: the shutdown came from something "
                             "this state does not show",
                             event.name(), handler_));
            break;
        }
        const Event& second = outcome.event;
        const ExceptionClass first = classOf(event.vector);
        const ExceptionClass next = classOf(second.vector);
        if (first == ExceptionClass::DoubleFault &&
            (next == ExceptionClass::Contributory || next == ExceptionClass::PageFault)) {
            step(fmt::format("delivering #DF: {} → {}; a {} exception while delivering #DF is a "
                             "triple fault: the processor shuts down (SDM vol. 3A 6.15, "
                             "interrupt 8)",
                             outcome.why, second.name(), toString(next)));
            result_.chain.push_back(second.name());
            result_.chain.push_back("triple fault");
            result_.reachesShutdown = true;
            break;
        }
        const bool doubleFault =
            (first == ExceptionClass::Contributory && next == ExceptionClass::Contributory) ||
            (first == ExceptionClass::PageFault && next != ExceptionClass::Benign);
        if (doubleFault) {
            Event df = fault(kVectorDoubleFault, 0);
            df.realMode = mode_ == TableMode::Real;
            step(fmt::format("delivering {}: {} → {}; {} then {} is a double fault (table 6-5) "
                             "→ {}",
                             event.name(), outcome.why, second.name(), toString(first),
                             toString(next), df.name()));
            result_.chain.push_back(second.name());
            current = df;
            result_.chain.push_back(df.name());
        } else {
            step(fmt::format("delivering {}: {} → {}; {} then {}: the processor delivers {} on "
                             "its own (table 6-5)",
                             event.name(), outcome.why, second.name(), toString(first),
                             toString(next), second.name()));
            current = second;
            result_.chain.push_back(second.name());
        }
    }
    if (current)
        step("the chain goes on longer than kvmscope follows it");

    std::string chain;
    for (const std::string& link : result_.chain)
        chain += (chain.empty() ? "" : " → ") + link;
    const char* how = certainty_ == Certainty::Observed ? "observed at the fault"
                                                        : "inferred from the last exit's state";
    if (!result_.chain.empty() && result_.chain.front() == "?")
        how = certainty_ == Certainty::Observed
                  ? "the first exception unknown, the rest inferred from the state at the fault"
                  : "the first exception unknown, the rest inferred from the last exit's state";
    if (result_.reachesShutdown)
        result_.summary = fmt::format("{} ({})", chain, how);
    else
        result_.summary = fmt::format("no complete chain to the triple fault could be "
                                      "reconstructed{}{} ({})",
                                      chain.empty() ? "" : ": ", chain, how);
    return result_;
}

} // namespace

const char* toString(Certainty certainty) {
    return certainty == Certainty::Observed ? "observed" : "inferred";
}

TripleFaultAutopsy reconstructTripleFault(const FaultState& state, const GuestView& memory) {
    return Autopsy(state, memory).run();
}

std::string formatAutopsy(const TripleFaultAutopsy& autopsy) {
    std::string text =
        fmt::format("Triple-fault autopsy: {}\n  from {}\n", autopsy.summary, autopsy.basis);
    for (size_t i = 0; i < autopsy.steps.size(); ++i)
        text += fmt::format("  {}. [{}] {}\n", i + 1, toString(autopsy.steps[i].certainty),
                            autopsy.steps[i].text);
    return text;
}

} // namespace kvmscope::inspect
