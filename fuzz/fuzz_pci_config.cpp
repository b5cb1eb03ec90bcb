// PCI configuration accesses (pci/): the i440FX host bridge, the PIIX3 ISA bridge and a function
// with one BAR of each kind on bus 0, driven through CONFIG_ADDRESS/CONFIG_DATA, the ECAM window,
// the BARs wherever the guest put them, INTx# and the functions' attributes. The input is a
// sequence of 6-byte records (little endian):
//   +0 operation: bits 0-2 kind (below), bits 3-4 access size (1, 2, 4, 8 for ECAM; 4 else)
//   +1 selector: register offset, or ECAM device/function, or attribute index
//   +2 value, 32 bits
// Nothing may throw but AttributeError from an attribute write, BARs are never decoded over RAM
// or the fixed ranges, and the identification registers never change.
#include "FuzzSupport.h"
#include "machine/AddressBus.h"
#include "pci/I440fxHostBridge.h"
#include "pci/PciBus.h"
#include "pci/PciIntxRouter.h"
#include "pci/Piix3IsaBridge.h"

#include <array>

namespace {

using namespace kvmscope;
using namespace kvmscope::pci;

class NullLine : public IrqLine {
public:
    void setLevel(bool) override {}
};

class BarFunction final : public PciFunction {
public:
    BarFunction()
        : PciFunction("fuzzed function",
                      PciIdentity{0x1af4, 0x1000, 0x020000, 0, kHeaderTypeNormal, 0, 0, 1}) {
        addBar(0, {BarKind::Io, 0x20, false});
        addBar(1, {BarKind::Memory32, 0x1000, false});
        addBar(2, {BarKind::Memory64, 0x4000, true});
    }
};

constexpr uint64_t kRamEnd = 1ull << 30;
constexpr uint64_t kEcam = 0xf000'0000;

enum Op : uint8_t {
    kAddressWrite, // CONFIG_ADDRESS = value (the selector's low bits pick the width)
    kDataRead,
    kDataWrite,
    kEcamRead,
    kEcamWrite,
    kIntx,      // the BAR function's INTx# = value & 1
    kBarAccess, // an access anywhere on the two buses, at value
    kAttribute, // setAttr on the selector-th attribute of one of the functions
};

void step(AddressBus& io, AddressBus& mmio, std::array<PciFunction*, 3>& functions,
          BarFunction& barFunction, uint8_t operation, uint8_t selector, uint32_t value) {
    static constexpr unsigned kSizes[4] = {1, 2, 4, 8};
    const unsigned size = kSizes[(operation >> 3) & 3];
    uint8_t bytes[8];
    for (unsigned i = 0; i < 8; ++i)
        bytes[i] = static_cast<uint8_t>(value >> (8 * (i % 4)));
    const unsigned portSize = std::min(size, 4u);
    switch (static_cast<Op>(operation & 7)) {
    case kAddressWrite:
        io.write(0xcf8, {bytes, selector & 1 ? 4u : portSize});
        break;
    case kDataRead:
        io.read(0xcfc + (selector & 3), {bytes, portSize});
        break;
    case kDataWrite:
        io.write(0xcfc + (selector & 3), {bytes, portSize});
        break;
    case kEcamRead:
    case kEcamWrite: {
        // selector: device 0-3 (bits 6-7 also pick function 0/1), offset from the value.
        const uint64_t address = kEcam + (static_cast<uint64_t>(selector & 3) << 15) +
                                 (static_cast<uint64_t>((selector >> 6) & 1) << 12) + (value >> 20);
        if ((operation & 7) == kEcamRead)
            mmio.read(address, {bytes, size});
        else
            mmio.write(address, {bytes, size});
        break;
    }
    case kIntx:
        barFunction.setIntx(value & 1);
        break;
    case kBarAccess:
        if (selector & 1)
            io.read(value & 0xffff, {bytes, portSize});
        else
            mmio.write(0xc000'0000ull + (value & 0x3fff'ffff), {bytes, portSize});
        break;
    case kAttribute: {
        PciFunction& function = *functions[selector % functions.size()];
        const auto attributes = function.attributes();
        const AttributeInfo& info = attributes[(selector >> 2) % attributes.size()];
        try {
            function.getAttr(info.group, info.attr);
            if (canWrite(info.access) && info.type != AttrType::Bytes)
                function.setAttr(info.group, info.attr, AttrValue::of(value));
        } catch (const AttributeError&) {
        }
        break;
    }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::array<NullLine, 4> apic;
    std::array<NullLine, 16> isa;
    std::array<IrqLine*, 16> isaLines{};
    for (unsigned irq = 0; irq < 16; ++irq)
        isaLines[irq] = &isa[irq];
    PciIntxRouter router({&apic[0], &apic[1], &apic[2], &apic[3]}, isaLines);
    AddressBus io("I/O port");
    AddressBus mmio("MMIO");
    PciBus bus(io, mmio, &router, {{0x20, 0x22, "the PIC"}},
               {{0, kRamEnd, "guest RAM"}, {0xfec0'0000, 0x1'0000'0000, "the APICs"}}, 16);
    io.add(0xcf8, 1, bus.addressPort(), "CONFIG_ADDRESS");
    io.add(0xcfc, 4, bus.dataPort(), "CONFIG_DATA");
    mmio.add(kEcam, bus.ecamSize(), bus.ecam(), "ECAM");
    I440fxHostBridge host;
    Piix3IsaBridge isaBridge(&router);
    BarFunction barFunction;
    bus.add(0, 0, host);
    bus.add(1, 0, isaBridge);
    bus.add(2, 0, barFunction);
    std::array<PciFunction*, 3> functions{&host, &isaBridge, &barFunction};

    fuzz::InputReader input(data, size);
    try {
        while (!input.empty()) {
            const auto operation = input.read<uint8_t>();
            const auto selector = input.read<uint8_t>();
            const auto value = input.read<uint32_t>();
            step(io, mmio, functions, barFunction, operation, selector, value);
        }
    } catch (const std::exception& error) {
        fuzz::failOnException("a PCI access", error);
    }
    fuzz::check(bus.configRead(0, 0, 0, 0, 4) == 0x1237'8086, "the host bridge's id changed");
    fuzz::check(bus.configRead(0, 1, 0, 0, 4) == 0x7000'8086, "the ISA bridge's id changed");
    for (const AddressBus* b : {&io, &mmio})
        for (const AddressBus::Range& range : b->movableRanges())
            fuzz::check(b == &io
                            ? range.base >= 0x22 || range.base + range.length <= 0x20
                            : range.base >= kRamEnd && (range.base + range.length <= 0xfec0'0000 ||
                                                        range.base >= 0x1'0000'0000),
                        "a BAR is decoded over a reserved range");
    return 0;
}
