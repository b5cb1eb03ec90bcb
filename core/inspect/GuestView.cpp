#include "inspect/GuestView.h"

#include "debug/Debugger.h"
#include "machine/GuestMemory.h"
#include "machine/Machine.h"

#include <algorithm>
#include <memory>

namespace kvmscope::inspect {

GuestView::GuestView(debug::PhysicalReader physical, LinearReader linear,
                     const debug::SymbolTable* symbols)
    : physical_(std::move(physical)), linear_(std::move(linear)), symbols_(symbols) {}

GuestView GuestView::ofBytes(uint64_t base, std::vector<uint8_t> bytes,
                             const debug::SymbolTable* symbols) {
    // Shared: a GuestView is copied into every view that holds one.
    auto ram = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
    auto physical = [base, ram](uint64_t address, void* destination, size_t length) {
        if (address < base || address - base > ram->size() ||
            length > ram->size() - (address - base))
            return false;
        std::copy_n(ram->data() + (address - base), length, static_cast<uint8_t*>(destination));
        return true;
    };
    return GuestView(std::move(physical), {}, symbols);
}

bool GuestView::readPhysical(uint64_t physical, void* destination, size_t length) const {
    return physical_ && physical_(physical, destination, length);
}

size_t GuestView::readLinear(const VcpuSnapshot& at, uint64_t linear, void* destination,
                             size_t length) const {
    if (!physical_)
        return 0;
    if (linear_)
        return linear_(at.cpu.sregs, linear, destination, length);
    return debug::readLinear(at.paging(), linear, destination, length, physical_);
}

debug::Translation GuestView::translate(const VcpuSnapshot& at, uint64_t linear) const {
    if (!physical_) {
        debug::Translation none;
        none.fault = "no guest memory";
        return none;
    }
    return debug::translate(at.paging(), linear, physical_);
}

std::vector<debug::Instruction> GuestView::disassemble(const VcpuSnapshot& at, uint64_t address,
                                                       size_t count) const {
    const debug::Disassembler disassembler = debug::Disassembler::forState(at.cpu.sregs, symbols_);
    return disassembler.listing(address, count, [this, &at](uint64_t from, void* out, size_t n) {
        return readLinear(at, from, out, n);
    });
}

std::vector<debug::Instruction> GuestView::disassembleAroundPc(const VcpuSnapshot& at,
                                                               size_t before, size_t after) const {
    const debug::Disassembler disassembler = debug::Disassembler::forState(at.cpu.sregs, symbols_);
    return disassembler.around(
        at.pc, before, after,
        [this, &at](uint64_t from, void* out, size_t n) { return readLinear(at, from, out, n); });
}

const debug::SymbolTable& GuestView::symbols() const {
    static const debug::SymbolTable kNone;
    return symbols_ ? *symbols_ : kNone;
}

GuestView guestViewOf(Machine& machine) {
    GuestMemory& memory = machine.memory();
    debug::Debugger& debugger = machine.debugger();
    auto physical = [&memory](uint64_t address, void* destination, size_t length) {
        if (!memory.contains(address, length))
            return false;
        memory.read(address, destination, length);
        return true;
    };
    auto linear = [&debugger](const kvm_sregs& sregs, uint64_t address, void* destination,
                              size_t length) {
        return debugger.readLinear(sregs, address, destination, length);
    };
    return GuestView(std::move(physical), std::move(linear), &debugger.symbols());
}

} // namespace kvmscope::inspect
