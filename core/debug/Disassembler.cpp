#include "debug/Disassembler.h"

#include "cpu/X86Bits.h"

#include <Zydis/Zydis.h>
#include <algorithm>
#include <fmt/format.h>

namespace kvmscope::debug {
namespace {

constexpr size_t kMaxInstructionLength = 15; // SDM vol. 2A 2.3.11
constexpr uint64_t kMaxFunctionScan = 64 << 10;

struct ZydisModes {
    ZydisMachineMode machine;
    ZydisStackWidth stack;
};

ZydisModes zydisModes(CodeMode mode) {
    switch (mode) {
    case CodeMode::Real16:
        return {ZYDIS_MACHINE_MODE_REAL_16, ZYDIS_STACK_WIDTH_16};
    case CodeMode::Protected16:
        return {ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16};
    case CodeMode::Protected32:
        return {ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32};
    case CodeMode::Long64:
        return {ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64};
    }
    return {ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64};
}

uint64_t offsetMask(CodeMode mode) {
    switch (mode) {
    case CodeMode::Real16:
    case CodeMode::Protected16:
        return 0xFFFF;
    case CodeMode::Protected32:
        return 0xFFFF'FFFF;
    case CodeMode::Long64:
        return ~0ull;
    }
    return ~0ull;
}

} // namespace

const char* toString(CodeMode mode) {
    switch (mode) {
    case CodeMode::Real16:
        return "real mode";
    case CodeMode::Protected16:
        return "16-bit protected mode";
    case CodeMode::Protected32:
        return "32-bit protected mode";
    case CodeMode::Long64:
        return "64-bit long mode";
    }
    return "?";
}

CodeMode codeModeOf(const kvm_sregs& sregs) {
    // SDM vol. 3A 5.2.1 and 2.2.1: with EFER.LMA, CS.L selects 64-bit mode (else compatibility
    // mode, sized by CS.D like protected mode); CR0.PE = 0 is real mode.
    if (!(sregs.cr0 & X86_CR0_PE))
        return CodeMode::Real16;
    if ((sregs.efer & x86::kEferLma) && sregs.cs.l)
        return CodeMode::Long64;
    return sregs.cs.db ? CodeMode::Protected32 : CodeMode::Protected16;
}

Disassembler::Disassembler(CodeMode mode, uint64_t codeBase, const SymbolTable* symbols)
    : mode_(mode), codeBase_(mode == CodeMode::Long64 ? 0 : codeBase), symbols_(symbols) {}

Disassembler Disassembler::forState(const kvm_sregs& sregs, const SymbolTable* symbols) {
    return Disassembler(codeModeOf(sregs), sregs.cs.base, symbols);
}

std::optional<Instruction> Disassembler::decode(uint64_t address,
                                                std::span<const uint8_t> bytes) const {
    const ZydisModes modes = zydisModes(mode_);
    ZydisDecoder decoder;
    if (ZYAN_FAILED(ZydisDecoderInit(&decoder, modes.machine, modes.stack)))
        return std::nullopt;
    ZydisDecodedInstruction decoded;
    ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
    if (ZYAN_FAILED(
            ZydisDecoderDecodeFull(&decoder, bytes.data(), bytes.size(), &decoded, operands)))
        return std::nullopt;

    Instruction instruction;
    instruction.address = address;
    instruction.length = decoded.length;
    std::copy_n(bytes.begin(), decoded.length, instruction.bytes.begin());
    instruction.isCall = decoded.meta.category == ZYDIS_CATEGORY_CALL;
    instruction.isBranch = instruction.isCall || decoded.meta.category == ZYDIS_CATEGORY_COND_BR ||
                           decoded.meta.category == ZYDIS_CATEGORY_UNCOND_BR ||
                           decoded.meta.category == ZYDIS_CATEGORY_RET;
    // Zydis computes targets on the offset within CS (it wraps them to the operand size).
    const uint64_t offset = (address - codeBase_) & offsetMask(mode_);
    if (instruction.isBranch && (decoded.attributes & ZYDIS_ATTRIB_IS_RELATIVE)) {
        for (unsigned i = 0; i < decoded.operand_count_visible; ++i) {
            uint64_t target = 0;
            if (operands[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE &&
                ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&decoded, &operands[i], offset, &target))) {
                instruction.target = codeBase_ + target;
                break;
            }
        }
    }

    ZydisFormatter formatter;
    ZydisFormatterInit(&formatter, ZYDIS_FORMATTER_STYLE_INTEL);
    char text[256];
    if (ZYAN_FAILED(ZydisFormatterFormatInstruction(&formatter, &decoded, operands,
                                                    decoded.operand_count_visible, text,
                                                    sizeof text, offset, nullptr)))
        return std::nullopt;
    instruction.text = text;
    if (symbols_) {
        instruction.symbol = symbols_->describe(address);
        if (instruction.target) {
            const std::string name = symbols_->describe(*instruction.target);
            if (!name.empty())
                instruction.text += fmt::format(" <{}>", name);
        }
    }
    return instruction;
}

std::vector<Instruction> Disassembler::listing(uint64_t address, size_t count,
                                               const LinearReader& read) const {
    std::vector<Instruction> result;
    uint8_t buffer[kMaxInstructionLength];
    while (result.size() < count) {
        const size_t available = read(address, buffer, sizeof buffer);
        if (available == 0)
            break;
        auto instruction = decode(address, {buffer, available});
        if (!instruction)
            break;
        address += instruction->length;
        result.push_back(std::move(*instruction));
    }
    return result;
}

std::vector<Instruction> Disassembler::around(uint64_t address, size_t before, size_t after,
                                              const LinearReader& read) const {
    // x86 cannot be decoded backwards: try start points further and further back (up to the
    // longest possible run of `before` instructions) and keep the first whose decoding lands
    // exactly on `address`, i.e. the one that yields the most instructions before it. The
    // containing function's start, when a symbol table knows it, is the surest start point.
    std::vector<Instruction> best;
    std::vector<uint64_t> starts;
    if (symbols_) {
        if (const Symbol* symbol = symbols_->containing(address); symbol && symbol->function)
            starts.push_back(symbol->address);
    }
    const uint64_t span = std::min<uint64_t>(before * kMaxInstructionLength, address);
    for (uint64_t back = span; back > 0; --back)
        starts.push_back(address - back);
    for (uint64_t start : starts) {
        // A function start further back than kMaxFunctionScan would mean decoding a whole
        // large function for a few lines: the plain start points suffice then.
        if (start >= address || (address - start > span && address - start > kMaxFunctionScan))
            continue;
        std::vector<Instruction> run;
        uint64_t at = start;
        uint8_t buffer[kMaxInstructionLength];
        while (at < address) {
            const size_t available = read(at, buffer, sizeof buffer);
            auto instruction = available ? decode(at, {buffer, available}) : std::nullopt;
            if (!instruction)
                break;
            at += instruction->length;
            run.push_back(std::move(*instruction));
        }
        if (at == address && run.size() > best.size()) {
            best = std::move(run);
            if (best.size() >= before)
                break;
        }
    }
    if (best.size() > before)
        best.erase(best.begin(), best.end() - static_cast<std::ptrdiff_t>(before));
    // Zeroed memory decodes as `add [rax], al` (00 00): rows of it before an entry point say
    // nothing, so the listing starts after them (at the address itself when that is all).
    const auto meaningful = std::find_if(best.begin(), best.end(), [](const Instruction& i) {
        return std::any_of(i.bytes.begin(), i.bytes.begin() + i.length,
                           [](uint8_t byte) { return byte != 0; });
    });
    best.erase(best.begin(), meaningful);
    auto rest = listing(address, after + 1, read);
    best.insert(best.end(), std::make_move_iterator(rest.begin()),
                std::make_move_iterator(rest.end()));
    return best;
}

} // namespace kvmscope::debug
