#pragma once
// PCI 00:02.0: the display adapter as Bochs' and QEMU's "standard VGA" present it on PCI, so that
// firmware (SeaBIOS and its VGA BIOS, vgabios-stdvga), Linux (bochs-drm, and efifb/vesafb on what
// firmware set up) and other guests written for QEMU find a VGA they know:
//   vendor 0x1234, device 0x1111, class 0x030000 (display controller, VGA compatible: PCI Code
//   and ID Assignment Specification 1.11, base class 03h), no interrupt pin;
//   BAR0: the linear framebuffer, 32-bit prefetchable memory, as large as the video memory;
//   BAR2: 4 KiB of registers, the layout of QEMU's stdvga "mmio" BAR (learned from its
//   documentation, docs/specs/standard-vga.rst):
//     0x000-0x3ff  EDID blob: none here, reads 0 (a guest then asks the dispi for the modes)
//     0x400-0x41f  the VGA ioports 0x3c0-0x3df: offset - 0x400 + 0x3c0, reaching whatever
//                  answers those ports on the machine's I/O bus (VGA text's CRTC at 0x3d4-0x3da)
//     0x500-0x515  the Bochs dispi registers, 16 bits each, index = (offset - 0x500) / 2
//     0x600-0x607  QEMU's extended registers (revision 2): 0x600 their size (8), 0x604 the
//                  framebuffer's byte order (0x1e1e1e1e little endian; the only one accepted)
//   Everything else reads as all ones and is counted.
//
// BAR0 IS the framebuffer: there is no register window behind it. Where the guest decodes BAR0,
// its video memory is a KVM memslot of its own (machine/FramebufferSlot.h), moved when the guest
// moves the BAR and removed while the BAR is not decoded; the guest's accesses go straight to the
// memory. The BAR's window on the MMIO bus only reserves the range against other BARs and answers
// the accesses that arrive while the slot is being moved (from the same host memory).
//
// The legacy VGA resources (ports 0x3c0-0x3df, the dispi ports 0x1ce-0x1cf, text memory at
// 0xb8000) are the machine's own fixed devices, decoded whatever the command register says, as a
// VGA on a PC's primary bus decodes them once firmware turned it on.
//
// A machine without a framebuffer (--no-framebuffer) has no such function: it has no graphics
// adapter at all, only the VGA text ports, and its firmware finds no VGA.
//
// Locking: the configuration space is the base class's; BAR2's accesses take the dispi's and the
// I/O devices' own locks, never the function's; afterBarMove runs with the function's lock held and
// takes the framebuffer slot's (lock order in machine/FramebufferSlot.h).
#include "pci/PciFunction.h"

#include <atomic>
#include <cstdint>

namespace kvmscope {

class AddressBus;
class BochsDispi;
class Framebuffer;
class FramebufferSlot;

class StdVgaFunction final : public pci::PciFunction {
public:
    static constexpr uint16_t kVendorId = 0x1234; // Bochs / QEMU
    static constexpr uint16_t kDeviceId = 0x1111; // standard VGA
    static constexpr uint32_t kClassVga = 0x03'00'00;
    // Revision 2: the extended registers at 0x600 exist (Linux's bochs-drm reads them only then).
    static constexpr uint8_t kRevision = 2;

    static constexpr unsigned kFramebufferBar = 0;
    static constexpr unsigned kMmioBar = 2;
    static constexpr uint64_t kMmioBarSize = 4096;

    // BAR2's regions.
    static constexpr uint64_t kEdidOffset = 0x000;
    static constexpr uint64_t kEdidSize = 0x400;
    static constexpr uint64_t kVgaPortsOffset = 0x400;
    static constexpr uint64_t kVgaPortsSize = 0x20;
    static constexpr uint16_t kVgaPortsBase = 0x3c0; // the port at kVgaPortsOffset
    static constexpr uint64_t kDispiOffset = 0x500;
    static constexpr uint64_t kExtendedOffset = 0x600;
    static constexpr uint64_t kExtendedSize = 8;
    static constexpr uint64_t kExtendedSizeRegister = 0x0;      // from kExtendedOffset
    static constexpr uint64_t kExtendedByteOrderRegister = 0x4; // from kExtendedOffset
    static constexpr uint32_t kByteOrderLittleEndian = 0x1e1e'1e1e;

    static constexpr uint32_t kVgaGroup = kFirstDeviceGroup;

    // `framebuffer` is BAR0's memory and `slot` its memslot; BAR2 reaches `dispi` and the ports
    // on `ioBus`. All must outlive the function.
    StdVgaFunction(Framebuffer& framebuffer, FramebufferSlot& slot, BochsDispi& dispi,
                   const AddressBus& ioBus);

    // What firmware does before it hands a machine to an OS: BAR0 at `framebufferAddress`, BAR2
    // at `mmioAddress`, I/O and memory space on. For direct boots, which have no firmware; before
    // the function is on a bus.
    void assignAsFirmwareWould(uint64_t framebufferAddress, uint64_t mmioAddress);

    std::string name() const override { return "VGA (Bochs/QEMU standard VGA)"; }

protected:
    void barRead(unsigned index, uint64_t offset, std::span<uint8_t> data) override;
    void barWrite(unsigned index, uint64_t offset, std::span<const uint8_t> data) override;
    void afterBarMove(unsigned index, std::optional<uint64_t> base) override;
    void describeDeviceState(StateVisitor& state) override;

private:
    void framebufferRead(uint64_t offset, std::span<uint8_t> data);
    void framebufferWrite(uint64_t offset, std::span<const uint8_t> data);
    void mmioRead(uint64_t offset, std::span<uint8_t> data);
    void mmioWrite(uint64_t offset, std::span<const uint8_t> data);
    void dispiRead(uint64_t offset, std::span<uint8_t> data);
    void dispiWrite(uint64_t offset, std::span<const uint8_t> data);
    void extendedRead(uint64_t offset, std::span<uint8_t> data);
    void extendedWrite(uint64_t offset, std::span<const uint8_t> data);
    void countOdd() { oddMmioAccesses_.fetch_add(1, std::memory_order_relaxed); }

    Framebuffer& framebuffer_;
    FramebufferSlot& slot_;
    BochsDispi& dispi_;
    const AddressBus& ioBus_;

    // Counted on vcpu threads without the function's lock.
    std::atomic<uint64_t> framebufferWindowAccesses_{0}; // BAR0 accesses while its slot moved
    std::atomic<uint64_t> oddMmioAccesses_{0}; // BAR2: unused offsets, ports nobody answers,
                                               // widths a register does not take
};

} // namespace kvmscope
