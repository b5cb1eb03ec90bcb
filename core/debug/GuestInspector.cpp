#include "debug/GuestInspector.h"

#include "common/Error.h"
#include "common/InputFile.h"
#include "cpu/CpuState.h"
#include "kvm/Vcpu.h"
#include "log/Log.h"
#include "machine/Machine.h"

#include <algorithm>
#include <cstring>
#include <elf.h>
#include <fmt/format.h>
#include <unistd.h>

namespace kvmscope::debug {

GuestInspector::GuestInspector(Machine& machine, MemoryPatches& patches)
    : machine_(machine), patches_(patches) {}

PhysicalReader GuestInspector::physicalReader() const {
    GuestMemory& memory = machine_.memory();
    return [&memory](uint64_t address, void* out, size_t n) {
        if (!memory.contains(address, n))
            return false;
        memory.read(address, out, n);
        return true;
    };
}

AddressSpace GuestInspector::space() const {
    const MemoryPatches& patches = patches_;
    return AddressSpace(
        physicalReader(),
        [&patches](uint64_t linear, std::span<uint8_t> bytes) {
            patches.showOriginalBytes(linear, bytes);
        },
        &symbols_);
}

kvm_sregs GuestInspector::sregsOf(uint32_t vcpu) const {
    return machine_.vcpu(vcpu).call([](kvm::Vcpu& v) { return v.sregs(); }, kVcpuTimeoutMs);
}

uint64_t GuestInspector::pcOf(uint32_t vcpu) const {
    const auto [regs, sregs] = machine_.vcpu(vcpu).call(
        [](kvm::Vcpu& v) {
            return std::pair{v.regs(), v.sregs()};
        },
        kVcpuTimeoutMs);
    return cpu::linearPc(regs, sregs);
}

Translation GuestInspector::translate(uint32_t vcpu, uint64_t linear) const {
    return space().translate(sregsOf(vcpu), linear);
}

size_t GuestInspector::readLinear(uint32_t vcpu, uint64_t linear, void* destination,
                                  size_t length) const {
    return space().readLinear(sregsOf(vcpu), linear, destination, length);
}

size_t GuestInspector::writePhysical(uint64_t physical, const void* source, size_t length) {
    GuestMemory& memory = machine_.memory();
    if (!memory.contains(physical, length))
        throw InputError(fmt::format("cannot write {} bytes at guest-physical {:#x}: not RAM",
                                     length, physical));
    memory.write(physical, source, length);
    patches_.afterWrite(physical, {static_cast<const uint8_t*>(source), length});
    return length;
}

size_t GuestInspector::writeLinear(uint32_t vcpu, uint64_t linear, const void* source,
                                   size_t length) {
    const PagingRegisters paging = pagingOf(sregsOf(vcpu));
    const PhysicalReader reader = physicalReader();
    GuestMemory& memory = machine_.memory();
    size_t done = 0;
    while (done < length) {
        const uint64_t at = linear + done;
        const Translation where = debug::translate(paging, at, reader);
        if (!where.valid)
            break;
        const uint64_t pageSize = where.pageSize ? where.pageSize : 0x1000;
        const size_t chunk =
            static_cast<size_t>(std::min<uint64_t>(length - done, pageSize - (at % pageSize)));
        if (!memory.contains(where.physical, chunk))
            break;
        writePhysical(where.physical, static_cast<const uint8_t*>(source) + done, chunk);
        done += chunk;
    }
    return done;
}

std::vector<Instruction> GuestInspector::disassemble(uint32_t vcpu, uint64_t address,
                                                     size_t count) const {
    // One KVM_GET_SREGS for the whole listing: the vcpu is paused, its paging does not change.
    return space().disassemble(sregsOf(vcpu), address, count);
}

std::vector<Instruction> GuestInspector::disassembleAroundPc(uint32_t vcpu, size_t before,
                                                             size_t after) const {
    const auto [regs, sregs] = machine_.vcpu(vcpu).call(
        [](kvm::Vcpu& v) {
            return std::pair{v.regs(), v.sregs()};
        },
        kVcpuTimeoutMs);
    return space().disassembleAround(sregs, cpu::linearPc(regs, sregs), before, after);
}

void GuestInspector::setSymbols(SymbolTable symbols) {
    symbols_ = std::move(symbols);
}

void GuestInspector::loadSymbols(const std::string& symbolsPath, const std::string& imagePath) {
    if (!symbolsPath.empty()) {
        setSymbols(SymbolTable::load(symbolsPath));
        log::get("debug")->info("{}: {} symbols", symbolsPath, symbols_.symbols().size());
        return;
    }
    // Only an ELF image can carry a .symtab; a bzImage or a flat binary is not looked into.
    if (imagePath.empty())
        return;
    try {
        char magic[SELFMAG] = {};
        const InputFile image(imagePath, "image");
        if (::pread(image.fd(), magic, SELFMAG, 0) != SELFMAG ||
            std::memcmp(magic, ELFMAG, SELFMAG) != 0)
            return;
        setSymbols(SymbolTable::fromElfFile(imagePath));
        log::get("debug")->info("{}: {} symbols from its .symtab", imagePath,
                                symbols_.symbols().size());
    } catch (const LoadError& error) {
        log::get("debug")->info("no symbols: {}", error.what()); // stripped: addresses only
    }
}

} // namespace kvmscope::debug
