#pragma once
// Guest memory as a vcpu with given paging registers sees it: guest-physical reads, linear reads
// and translations through kvmscope's page walker (debug/PageWalker.h), and the code there,
// disassembled in the mode the registers say, named by the guest's symbols.
//
// The one reader over register values: the live debugger (debug/GuestInspector, with the
// registers it has just read from a paused vcpu) and the GUI's views (inspect/GuestView, with a
// stop's snapshot) both read through it. It asks no vcpu anything, so it runs on any thread and
// tests build one over made-up memory.
#include "debug/Disassembler.h"
#include "debug/PageWalker.h"
#include "debug/SymbolTable.h"
#include "kvm/compat.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace kvmscope::debug {

// The registers of `sregs` that decide a page walk.
PagingRegisters pagingOf(const kvm_sregs& sregs);

class AddressSpace {
public:
    // Puts the guest's own bytes back over bytes just read at `linear` (where kvmscope patched
    // guest memory: the debugger's int3s).
    using Overlay = std::function<void(uint64_t linear, std::span<uint8_t> bytes)>;

    AddressSpace() = default; // no guest: nothing is readable
    // `overlay` may be empty; `symbols` (may be null) must outlive the address space.
    explicit AddressSpace(PhysicalReader physical, Overlay overlay = {},
                          const SymbolTable* symbols = nullptr);

    bool valid() const { return static_cast<bool>(physical_); }

    // All `length` bytes at guest-physical `physical`, or false when they are not all readable.
    bool readPhysical(uint64_t physical, void* destination, size_t length) const;
    // Reads through the page tables `sregs` point at; returns the bytes read before the first
    // unmapped or unreadable page.
    size_t readLinear(const kvm_sregs& sregs, uint64_t linear, void* destination,
                      size_t length) const;
    // kvmscope's walk of `linear` (each step recorded).
    Translation translate(const kvm_sregs& sregs, uint64_t linear) const;
    // `count` instructions from `address` on, in the code mode of `sregs`.
    std::vector<Instruction> disassemble(const kvm_sregs& sregs, uint64_t address,
                                         size_t count) const;
    // `before` instructions up to `pc`, the one at `pc` and `after` more (Disassembler::around).
    std::vector<Instruction> disassembleAround(const kvm_sregs& sregs, uint64_t pc, size_t before,
                                               size_t after) const;
    // The guest's symbols; an empty table when there are none.
    const SymbolTable& symbols() const;

private:
    PhysicalReader physical_;
    Overlay overlay_;
    const SymbolTable* symbols_ = nullptr;
};

} // namespace kvmscope::debug
