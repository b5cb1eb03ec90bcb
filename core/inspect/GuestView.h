#pragma once
// Guest memory as the views of a stopped vcpu read it: the guest's AddressSpace
// (debug/AddressSpace.h) read relative to a VcpuSnapshot, whose registers decide each walk and
// listing. Reading it asks no vcpu anything, so the code, memory, call-stack and page-walk views
// cost no round trip to a vcpu thread beyond the one that took the snapshot.
//
// A value: a view holds one, tests build one over made-up memory (ofBytes), and the live one
// (guestViewOf) is the debugger's address space over the machine's RAM, which shows the guest's
// own bytes where the debugger put an int3.
// VcpuSnapshot.h brings the disassembler and the page walker, after kvm/compat.h, which must come
// before the <linux/kvm.h> of debug/Disassembler.h.
#include "debug/AddressSpace.h"
#include "inspect/VcpuSnapshot.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kvmscope {
class Machine;
}

namespace kvmscope::inspect {

class GuestView {
public:
    GuestView() = default; // no guest: nothing is readable
    explicit GuestView(debug::AddressSpace space) : space_(std::move(space)) {}
    // `bytes` as the guest's RAM from guest-physical `base` on; nothing else is RAM.
    static GuestView ofBytes(uint64_t base, std::vector<uint8_t> bytes,
                             const debug::SymbolTable* symbols = nullptr);

    bool valid() const { return space_.valid(); }

    // All `length` bytes at guest-physical `physical`, or false when they are not all RAM.
    bool readPhysical(uint64_t physical, void* destination, size_t length) const {
        return space_.readPhysical(physical, destination, length);
    }
    // As the vcpu of `at` saw memory at its stop; returns the bytes read before the first
    // unmapped page.
    size_t readLinear(const VcpuSnapshot& at, uint64_t linear, void* destination,
                      size_t length) const {
        return space_.readLinear(at.cpu.sregs, linear, destination, length);
    }
    // kvmscope's walk of `linear` through the page tables of `at` (each step recorded).
    debug::Translation translate(const VcpuSnapshot& at, uint64_t linear) const {
        return space_.translate(at.cpu.sregs, linear);
    }
    // `count` instructions from `address` on, in the code mode of `at`.
    std::vector<debug::Instruction> disassemble(const VcpuSnapshot& at, uint64_t address,
                                                size_t count) const {
        return space_.disassemble(at.cpu.sregs, address, count);
    }
    // `before` instructions up to RIP, RIP's and `after` more (Disassembler::around).
    std::vector<debug::Instruction> disassembleAroundPc(const VcpuSnapshot& at, size_t before,
                                                        size_t after) const {
        return space_.disassembleAround(at.cpu.sregs, at.pc, before, after);
    }
    // The guest's symbols; an empty table when there are none.
    const debug::SymbolTable& symbols() const { return space_.symbols(); }

private:
    debug::AddressSpace space_;
};

// The live machine's: its RAM as its debugger reads it, so that the bytes under an int3 of
// kvmscope's show as the guest's own (GuestInspector::space). Valid while `machine` lives.
GuestView guestViewOf(Machine& machine);

} // namespace kvmscope::inspect
