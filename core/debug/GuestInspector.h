#pragma once
// The live machine's memory and code as one paused vcpu sees them: the registers read from the
// vcpu, then read through the machine's AddressSpace (debug/AddressSpace.h: page walker,
// disassembler, symbols); writes by linear or physical address; the guest's symbols.
//
// What the guest wrote, not what kvmscope patched in: the owner of the patches (the Debugger, for
// its int3s) lays the original bytes over every read and is told of every write (MemoryPatches).
// Vcpu state is read on the vcpu's own thread (VcpuRunner::call), so the vcpu must be paused.
#include "debug/AddressSpace.h"
#include "kvm/compat.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace kvmscope {
class Machine;
}

namespace kvmscope::debug {

// Bytes in guest memory that are not the guest's own (an int3's 0xCC).
class MemoryPatches {
public:
    virtual ~MemoryPatches() = default;
    // `bytes` were read from guest memory at `linear`: put the guest's own bytes back in them.
    virtual void showOriginalBytes(uint64_t linear, std::span<uint8_t> bytes) const = 0;
    // `bytes` were just written at guest-physical `physical`: keep the patches inside in place.
    virtual void afterWrite(uint64_t physical, std::span<const uint8_t> bytes) = 0;
};

class GuestInspector {
public:
    static constexpr int kVcpuTimeoutMs = 5000;

    GuestInspector(Machine& machine, MemoryPatches& patches);

    // One round trip to the vcpu thread each.
    kvm_sregs sregsOf(uint32_t vcpu) const;
    uint64_t pcOf(uint32_t vcpu) const; // RIP as a linear address

    // The machine's RAM with the patches' original bytes laid over it, and the symbols: for
    // reads relative to registers the caller already has (a stop's snapshot). Valid while the
    // machine lives.
    AddressSpace space() const;

    Translation translate(uint32_t vcpu, uint64_t linear) const;
    // Guest-virtual memory through the page walker; stops at the first unmapped byte and returns
    // how many were read.
    size_t readLinear(uint32_t vcpu, uint64_t linear, void* destination, size_t length) const;
    // Page by page (consecutive linear pages need not be consecutive in RAM); returns the bytes
    // written before the first unmapped page.
    size_t writeLinear(uint32_t vcpu, uint64_t linear, const void* source, size_t length);
    // Throws InputError naming the address when the range is not all RAM.
    size_t writePhysical(uint64_t physical, const void* source, size_t length);

    std::vector<Instruction> disassemble(uint32_t vcpu, uint64_t address, size_t count) const;
    std::vector<Instruction> disassembleAroundPc(uint32_t vcpu, size_t before, size_t after) const;

    void setSymbols(SymbolTable symbols);
    // The symbols of a booted machine: `symbolsPath` (an ELF or a System.map, --symbols) when
    // given, else the image's own ELF .symtab when the image is an ELF file that has one.
    // Throws LoadError naming `symbolsPath` when that file is unusable; an image without
    // symbols is no error (most are flat binaries or stripped).
    void loadSymbols(const std::string& symbolsPath, const std::string& imagePath);
    const SymbolTable& symbols() const { return symbols_; }

private:
    PhysicalReader physicalReader() const;

    Machine& machine_;
    MemoryPatches& patches_;
    SymbolTable symbols_;
};

} // namespace kvmscope::debug
