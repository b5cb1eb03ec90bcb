#pragma once
// A bus of PCI functions on plain AddressBus objects, as Machine wires it but without KVM: the
// configuration ports and ECAM window on their own buses, recording IRQ lines behind the INTx
// router, and a test function with one BAR of each kind.
#include "machine/AddressBus.h"
#include "pci/PciBus.h"
#include "pci/PciFunction.h"
#include "pci/PciIntxRouter.h"

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace kvmscope::pci::test {

class RecordingLine : public IrqLine {
public:
    void setLevel(bool high) override {
        level = high;
        changes.push_back(high);
    }
    bool level = false;
    std::vector<bool> changes;
};

// A function with BAR0 = 4 KiB 32-bit memory, BAR1 = 32 I/O ports, BAR2-3 = 64-bit prefetchable
// 1 MiB memory, and INTA#. Its BARs remember the last access.
class TestFunction final : public PciFunction {
public:
    static constexpr uint16_t kVendor = 0x1234;
    static constexpr uint16_t kDevice = 0x5678;
    explicit TestFunction(uint8_t pin = 1)
        : PciFunction("test function", PciIdentity{kVendor, kDevice, 0xff'00'00, 0x01,
                                                   kHeaderTypeNormal, 0xabcd, 0xef01, pin}) {
        addBar(0, {BarKind::Memory32, 0x1000, false});
        addBar(1, {BarKind::Io, 0x20, false});
        addBar(2, {BarKind::Memory64, 0x10'0000, true});
    }
    // What the device's logic does when a transaction fails: sets status error bits.
    void raiseStatus(uint16_t bits) {
        config().set16(kStatus, static_cast<uint16_t>(config().get16(kStatus) | bits));
    }
    unsigned lastBar = ~0u;
    uint64_t lastOffset = ~0ull;
    uint32_t lastWrite = 0;

protected:
    void barRead(unsigned index, uint64_t offset, std::span<uint8_t> data) override {
        lastBar = index;
        lastOffset = offset;
        for (size_t i = 0; i < data.size(); ++i)
            data[i] = static_cast<uint8_t>(0xa0 + index);
    }
    void barWrite(unsigned index, uint64_t offset, std::span<const uint8_t> data) override {
        lastBar = index;
        lastOffset = offset;
        lastWrite = data.empty() ? 0 : data[0];
    }
};

// RAM at [0, 512 MiB) as Machine reserves it, the APIC area at the top.
struct Rig {
    static constexpr uint64_t kRamEnd = 512ull << 20;
    static constexpr uint64_t kEcam = 0xf000'0000;
    static constexpr uint16_t kAddressPort = 0xcf8;
    static constexpr uint16_t kDataPort = 0xcfc;

    Rig()
        : router(apicLinesOf(apic), isaLinesOf(isa)),
          bus(io, mmio, &router, {{0x20, 0x22, "the PIC"}},
              {{0, kRamEnd, "guest RAM"}, {0xfec0'0000, 0x1'0000'0000, "the APICs"}}, 16) {
        io.add(kAddressPort, 1, bus.addressPort(), "CONFIG_ADDRESS");
        io.add(kDataPort, 4, bus.dataPort(), "CONFIG_DATA");
        mmio.add(kEcam, bus.ecamSize(), bus.ecam(), "ECAM");
    }

    static std::array<IrqLine*, 4> apicLinesOf(std::array<RecordingLine, 4>& lines) {
        return {&lines[0], &lines[1], &lines[2], &lines[3]};
    }
    static std::array<IrqLine*, 16> isaLinesOf(std::array<RecordingLine, 16>& lines) {
        std::array<IrqLine*, 16> pointers{};
        for (unsigned irq = 0; irq < 16; ++irq)
            if ((PciIntxRouter::kRoutableIrqs >> irq) & 1)
                pointers[irq] = &lines[irq];
        return pointers;
    }

    // Port accesses as a vcpu makes them.
    void out(uint16_t port, uint32_t value, unsigned size) {
        uint8_t bytes[4];
        for (unsigned i = 0; i < 4; ++i)
            bytes[i] = static_cast<uint8_t>(value >> (8 * i));
        if (!io.write(port, {bytes, size}))
            unclaimedWrites++;
    }
    uint32_t in(uint16_t port, unsigned size) {
        uint8_t bytes[4] = {0xff, 0xff, 0xff, 0xff};
        if (!io.read(port, {bytes, size}))
            return size == 4 ? 0xffff'ffff : (1u << (8 * size)) - 1;
        uint32_t value = 0;
        for (unsigned i = 0; i < size; ++i)
            value |= uint32_t{bytes[i]} << (8 * i);
        return value;
    }
    void mmioWrite(uint64_t address, uint64_t value, unsigned size) {
        uint8_t bytes[8];
        for (unsigned i = 0; i < 8; ++i)
            bytes[i] = static_cast<uint8_t>(value >> (8 * i));
        mmio.write(address, {bytes, size});
    }
    uint64_t mmioRead(uint64_t address, unsigned size) {
        uint8_t bytes[8] = {};
        if (!mmio.read(address, {bytes, size}))
            return ~0ull;
        uint64_t value = 0;
        for (unsigned i = 0; i < size; ++i)
            value |= uint64_t{bytes[i]} << (8 * i);
        return value;
    }

    static uint32_t address(unsigned device, unsigned function, unsigned reg, unsigned bus = 0) {
        return PciBus::kConfigEnable | (bus << 16) | (device << 11) | (function << 8) |
               (reg & 0xfc);
    }
    // Configuration mechanism #1.
    uint32_t configRead(unsigned device, unsigned function, unsigned reg, unsigned size) {
        out(kAddressPort, address(device, function, reg), 4);
        return in(static_cast<uint16_t>(kDataPort + (reg & 3)), size);
    }
    void configWrite(unsigned device, unsigned function, unsigned reg, uint32_t value,
                     unsigned size) {
        out(kAddressPort, address(device, function, reg), 4);
        out(static_cast<uint16_t>(kDataPort + (reg & 3)), value, size);
    }
    // ECAM.
    static uint64_t ecamAddress(unsigned device, unsigned function, unsigned reg,
                                unsigned bus = 0) {
        return kEcam + (uint64_t{bus} << 20) + (device << 15) + (function << 12) + reg;
    }

    std::array<RecordingLine, 4> apic;
    std::array<RecordingLine, 16> isa;
    AddressBus io{"I/O port"};
    AddressBus mmio{"MMIO"};
    PciIntxRouter router;
    PciBus bus;
    unsigned unclaimedWrites = 0;
};

} // namespace kvmscope::pci::test
