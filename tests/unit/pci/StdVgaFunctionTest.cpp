// The VGA function at 00:02.0 (devices/StdVgaFunction.h) on a bus without KVM: who it says it is,
// its BARs' sizes, the register BAR reaching the dispi and the VGA ports, and BAR0 being the
// framebuffer: its memslot (machine/FramebufferSlot.h, through a fake of the VM's memslot calls)
// follows the BAR, and is gone while memory space is off or the placement is refused.
#include "devices/StdVgaFunction.h"

#include "PciTestSupport.h"
#include "devices/BochsDispi.h"
#include "devices/Framebuffer.h"
#include "devices/VgaText.h"
#include "kvm/Vm.h"
#include "machine/FramebufferSlot.h"

#include <QTest>
#include <string>
#include <vector>

using namespace kvmscope;
using namespace kvmscope::pci;
using namespace kvmscope::pci::test;

namespace {

// What the machine's VmMemorySlots would have asked of KVM.
struct SlotCall {
    enum Kind { Create, Delete, Fetch } kind;
    uint32_t slot = 0;
    uint64_t guestAddress = 0;
    uint64_t size = 0;
    void* host = nullptr;
    uint32_t flags = 0;
};

class FakeMemorySlots final : public MemorySlots {
public:
    void createSlot(uint32_t slot, uint64_t guestAddress, uint64_t size, void* host,
                    uint32_t flags) override {
        calls.push_back({SlotCall::Create, slot, guestAddress, size, host, flags});
    }
    void deleteSlot(uint32_t slot) override { calls.push_back({SlotCall::Delete, slot}); }
    void fetchDirtyLog(uint32_t slot, std::span<uint64_t> bitmap) override {
        calls.push_back({SlotCall::Fetch, slot});
        std::fill(bitmap.begin(), bitmap.end(), ~uint64_t{0});
    }
    std::vector<SlotCall> calls;
};

constexpr unsigned kSlot = 2; // 00:02.0, where the machine puts it
constexpr uint32_t kMemslot = 7;
constexpr uint64_t kFramebufferSize = 16ull << 20;
constexpr uint64_t kBar0Address = 0xe000'0000;
constexpr uint64_t kBar2Address = 0xe100'0000;

struct VgaRig {
    VgaRig()
        : framebuffer(kFramebufferSize), framebufferSlot(slots, kMemslot, framebuffer),
          dispi(framebuffer, 1024, 768, 32), vga(framebuffer, framebufferSlot, dispi, rig.io) {
        rig.io.add(VgaText::kBasePort, VgaText::kPortCount, vgaText, "VGA text");
        rig.bus.add(kSlot, 0, vga);
    }
    // BAR0 and BAR2 where firmware would put them, then memory space on.
    void assign(uint16_t command = kCommandMemorySpace) {
        rig.configWrite(kSlot, 0, kBar0, uint32_t(kBar0Address), 4);
        rig.configWrite(kSlot, 0, kBar0 + 8, uint32_t(kBar2Address), 4);
        rig.configWrite(kSlot, 0, kCommand, command, 2);
    }

    Rig rig;
    FakeMemorySlots slots;
    Framebuffer framebuffer;
    FramebufferSlot framebufferSlot;
    BochsDispi dispi;
    VgaText vgaText;
    StdVgaFunction vga;
};

} // namespace

class StdVgaFunctionTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // 1234:1111, class 03 00 00 (VGA-compatible display controller), revision 2 (QEMU's extended
    // registers), no interrupt pin.
    void identifiesAsTheStandardVga() {
        VgaRig vga;
        QCOMPARE(vga.rig.configRead(kSlot, 0, kVendorId, 2), 0x1234u);
        QCOMPARE(vga.rig.configRead(kSlot, 0, kDeviceId, 2), 0x1111u);
        QCOMPARE(vga.rig.configRead(kSlot, 0, kRevisionId, 4), 0x0300'0002u);
        QCOMPARE(vga.rig.configRead(kSlot, 0, kInterruptPin, 1), 0u);
    }

    // PCI 3.0, 6.2.5.1: all ones read back as the size mask with the type bits. BAR0 16 MiB
    // 32-bit prefetchable memory (bit 3), BAR1 unimplemented, BAR2 4 KiB non-prefetchable.
    void barsSizeAsFramebufferAndRegisters() {
        VgaRig vga;
        for (unsigned bar = 0; bar < 3; ++bar)
            vga.rig.configWrite(kSlot, 0, kBar0 + 4 * bar, 0xffff'ffff, 4);
        QCOMPARE(vga.rig.configRead(kSlot, 0, kBar0, 4), 0xff00'0008u);
        QCOMPARE(vga.rig.configRead(kSlot, 0, kBar0 + 4, 4), 0u);
        QCOMPARE(vga.rig.configRead(kSlot, 0, kBar0 + 8, 4), 0xffff'f000u);
        // Sizing with memory space off maps nothing.
        QVERIFY(vga.slots.calls.empty());
    }

    // BAR0 is the framebuffer's memslot: created where the guest turns the BAR on, with the
    // framebuffer's own host memory and size; the framebuffer knows its address.
    void memoryDecodeCreatesTheFramebufferSlotAtBar0() {
        VgaRig vga;
        vga.assign();
        QCOMPARE(vga.slots.calls.size(), size_t(1));
        const SlotCall& create = vga.slots.calls.front();
        QCOMPARE(create.kind, SlotCall::Create);
        QCOMPARE(create.slot, kMemslot);
        QCOMPARE(create.guestAddress, kBar0Address);
        QCOMPARE(create.size, kFramebufferSize);
        QCOMPARE(create.host, static_cast<void*>(vga.framebuffer.memory().data()));
        QCOMPARE(create.flags, 0u);
        QCOMPARE(vga.framebuffer.guestAddress(), std::optional<uint64_t>(kBar0Address));
        QCOMPARE(vga.vga.decodedBar(0), std::optional<uint64_t>(kBar0Address));
    }

    // A move deletes the slot and creates it at the new address, keeping dirty logging on; the
    // next dirty-log fetch says its bits do not cover the old slot's writes.
    void movingBar0MovesTheSlotAndKeepsDirtyLogging() {
        VgaRig vga;
        vga.assign();
        vga.framebufferSlot.startDirtyLogging();
        std::vector<uint64_t> bitmap(kvm::Vm::dirtyLogWords(kFramebufferSize));
        QVERIFY(vga.framebufferSlot.fetchDirtyLog(bitmap));
        vga.slots.calls.clear();

        vga.rig.configWrite(kSlot, 0, kBar0, 0xd000'0000, 4);
        QCOMPARE(vga.slots.calls.size(), size_t(2));
        QCOMPARE(vga.slots.calls[0].kind, SlotCall::Delete);
        QCOMPARE(vga.slots.calls[0].slot, kMemslot);
        QCOMPARE(vga.slots.calls[1].kind, SlotCall::Create);
        QCOMPARE(vga.slots.calls[1].guestAddress, uint64_t(0xd000'0000));
        QCOMPARE(vga.slots.calls[1].host, static_cast<void*>(vga.framebuffer.memory().data()));
        QCOMPARE(vga.slots.calls[1].flags, uint32_t(KVM_MEM_LOG_DIRTY_PAGES));
        QCOMPARE(vga.framebuffer.guestAddress(), std::optional<uint64_t>(0xd000'0000));
        QVERIFY(!vga.framebufferSlot.fetchDirtyLog(bitmap)); // moved: copy everything once
        QVERIFY(vga.framebufferSlot.fetchDirtyLog(bitmap));
        QCOMPARE(vga.framebufferSlot.slotChanges(), uint64_t(3));
        // Rewriting the same address moves nothing.
        vga.slots.calls.clear();
        vga.rig.configWrite(kSlot, 0, kBar0, 0xd000'0008, 4);
        QVERIFY(vga.slots.calls.empty());
    }

    // While memory space is off BAR0 is not decoded: no slot, whatever the guest writes to the
    // BAR; a fetch then reports nothing written.
    void noSlotWhileMemoryDecodeIsOff() {
        VgaRig vga;
        vga.assign(0);
        vga.rig.configWrite(kSlot, 0, kBar0, 0xd000'0000, 4);
        QVERIFY(vga.slots.calls.empty());
        QVERIFY(!vga.framebuffer.guestAddress());

        vga.rig.configWrite(kSlot, 0, kCommand, kCommandMemorySpace, 2);
        QCOMPARE(vga.slots.calls.size(), size_t(1));
        vga.rig.configWrite(kSlot, 0, kCommand, 0, 2);
        QCOMPARE(vga.slots.calls.size(), size_t(2));
        QCOMPARE(vga.slots.calls.back().kind, SlotCall::Delete);
        QVERIFY(!vga.framebuffer.guestAddress());
        QVERIFY(!vga.framebufferSlot.guestAddress());

        // Moving the BAR while it is off changes nothing either.
        vga.rig.configWrite(kSlot, 0, kBar0, 0xc000'0000, 4);
        QCOMPARE(vga.slots.calls.size(), size_t(2));
        vga.framebufferSlot.startDirtyLogging();
        std::vector<uint64_t> bitmap(kvm::Vm::dirtyLogWords(kFramebufferSize), 1);
        vga.framebufferSlot.fetchDirtyLog(bitmap);
        QCOMPARE(bitmap.front(), uint64_t(0));
        QCOMPARE(vga.slots.calls.size(), size_t(2)); // no fetch of a slot that is not there
    }

    // A BAR0 the bus refuses (over RAM) is not decoded: its slot goes until the guest moves it.
    void refusedPlacementRemovesTheSlot() {
        VgaRig vga;
        vga.assign();
        vga.rig.configWrite(kSlot, 0, kBar0, 0x1000'0000, 4); // inside the rig's 512 MiB of RAM
        QCOMPARE(vga.slots.calls.back().kind, SlotCall::Delete);
        QVERIFY(!vga.vga.decodedBar(0));
        QVERIFY(!vga.framebuffer.guestAddress());
        QCOMPARE(vga.vga.refusedPlacements(), uint64_t(1));
    }

    // BAR2 0x500 + 2 * index: the dispi's registers, 16 bits each, without the index port.
    void registerBarReachesTheDispi() {
        VgaRig vga;
        vga.assign();
        const uint64_t dispi = kBar2Address + StdVgaFunction::kDispiOffset;
        QCOMPARE(vga.rig.mmioRead(dispi + 2 * BochsDispi::kIndexId, 2), uint64_t(BochsDispi::kId5));
        QCOMPARE(vga.rig.mmioRead(dispi + 2 * BochsDispi::kIndexVideoMemory64K, 2),
                 uint64_t(kFramebufferSize / 65536));
        // XRES and YRES in one dword write, then enable: the scanout follows.
        vga.rig.mmioWrite(dispi + 2 * BochsDispi::kIndexXres, 800u | (600u << 16), 4);
        vga.rig.mmioWrite(dispi + 2 * BochsDispi::kIndexBpp, 32, 2);
        vga.rig.mmioWrite(dispi + 2 * BochsDispi::kIndexEnable,
                          BochsDispi::kEnabled | BochsDispi::kLfbEnabled, 2);
        const ScanoutMode mode = vga.framebuffer.scanout();
        QVERIFY(mode.enabled);
        QCOMPARE(mode.width, 800u);
        QCOMPARE(mode.height, 600u);
        QCOMPARE(vga.dispi.readByIndex(BochsDispi::kIndexXres), uint16_t(800));
        QCOMPARE(vga.rig.mmioRead(dispi + 2 * BochsDispi::kIndexYres, 2), uint64_t(600));
        // The dispi's index port is not touched by the BAR.
        QCOMPARE(vga.dispi.getAttr(BochsDispi::kIndexGroup, attrId("index")).scalar, uint64_t(0));
    }

    // BAR2 0x400-0x41f: the VGA ports 0x3c0-0x3df, a byte per port, index first; here the CRTC
    // at 0x3d4/0x3d5. A port nobody answers reads all ones and is counted.
    void registerBarReachesTheVgaPorts() {
        VgaRig vga;
        vga.assign();
        const uint64_t ports = kBar2Address + StdVgaFunction::kVgaPortsOffset;
        const uint64_t crtcIndex = ports + (0x3d4 - 0x3c0);
        vga.rig.mmioWrite(crtcIndex, VgaText::kCursorLocationHigh | (0x07u << 8), 2);
        vga.rig.mmioWrite(crtcIndex, VgaText::kCursorLocationLow | (0xd0u << 8), 2);
        QCOMPARE(vga.vgaText.state().cursorLocation, uint16_t(0x07d0));
        vga.rig.mmioWrite(crtcIndex, VgaText::kCursorLocationHigh, 1);
        QCOMPARE(vga.rig.mmioRead(crtcIndex + 1, 1), uint64_t(0x07));

        const uint64_t sequencerIndex = ports + (0x3c4 - 0x3c0);
        QCOMPARE(vga.rig.mmioRead(sequencerIndex, 1), uint64_t(0xff));
        QCOMPARE(vga.vga.getAttr(StdVgaFunction::kVgaGroup, attrId("odd BAR2 accesses")).scalar,
                 uint64_t(1));
    }

    // BAR2 0x600: QEMU's extended registers (their size, and little-endian framebuffer); the
    // EDID blob reads as zeros (none); unused offsets all ones.
    void registerBarHasExtendedRegistersAndNoEdid() {
        VgaRig vga;
        vga.assign();
        const uint64_t extended = kBar2Address + StdVgaFunction::kExtendedOffset;
        QCOMPARE(vga.rig.mmioRead(extended, 4), uint64_t(8));
        QCOMPARE(vga.rig.mmioRead(extended + 4, 4), uint64_t(0x1e1e'1e1e));
        QCOMPARE(vga.rig.mmioRead(kBar2Address, 4), uint64_t(0));
        QCOMPARE(vga.rig.mmioRead(kBar2Address + 0x800, 4), uint64_t(0xffff'ffff));
    }

    // The BAR's window on the MMIO bus (reached only while the slot is being moved) is the same
    // memory the slot maps.
    void bar0WindowIsTheFramebufferMemory() {
        VgaRig vga;
        vga.assign();
        vga.framebuffer.memory()[0x1234] = 0xab;
        QCOMPARE(vga.rig.mmioRead(kBar0Address + 0x1234, 1), uint64_t(0xab));
        vga.rig.mmioWrite(kBar0Address + 0x2000, 0x5a, 1);
        QCOMPARE(vga.framebuffer.memory()[0x2000], uint8_t(0x5a));
    }

    // A direct boot's placement: both BARs decoded, I/O and memory space on, before the bus.
    void firmwareAssignmentDecodesBothBars() {
        Rig rig;
        FakeMemorySlots slots;
        Framebuffer framebuffer(kFramebufferSize);
        FramebufferSlot framebufferSlot(slots, kMemslot, framebuffer);
        BochsDispi dispi(framebuffer, 1024, 768, 32);
        StdVgaFunction vga(framebuffer, framebufferSlot, dispi, rig.io);
        vga.assignAsFirmwareWould(kBar0Address, kBar2Address);
        QVERIFY(slots.calls.empty()); // not on a bus yet
        rig.bus.add(kSlot, 0, vga);
        QCOMPARE(vga.decodedBar(0), std::optional<uint64_t>(kBar0Address));
        QCOMPARE(vga.decodedBar(2), std::optional<uint64_t>(kBar2Address));
        QCOMPARE(rig.configRead(kSlot, 0, kCommand, 2),
                 uint32_t(kCommandIoSpace | kCommandMemorySpace));
        QCOMPARE(framebufferSlot.guestAddress(), std::optional<uint64_t>(kBar0Address));
    }
};

QTEST_GUILESS_MAIN(StdVgaFunctionTest)
#include "StdVgaFunctionTest.moc"
