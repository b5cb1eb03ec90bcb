#include "devices/StdVgaFunction.h"

#include "devices/BochsDispi.h"
#include "devices/Framebuffer.h"
#include "machine/AddressBus.h"
#include "machine/FramebufferSlot.h"
#include "pci/PciRegisters.h"

#include <algorithm>
#include <cstring>

namespace kvmscope {
namespace {

constexpr uint64_t kDispiRegisterBytes = 2;
constexpr uint64_t kDispiSize = BochsDispi::kIndexCount * kDispiRegisterBytes;

void fill(std::span<uint8_t> data, uint8_t value) {
    std::fill(data.begin(), data.end(), value);
}

uint64_t littleEndian(std::span<const uint8_t> data) {
    uint64_t value = 0;
    for (size_t i = 0; i < data.size() && i < 8; ++i)
        value |= uint64_t{data[i]} << (8 * i);
    return value;
}

void store(std::span<uint8_t> data, uint64_t value) {
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = i < 8 ? static_cast<uint8_t>(value >> (8 * i)) : 0;
}

bool inside(uint64_t offset, size_t size, uint64_t start, uint64_t length) {
    return offset >= start && offset - start < length && size <= length - (offset - start);
}

} // namespace

StdVgaFunction::StdVgaFunction(Framebuffer& framebuffer, FramebufferSlot& slot, BochsDispi& dispi,
                               const AddressBus& ioBus)
    : PciFunction("VGA", pci::PciIdentity{kVendorId, kDeviceId, kClassVga, kRevision,
                                          pci::kHeaderTypeNormal, 0, 0, pci::kInterruptPinNone}),
      framebuffer_(framebuffer), slot_(slot), dispi_(dispi), ioBus_(ioBus) {
    // QEMU's stdvga keeps BAR1 free so that BAR0 may one day be 64-bit; guests expect BAR2 at
    // 0x18 for the registers, so BAR1 stays unimplemented (reads 0) here too.
    addBar(kFramebufferBar, {pci::BarKind::Memory32, framebuffer.memorySize(), true});
    addBar(kMmioBar, {pci::BarKind::Memory32, kMmioBarSize, false});
}

void StdVgaFunction::assignAsFirmwareWould(uint64_t framebufferAddress, uint64_t mmioAddress) {
    configWrite(pci::kBar0 + 4 * kFramebufferBar, static_cast<uint32_t>(framebufferAddress), 4);
    configWrite(pci::kBar0 + 4 * kMmioBar, static_cast<uint32_t>(mmioAddress), 4);
    configWrite(pci::kCommand, pci::kCommandIoSpace | pci::kCommandMemorySpace, 2);
}

void StdVgaFunction::afterBarMove(unsigned index, std::optional<uint64_t> base) {
    if (index == kFramebufferBar)
        slot_.place(base);
}

void StdVgaFunction::barRead(unsigned index, uint64_t offset, std::span<uint8_t> data) {
    if (index == kFramebufferBar)
        framebufferRead(offset, data);
    else
        mmioRead(offset, data);
}

void StdVgaFunction::barWrite(unsigned index, uint64_t offset, std::span<const uint8_t> data) {
    if (index == kFramebufferBar)
        framebufferWrite(offset, data);
    else
        mmioWrite(offset, data);
}

// BAR0 is the memslot; an access arrives here only while the slot is being moved (FramebufferSlot
// deletes and creates it again), and goes to the same memory the slot maps.
void StdVgaFunction::framebufferRead(uint64_t offset, std::span<uint8_t> data) {
    framebufferWindowAccesses_.fetch_add(1, std::memory_order_relaxed);
    const auto memory = framebuffer_.memory();
    if (!inside(offset, data.size(), 0, memory.size())) {
        fill(data, 0xff);
        return;
    }
    std::memcpy(data.data(), memory.data() + offset, data.size());
}

void StdVgaFunction::framebufferWrite(uint64_t offset, std::span<const uint8_t> data) {
    framebufferWindowAccesses_.fetch_add(1, std::memory_order_relaxed);
    const auto memory = framebuffer_.memory();
    if (inside(offset, data.size(), 0, memory.size()))
        std::memcpy(memory.data() + offset, data.data(), data.size());
}

void StdVgaFunction::mmioRead(uint64_t offset, std::span<uint8_t> data) {
    if (inside(offset, data.size(), kEdidOffset, kEdidSize)) {
        // No EDID: a zero header is not "00 ff ff ff ff ff ff 00", so a guest knows there is none.
        fill(data, 0);
        return;
    }
    if (inside(offset, data.size(), kVgaPortsOffset, kVgaPortsSize)) {
        // One port per byte, lowest first: a word at an index port reads the index and then its
        // data register, as on the ports themselves.
        for (size_t i = 0; i < data.size(); ++i) {
            const uint64_t port = kVgaPortsBase + (offset - kVgaPortsOffset) + i;
            if (!ioBus_.read(port, data.subspan(i, 1))) {
                data[i] = 0xff;
                countOdd();
            }
        }
        return;
    }
    if (inside(offset, data.size(), kDispiOffset, kDispiSize)) {
        dispiRead(offset - kDispiOffset, data);
        return;
    }
    if (inside(offset, data.size(), kExtendedOffset, kExtendedSize)) {
        extendedRead(offset - kExtendedOffset, data);
        return;
    }
    countOdd();
    fill(data, 0xff);
}

void StdVgaFunction::mmioWrite(uint64_t offset, std::span<const uint8_t> data) {
    if (inside(offset, data.size(), kVgaPortsOffset, kVgaPortsSize)) {
        // Index port first (standard-vga.rst): a word updates an indexed register in one access.
        for (size_t i = 0; i < data.size(); ++i) {
            const uint64_t port = kVgaPortsBase + (offset - kVgaPortsOffset) + i;
            if (!ioBus_.write(port, data.subspan(i, 1)))
                countOdd();
        }
        return;
    }
    if (inside(offset, data.size(), kDispiOffset, kDispiSize)) {
        dispiWrite(offset - kDispiOffset, data);
        return;
    }
    if (inside(offset, data.size(), kExtendedOffset, kExtendedSize)) {
        extendedWrite(offset - kExtendedOffset, data);
        return;
    }
    countOdd(); // the EDID blob is read-only, the rest unused
}

// The dispi registers, 16 bits each at (index << 1): a 2-byte access is one register, a 4-byte
// one two; a single byte reads its half of the register and writes it with the other half zero,
// as a byte at the dispi's data port does (BochsDispi.h). Odd offsets are not a register's start
// and are refused.
void StdVgaFunction::dispiRead(uint64_t offset, std::span<uint8_t> data) {
    if (data.size() > 4 || (data.size() > 1 && offset % kDispiRegisterBytes != 0)) {
        countOdd();
        fill(data, 0xff);
        return;
    }
    uint64_t value = 0;
    const uint64_t first = offset / kDispiRegisterBytes;
    const uint64_t last = (offset + data.size() - 1) / kDispiRegisterBytes;
    for (uint64_t index = first; index <= last; ++index)
        value |= uint64_t{dispi_.readByIndex(static_cast<uint16_t>(index))}
                 << (16 * (index - first));
    store(data, value >> (8 * (offset % kDispiRegisterBytes)));
}

void StdVgaFunction::dispiWrite(uint64_t offset, std::span<const uint8_t> data) {
    if (data.size() > 4 || offset % kDispiRegisterBytes != 0) {
        countOdd();
        return;
    }
    const uint64_t value = littleEndian(data);
    for (uint64_t done = 0; done < data.size(); done += kDispiRegisterBytes)
        dispi_.writeByIndex(static_cast<uint16_t>((offset + done) / kDispiRegisterBytes),
                            static_cast<uint16_t>(value >> (8 * done)));
}

// QEMU's extended registers, 32 bits each: the region's size, and the framebuffer's byte order,
// which is little endian here and stays so (a write of big endian is refused and counted).
void StdVgaFunction::extendedRead(uint64_t offset, std::span<uint8_t> data) {
    if (data.size() != 4 || offset % 4 != 0) {
        countOdd();
        fill(data, 0xff);
        return;
    }
    store(data, offset == kExtendedSizeRegister ? kExtendedSize : kByteOrderLittleEndian);
}

void StdVgaFunction::extendedWrite(uint64_t offset, std::span<const uint8_t> data) {
    if (data.size() != 4 || offset != kExtendedByteOrderRegister ||
        littleEndian(data) != kByteOrderLittleEndian)
        countOdd();
}

void StdVgaFunction::describeDeviceState(StateVisitor& state) {
    state.group(kVgaGroup, "VGA");
    state.readOnly("framebuffer address", AttrType::U64,
                   "where the guest sees the video memory now (BAR0, its own memslot); all ones "
                   "while BAR0 is not decoded",
                   [this] { return framebuffer_.guestAddress().value_or(~uint64_t{0}); });
    state.readOnly("memslot changes", AttrType::U64,
                   "times the framebuffer's memslot was created or deleted (a move is both)",
                   [this] { return slot_.slotChanges(); });
    state.readOnly("BAR0 window accesses", AttrType::U64,
                   "framebuffer accesses that exited to kvmscope (only while the memslot moved)",
                   [this] { return framebufferWindowAccesses_.load(std::memory_order_relaxed); });
    state.readOnly("odd BAR2 accesses", AttrType::U64,
                   "register BAR accesses to unused offsets, unanswered VGA ports or in widths a "
                   "register does not take",
                   [this] { return oddMmioAccesses_.load(std::memory_order_relaxed); });
}

} // namespace kvmscope
