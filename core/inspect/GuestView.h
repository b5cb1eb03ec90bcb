#pragma once
// Guest memory as the views of a stopped vcpu read it: guest-physical RAM, and linear addresses
// through the paging registers of a VcpuSnapshot (kvmscope's page walker, debug/PageWalker.h),
// with the code listings and page walks built on them. Reading it asks no vcpu anything: RAM is
// read on the caller's thread, and the registers that decide a walk are the snapshot's. So the
// code, memory, call-stack and page-walk views cost no round trip to a vcpu thread beyond the
// one that took the snapshot.
//
// A value made of functions: a view holds one, tests build one over made-up memory (ofBytes),
// and the live one (guestViewOf) reads a machine's RAM and shows the guest's own bytes where the
// debugger put an int3.
// VcpuSnapshot.h brings the disassembler and the page walker, after kvm/compat.h, which must come
// before the <linux/kvm.h> of debug/Disassembler.h.
#include "inspect/VcpuSnapshot.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace kvmscope {
class Machine;
}

namespace kvmscope::inspect {

class GuestView {
public:
    // Reads `length` bytes at a linear address through the paging registers of `sregs`; returns
    // how many it read before the first unmapped or unreadable page.
    using LinearReader = std::function<size_t(const kvm_sregs& sregs, uint64_t linear,
                                              void* destination, size_t length)>;

    GuestView() = default; // no guest: nothing is readable
    // `linear` may be empty: linear reads then walk the page tables through `physical`.
    // `symbols` (may be null) must outlive the view.
    GuestView(debug::PhysicalReader physical, LinearReader linear,
              const debug::SymbolTable* symbols);
    // `bytes` as the guest's RAM from guest-physical `base` on; nothing else is RAM.
    static GuestView ofBytes(uint64_t base, std::vector<uint8_t> bytes,
                             const debug::SymbolTable* symbols = nullptr);

    bool valid() const { return static_cast<bool>(physical_); }

    // All `length` bytes at guest-physical `physical`, or false when they are not all RAM.
    bool readPhysical(uint64_t physical, void* destination, size_t length) const;
    // As the vcpu of `at` saw memory at its stop; returns the bytes read before the first
    // unmapped page.
    size_t readLinear(const VcpuSnapshot& at, uint64_t linear, void* destination,
                      size_t length) const;
    // kvmscope's walk of `linear` through the page tables of `at` (each step recorded).
    debug::Translation translate(const VcpuSnapshot& at, uint64_t linear) const;
    // `count` instructions from `address` on, in the code mode of `at`.
    std::vector<debug::Instruction> disassemble(const VcpuSnapshot& at, uint64_t address,
                                                size_t count) const;
    // `before` instructions up to RIP, RIP's and `after` more (Disassembler::around).
    std::vector<debug::Instruction> disassembleAroundPc(const VcpuSnapshot& at, size_t before,
                                                        size_t after) const;
    // The guest's symbols; an empty table when there are none.
    const debug::SymbolTable& symbols() const;

private:
    debug::PhysicalReader physical_;
    LinearReader linear_;
    const debug::SymbolTable* symbols_ = nullptr;
};

// The live machine's: its RAM, and linear reads through its debugger, so that the bytes under an
// int3 of kvmscope's show as the guest's own (Debugger::readLinear). Valid while `machine` lives.
GuestView guestViewOf(Machine& machine);

} // namespace kvmscope::inspect
