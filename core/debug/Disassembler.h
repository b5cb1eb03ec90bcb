#pragma once
// Guest code as text, decoded by Zydis in the mode the vcpu is in (real, 16/32-bit protected or
// 64-bit long mode, decided from CR0.PE, EFER.LMA and the CS descriptor's L and D bits), with
// branch targets resolved so a viewer can follow jumps and calls, and symbols as function+offset.
#include "debug/SymbolTable.h"
#include "kvm/compat.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kvmscope::debug {

enum class CodeMode { Real16, Protected16, Protected32, Long64 };
const char* toString(CodeMode mode);
CodeMode codeModeOf(const kvm_sregs& sregs);

struct Instruction {
    uint64_t address = 0; // linear address (CS base + offset)
    uint8_t length = 0;
    std::array<uint8_t, 15> bytes{};
    std::string text;   // Intel syntax, branch targets with their symbol
    std::string symbol; // function+offset of `address`, "" when unknown
    bool isCall = false;
    bool isBranch = false;          // jmp, jcc, call, ret, loop...
    std::optional<uint64_t> target; // a direct branch's destination
};

// Reads up to `length` bytes of guest memory at a linear address; returns how many it read.
using LinearReader = std::function<size_t(uint64_t linear, void* destination, size_t length)>;

class Disassembler {
public:
    // `codeBase` is the CS base: relative branches wrap within the segment's offset width (16
    // bits in real mode), so targets are computed on offsets and turned back into linear addresses.
    explicit Disassembler(CodeMode mode, uint64_t codeBase = 0,
                          const SymbolTable* symbols = nullptr);
    // The mode and CS base of a vcpu's current state.
    static Disassembler forState(const kvm_sregs& sregs, const SymbolTable* symbols = nullptr);

    CodeMode mode() const { return mode_; }
    // Decodes one instruction from `bytes` at `address`; nullopt when the bytes are no valid
    // instruction in this mode.
    std::optional<Instruction> decode(uint64_t address, std::span<const uint8_t> bytes) const;
    // Decodes `count` instructions from `address` on (fewer when memory or decoding ends).
    std::vector<Instruction> listing(uint64_t address, size_t count,
                                     const LinearReader& read) const;
    // `before` instructions ending just before `address` (found by decoding forward from earlier
    // start points until one lands exactly on `address`), then `address` and `after` more.
    std::vector<Instruction> around(uint64_t address, size_t before, size_t after,
                                    const LinearReader& read) const;

private:
    CodeMode mode_;
    uint64_t codeBase_;
    const SymbolTable* symbols_;
};

} // namespace kvmscope::debug
