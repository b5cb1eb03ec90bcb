#include "debug/AddressSpace.h"

#include <utility>

namespace kvmscope::debug {

PagingRegisters pagingOf(const kvm_sregs& sregs) {
    return {sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer};
}

AddressSpace::AddressSpace(PhysicalReader physical, Overlay overlay, const SymbolTable* symbols)
    : physical_(std::move(physical)), overlay_(std::move(overlay)), symbols_(symbols) {}

bool AddressSpace::readPhysical(uint64_t physical, void* destination, size_t length) const {
    return physical_ && physical_(physical, destination, length);
}

size_t AddressSpace::readLinear(const kvm_sregs& sregs, uint64_t linear, void* destination,
                                size_t length) const {
    if (!physical_)
        return 0;
    const size_t done = debug::readLinear(pagingOf(sregs), linear, destination, length, physical_);
    if (overlay_)
        overlay_(linear, {static_cast<uint8_t*>(destination), done});
    return done;
}

Translation AddressSpace::translate(const kvm_sregs& sregs, uint64_t linear) const {
    if (!physical_) {
        Translation none;
        none.fault = "no guest memory";
        return none;
    }
    return debug::translate(pagingOf(sregs), linear, physical_);
}

std::vector<Instruction> AddressSpace::disassemble(const kvm_sregs& sregs, uint64_t address,
                                                   size_t count) const {
    const Disassembler disassembler = Disassembler::forState(sregs, symbols_);
    return disassembler.listing(address, count, [this, &sregs](uint64_t at, void* out, size_t n) {
        return readLinear(sregs, at, out, n);
    });
}

std::vector<Instruction> AddressSpace::disassembleAround(const kvm_sregs& sregs, uint64_t pc,
                                                         size_t before, size_t after) const {
    const Disassembler disassembler = Disassembler::forState(sregs, symbols_);
    return disassembler.around(pc, before, after, [this, &sregs](uint64_t at, void* out, size_t n) {
        return readLinear(sregs, at, out, n);
    });
}

const SymbolTable& AddressSpace::symbols() const {
    static const SymbolTable kNone;
    return symbols_ ? *symbols_ : kNone;
}

} // namespace kvmscope::debug
