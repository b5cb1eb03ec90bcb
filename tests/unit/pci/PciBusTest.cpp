// PCI bus 0 through its two doors, configuration mechanism #1 (PCI Local Bus Spec 3.0,
// 3.2.2.3.2) and ECAM (PCI Express Base Spec 4.0, 7.2.2), and the type 0 header every function
// has (6.1, 6.2): widths and offsets, the enable bit, read-only and write-1-to-clear bits, BAR
// sizing, decoding and placement, all without KVM.
#include "PciTestSupport.h"

#include <QTest>

using namespace kvmscope;
using namespace kvmscope::pci;
using namespace kvmscope::pci::test;

class PciBusTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void configAddressHoldsOnlyItsDefinedBits() {
        Rig rig;
        // Linux's pci_check_type1: write 0x80000000, read it back.
        rig.out(Rig::kAddressPort, 0x8000'0000, 4);
        QCOMPARE(rig.in(Rig::kAddressPort, 4), 0x8000'0000u);
        // Bits 30-24 and 1-0 are reserved and read 0.
        rig.out(Rig::kAddressPort, 0xffff'ffff, 4);
        QCOMPARE(rig.in(Rig::kAddressPort, 4), 0x80ff'fffcu);
    }

    void narrowConfigAddressAccessesAreDroppedAndCounted() {
        Rig rig;
        rig.out(Rig::kAddressPort, 0x8000'0000, 4);
        rig.out(Rig::kAddressPort, 0x12, 1);
        rig.out(Rig::kAddressPort, 0x1234, 2);
        QCOMPARE(rig.in(Rig::kAddressPort, 4), 0x8000'0000u);
        QCOMPARE(rig.in(Rig::kAddressPort, 1), 0xffu);
        QCOMPARE(
            rig.bus.getAttr(PciBus::kStatisticsGroup, attrId("odd CONFIG_ADDRESS accesses")).scalar,
            uint64_t(3));
        // 0xCF9 and 0xCFB are not the bus's: the reset control register, and nothing.
        QVERIFY(!rig.io.find(0xcf9));
        QVERIFY(!rig.io.find(0xcfb));
    }

    void mechanism1ReadsEveryWidthAtEveryOffset() {
        Rig rig;
        TestFunction function;
        rig.bus.add(3, 0, function);
        // The dword at 0x00 is device << 16 | vendor; at 0x08 class << 8 | revision.
        const uint32_t id = uint32_t{TestFunction::kDevice} << 16 | TestFunction::kVendor;
        const uint32_t classRevision = 0xff00'0001;
        for (unsigned reg = 0; reg < 4; ++reg) {
            QCOMPARE(rig.configRead(3, 0, reg, 1), (id >> (8 * reg)) & 0xff);
            QCOMPARE(rig.configRead(3, 0, 8 + reg, 1), (classRevision >> (8 * reg)) & 0xff);
        }
        QCOMPARE(rig.configRead(3, 0, 0, 2), uint32_t{TestFunction::kVendor});
        QCOMPARE(rig.configRead(3, 0, 2, 2), uint32_t{TestFunction::kDevice});
        QCOMPARE(rig.configRead(3, 0, 0, 4), id);
        QCOMPARE(rig.configRead(3, 0, 0x2c, 4), 0xef01'abcdu);
        QCOMPARE(rig.configRead(3, 0, 0x3d, 1), 1u); // INTA#
        // A word at 0xCFE reads bytes 2-3 of the dword the address selects.
        QCOMPARE(rig.configRead(3, 0, 0x0a, 2), 0xff00u);
    }

    void mechanism1WritesEveryWidthAtEveryOffset() {
        Rig rig;
        TestFunction function;
        rig.bus.add(3, 0, function);
        // Interrupt line (0x3c) is writable, the pin (0x3d) is not.
        for (unsigned size : {1u, 2u, 4u}) {
            rig.configWrite(
                3, 0, 0x3c,
                static_cast<uint32_t>(0x5a5a'5a5a & ((size == 4 ? 0 : 1ull << (8 * size)) - 1)),
                size);
            QCOMPARE(rig.configRead(3, 0, 0x3c, 1), 0x5au);
            QCOMPARE(rig.configRead(3, 0, 0x3d, 1), 1u);
            rig.configWrite(3, 0, 0x3c, 0, 1);
        }
        // Cache line size (0x0c) and latency timer (0x0d) through a word at 0xCFC, header type
        // (0x0e) untouched by a dword.
        rig.configWrite(3, 0, 0x0c, 0x8010, 2);
        QCOMPARE(rig.configRead(3, 0, 0x0c, 2), 0x8010u);
        rig.configWrite(3, 0, 0x0c, 0xffff'2040, 4);
        QCOMPARE(rig.configRead(3, 0, 0x0c, 4), 0x0000'2040u);
        // A byte at 0xCFD lands on byte 1 of the dword.
        rig.configWrite(3, 0, 0x0d, 0x77, 1);
        QCOMPARE(rig.configRead(3, 0, 0x0c, 4), 0x0000'7740u);
    }

    void disabledConfigAddressReadsAllOnesAndWritesNothing() {
        Rig rig;
        TestFunction function;
        rig.bus.add(0, 0, function);
        rig.out(Rig::kAddressPort, 0x3c, 4); // register 0x3c, enable bit clear
        rig.out(Rig::kDataPort, 0x42, 1);
        QCOMPARE(rig.in(Rig::kDataPort, 4), 0xffff'ffffu);
        QCOMPARE(rig.configRead(0, 0, 0x3c, 1), 0xffu); // still the reset value
    }

    void absentFunctionsAndOtherBusesReadAllOnes() {
        Rig rig;
        TestFunction function;
        rig.bus.add(2, 0, function);
        QCOMPARE(rig.configRead(2, 1, 0, 4), 0xffff'ffffu);
        QCOMPARE(rig.configRead(5, 0, 0, 2), 0xffffu);
        rig.out(Rig::kAddressPort, Rig::address(2, 0, 0, 1), 4); // bus 1
        QCOMPARE(rig.in(Rig::kDataPort, 4), 0xffff'ffffu);
        rig.configWrite(7, 3, 0x04, 0xffff, 2); // dropped, nothing breaks
        QVERIFY(
            rig.bus.getAttr(PciBus::kStatisticsGroup, attrId("absent function accesses")).scalar >=
            4);
    }

    void ecamReachesTheSameSpacesAsMechanism1() {
        Rig rig;
        TestFunction function;
        rig.bus.add(4, 2, function);
        for (unsigned reg = 0; reg < 0x40; ++reg)
            for (unsigned size : {1u, 2u, 4u}) {
                if (reg % size)
                    continue;
                QCOMPARE(rig.mmioRead(Rig::ecamAddress(4, 2, reg), size),
                         uint64_t{rig.configRead(4, 2, reg, size)});
            }
        // A write through ECAM is seen through 0xCFC and the other way round.
        rig.mmioWrite(Rig::ecamAddress(4, 2, 0x3c), 0x33, 1);
        QCOMPARE(rig.configRead(4, 2, 0x3c, 1), 0x33u);
        rig.configWrite(4, 2, 0x0c, 0x10, 1);
        QCOMPARE(rig.mmioRead(Rig::ecamAddress(4, 2, 0x0c), 1), uint64_t(0x10));
        // An 8-byte read is two dwords.
        QCOMPARE(rig.mmioRead(Rig::ecamAddress(4, 2, 0), 8),
                 uint64_t{rig.configRead(4, 2, 4, 4)} << 32 | rig.configRead(4, 2, 0, 4));
        // Past 256 bytes, absent functions and buses: all ones.
        QCOMPARE(rig.mmioRead(Rig::ecamAddress(4, 2, 0x100), 4), uint64_t(0xffff'ffff));
        QCOMPARE(rig.mmioRead(Rig::ecamAddress(4, 3, 0), 4), uint64_t(0xffff'ffff));
        QCOMPARE(rig.mmioRead(Rig::ecamAddress(4, 2, 0, 15), 4), uint64_t(0xffff'ffff));
        QCOMPARE(rig.bus.ecamSize(), uint64_t(16) << 20);
    }

    void readOnlyRegistersHoldTheirValues() {
        Rig rig;
        TestFunction function;
        rig.bus.add(1, 0, function);
        for (unsigned reg : {0x00u, 0x08u, 0x2cu}) {
            const uint32_t before = rig.configRead(1, 0, reg, 4);
            rig.configWrite(1, 0, reg, 0, 4);
            rig.configWrite(1, 0, reg, 0xffff'ffff, 4);
            QCOMPARE(rig.configRead(1, 0, reg, 4), before);
        }
        // Header type and the expansion ROM BAR (not implemented) stay.
        rig.configWrite(1, 0, 0x0e, 0xff, 1);
        QCOMPARE(rig.configRead(1, 0, 0x0e, 1), 0u);
        rig.configWrite(1, 0, 0x30, 0xffff'ffff, 4);
        QCOMPARE(rig.configRead(1, 0, 0x30, 4), 0u);
        // Command: only the defined bits stick.
        rig.configWrite(1, 0, 0x04, 0xffff, 2);
        QCOMPARE(rig.configRead(1, 0, 0x04, 2), 0x0547u);
    }

    void statusErrorBitsClearOnWritingOne() {
        Rig rig;
        TestFunction function;
        rig.bus.add(1, 0, function);
        // Set the error bits as the device's logic would (the guest cannot set them).
        QVERIFY(rig.configRead(1, 0, 0x06, 2) == 0);
        function.raiseStatus(0xf900);
        rig.configWrite(1, 0, 0x06, 0x0000, 2); // writing 0 clears nothing
        QCOMPARE(rig.configRead(1, 0, 0x06, 2), 0xf900u);
        rig.configWrite(1, 0, 0x06, 0x2000, 2); // received master abort only
        QCOMPARE(rig.configRead(1, 0, 0x06, 2), 0xd900u);
        rig.configWrite(1, 0, 0x07, 0xff, 1); // the high byte: all the rest
        QCOMPARE(rig.configRead(1, 0, 0x06, 2), 0x0000u);
        // Bit 3 (interrupt status) follows INTx#, whatever is written.
        function.setIntx(true);
        rig.configWrite(1, 0, 0x06, 0xffff, 2);
        QCOMPARE(rig.configRead(1, 0, 0x06, 2), uint32_t{kStatusInterrupt});
        function.setIntx(false);
        QCOMPARE(rig.configRead(1, 0, 0x06, 2), 0u);
    }

    void barsReportTheirSizeWhenAllOnesAreWritten() {
        Rig rig;
        TestFunction function;
        rig.bus.add(1, 0, function);
        // Type bits before sizing: 32-bit memory 0, I/O 1, 64-bit prefetchable 0xc.
        QCOMPARE(rig.configRead(1, 0, 0x10, 4), 0x0u);
        QCOMPARE(rig.configRead(1, 0, 0x14, 4), 0x1u);
        QCOMPARE(rig.configRead(1, 0, 0x18, 4), 0xcu);
        for (unsigned reg = 0x10; reg < 0x28; reg += 4)
            rig.configWrite(1, 0, reg, 0xffff'ffff, 4);
        QCOMPARE(rig.configRead(1, 0, 0x10, 4), 0xffff'f000u); // 4 KiB
        QCOMPARE(rig.configRead(1, 0, 0x14, 4), 0xffff'ffe1u); // 32 ports
        QCOMPARE(rig.configRead(1, 0, 0x18, 4), 0xfff0'000cu); // 1 MiB, 64-bit, prefetchable
        QCOMPARE(rig.configRead(1, 0, 0x1c, 4), 0xffff'ffffu); // its upper half
        QCOMPARE(rig.configRead(1, 0, 0x20, 4), 0u);           // BAR4, 5: not implemented
        QCOMPARE(rig.configRead(1, 0, 0x24, 4), 0u);
        // Decoding the size as Linux does (__pci_read_base): ~(value & mask) + 1.
        QCOMPARE(~(rig.configRead(1, 0, 0x10, 4) & ~0xfu) + 1, 0x1000u);
        // SeaBIOS (pciinit.c, pci_bar) decodes an I/O BAR's size the same way, with no 16-bit
        // fixup: the upper bits must read back as ones.
        QCOMPARE(~(rig.configRead(1, 0, 0x14, 4) & ~0x3u) + 1, 0x20u);
        // Enabled as they are, the BARs sit at the top of their spaces: the 32-bit one is over
        // the APICs and refused, the I/O one past port 0xffff is not decoded, the 64-bit one
        // ends at 2^64 - 1.
        rig.configWrite(1, 0, 0x04, kCommandIoSpace | kCommandMemorySpace, 2);
        QVERIFY(!function.decodedBar(0));
        QVERIFY(!function.decodedBar(1));
        rig.configWrite(1, 0, 0x14, 0xffe0, 4);
        QCOMPARE(function.decodedBar(1), std::optional<uint64_t>(0xffe0));
        QCOMPARE(function.decodedBar(2), std::optional<uint64_t>(0xffff'ffff'fff0'0000));
        QCOMPARE(function.refusedPlacements(), uint64_t(1));
    }

    void barsAreDecodedOnlyWhileTheirSpaceIsEnabled() {
        Rig rig;
        TestFunction function;
        rig.bus.add(1, 0, function);
        rig.configWrite(1, 0, 0x10, 0xc000'0000, 4);
        rig.configWrite(1, 0, 0x14, 0xc001, 4);
        rig.configWrite(1, 0, 0x18, 0x0000'0000, 4);
        rig.configWrite(1, 0, 0x1c, 0x0000'0001, 4); // 0x1'00000000: above 4 GiB
        QVERIFY(!function.decodedBar(0));
        QVERIFY(rig.mmioRead(0xc000'0000, 4) == ~0ull);
        rig.configWrite(1, 0, 0x04, kCommandMemorySpace, 2);
        QCOMPARE(function.decodedBar(0), std::optional<uint64_t>(0xc000'0000));
        QCOMPARE(function.decodedBar(2), std::optional<uint64_t>(0x1'0000'0000));
        QVERIFY(!function.decodedBar(1)); // I/O space still off
        QCOMPARE(rig.mmioRead(0xc000'0010, 4), uint64_t(0xa0a0'a0a0));
        QCOMPARE(function.lastOffset, uint64_t(0x10));
        QCOMPARE(rig.mmioRead(0x1'0000'0ff0, 2), uint64_t(0xa2a2));
        QCOMPARE(function.lastOffset, uint64_t(0xff0));
        QCOMPARE(rig.in(0xc005, 1), 0xffu); // not decoded
        rig.configWrite(1, 0, 0x04, kCommandMemorySpace | kCommandIoSpace, 2);
        QCOMPARE(rig.in(0xc005, 1), 0xa1u);
        QCOMPARE(function.lastOffset, uint64_t(5));
        rig.out(0xc01f, 0x99, 1);
        QCOMPARE(function.lastWrite, uint32_t(0x99));
        // Turning memory space off takes both memory BARs off the bus.
        rig.configWrite(1, 0, 0x04, kCommandIoSpace, 2);
        QVERIFY(!function.decodedBar(0) && !function.decodedBar(2));
        QVERIFY(rig.mmioRead(0xc000'0010, 4) == ~0ull);
        QCOMPARE(rig.mmio.movableRanges().size(), size_t(0));
        QCOMPARE(rig.io.movableRanges().size(), size_t(1));
    }

    void barMovesTakeTheRangeAlong() {
        Rig rig;
        TestFunction function;
        rig.bus.add(1, 0, function);
        rig.configWrite(1, 0, 0x10, 0xc000'0000, 4);
        rig.configWrite(1, 0, 0x04, kCommandMemorySpace, 2);
        rig.configWrite(1, 0, 0x10, 0xd000'0000, 4);
        QCOMPARE(function.decodedBar(0), std::optional<uint64_t>(0xd000'0000));
        QVERIFY(rig.mmioRead(0xc000'0000, 4) == ~0ull);
        QCOMPARE(rig.mmioRead(0xd000'0004, 1), uint64_t(0xa0));
        // The guest's BAR sizing while decoding is on: all ones is past the end, so the BAR goes
        // off the bus, and comes back when the address is written again.
        rig.configWrite(1, 0, 0x10, 0xffff'ffff, 4);
        QVERIFY(!function.decodedBar(0)); // 0xfffff000 is over the APICs
        rig.configWrite(1, 0, 0x10, 0xd000'0000, 4);
        QCOMPARE(function.decodedBar(0), std::optional<uint64_t>(0xd000'0000));
    }

    void barOverRamOrTheApicsIsRefusedNotFatal() {
        Rig rig;
        TestFunction function;
        rig.bus.add(1, 0, function);
        rig.configWrite(1, 0, 0x04, kCommandMemorySpace | kCommandIoSpace, 2);
        rig.configWrite(1, 0, 0x10, 0x0010'0000, 4); // in RAM
        QVERIFY(!function.decodedBar(0));
        QCOMPARE(rig.configRead(1, 0, 0x10, 4), 0x0010'0000u); // the register keeps the value
        rig.configWrite(1, 0, 0x10, 0xfee0'0000, 4);           // the local APIC
        QVERIFY(!function.decodedBar(0));
        rig.configWrite(1, 0, 0x14, 0x21, 4); // I/O over the PIC the kernel answers
        QVERIFY(!function.decodedBar(1));
        rig.configWrite(1, 0, 0x14, 0xcf8, 4); // I/O over CONFIG_ADDRESS
        QVERIFY(!function.decodedBar(1));
        rig.configWrite(1, 0, 0x10, Rig::kEcam, 4); // over the ECAM window
        QVERIFY(!function.decodedBar(0));
        QCOMPARE(function.refusedPlacements(), uint64_t(5));
        QCOMPARE(function.getAttr(PciFunction::kStatisticsGroup, attrId("refused BAR placements"))
                     .scalar,
                 uint64_t(5));
        QCOMPARE(function.getAttr(PciFunction::kBarsGroup, attrId("BAR0 decoded at")).scalar,
                 ~uint64_t(0));
        // The configuration ports still work, and a good address is decoded again.
        rig.configWrite(1, 0, 0x10, 0xc000'0000, 4);
        QCOMPARE(function.decodedBar(0), std::optional<uint64_t>(0xc000'0000));
        QCOMPARE(rig.configRead(1, 0, 0, 2), uint32_t{TestFunction::kVendor});
    }

    void barOntoAnotherFunctionsBarIsRefusedUntilItMoves() {
        Rig rig;
        TestFunction first;
        TestFunction second;
        rig.bus.add(1, 0, first);
        rig.bus.add(2, 0, second);
        for (unsigned device : {1u, 2u})
            rig.configWrite(device, 0, 0x04, kCommandMemorySpace, 2);
        rig.configWrite(1, 0, 0x10, 0xc000'0000, 4);
        rig.configWrite(2, 0, 0x10, 0xc000'0000, 4); // the same place
        QCOMPARE(first.decodedBar(0), std::optional<uint64_t>(0xc000'0000));
        QVERIFY(!second.decodedBar(0));
        // Its own 64-bit BAR onto its 32-bit one, half overlapping.
        rig.configWrite(1, 0, 0x18, 0xc000'0000, 4); // 1 MiB over 4 KiB
        QVERIFY(!first.decodedBar(2));
        QCOMPARE(rig.mmioRead(0xc000'0000, 1), uint64_t(0xa0));
        QVERIFY(first.lastBar == 0);
        // When the 32-bit BAR moves away, the refused 64-bit one is placed again: it is the
        // function's next write that retries it.
        rig.configWrite(1, 0, 0x10, 0xc010'0000, 4);
        QCOMPARE(first.decodedBar(0), std::optional<uint64_t>(0xc010'0000));
        QCOMPARE(first.decodedBar(2), std::optional<uint64_t>(0xc000'0000));
        QVERIFY(!second.decodedBar(0));
        // Once the first function stops decoding memory, the second's next write places it.
        rig.configWrite(1, 0, 0x04, 0, 2);
        rig.configWrite(2, 0, 0x04, kCommandMemorySpace, 2);
        QCOMPARE(second.decodedBar(0), std::optional<uint64_t>(0xc000'0000));
        QCOMPARE(rig.mmioRead(0xc000'0000, 1), uint64_t(0xa0));
        QCOMPARE(second.lastBar, 0u);
    }

    void functionsAreShownWithTheirRegistersAndBars() {
        Rig rig;
        TestFunction function;
        rig.bus.add(6, 1, function);
        QCOMPARE(function.name(), std::string("test function (PCI 00:06.1)"));
        auto get = [&](uint32_t group, const char* name) {
            return function.getAttr(group, attrId(name)).scalar;
        };
        QCOMPARE(get(PciFunction::kIdentityGroup, "vendor ID"), uint64_t(0x1234));
        QCOMPARE(get(PciFunction::kIdentityGroup, "device ID"), uint64_t(0x5678));
        QCOMPARE(get(PciFunction::kIdentityGroup, "class code"), uint64_t(0xff0000));
        QCOMPARE(get(PciFunction::kIdentityGroup, "interrupt pin"), uint64_t(1));
        QCOMPARE(get(PciFunction::kBarsGroup, "BAR2 size"), uint64_t(0x10'0000));
        // Writable where the hardware is: the command register, the interrupt line, a BAR.
        function.setAttr(PciFunction::kRegistersGroup, attrId("command"),
                         AttrValue::of(kCommandMemorySpace));
        function.setAttr(PciFunction::kBarsGroup, attrId("BAR2"), AttrValue::of(0x2'0000'000cull));
        QCOMPARE(function.decodedBar(2), std::optional<uint64_t>(0x2'0000'0000));
        QCOMPARE(get(PciFunction::kBarsGroup, "BAR2 decoded at"), uint64_t(0x2'0000'0000));
        function.setAttr(PciFunction::kRegistersGroup, attrId("interrupt line"), AttrValue::of(11));
        QCOMPARE(rig.configRead(6, 1, 0x3c, 1), 11u);
        // Not where it is not: a read-only command bit, an identity register.
        QVERIFY_THROWS_EXCEPTION(AttributeError,
                                 function.setAttr(PciFunction::kRegistersGroup, attrId("command"),
                                                  AttrValue::of(0x0008)));
        QVERIFY_THROWS_EXCEPTION(
            AttributeError,
            function.setAttr(PciFunction::kIdentityGroup, attrId("vendor ID"), AttrValue::of(1)));
        const auto space =
            function.getAttr(PciFunction::kConfigSpaceGroup, attrId("config space")).bytes;
        QCOMPARE(space.size(), size_t(256));
        QCOMPARE(space[0], uint8_t(0x34));
    }

    void savedStateRestoresRegistersAndDecoding() {
        Rig rig;
        TestFunction function;
        rig.bus.add(1, 0, function);
        rig.configWrite(1, 0, 0x10, 0xc000'0000, 4);
        rig.configWrite(1, 0, 0x04, kCommandMemorySpace, 2);
        const SavedDeviceState saved = function.saveState();

        Rig other;
        TestFunction copy;
        other.bus.add(1, 0, copy);
        copy.restoreState(saved);
        QCOMPARE(copy.decodedBar(0), std::optional<uint64_t>(0xc000'0000));
        QCOMPARE(other.mmioRead(0xc000'0000, 1), uint64_t(0xa0));
    }

    void placesAreCheckedWhenFunctionsAreAdded() {
        Rig rig;
        TestFunction first;
        TestFunction second;
        rig.bus.add(0, 0, first);
        QVERIFY_THROWS_EXCEPTION(Error, rig.bus.add(0, 0, second));
        QVERIFY_THROWS_EXCEPTION(Error, rig.bus.add(32, 0, second));
        QVERIFY_THROWS_EXCEPTION(Error, rig.bus.add(0, 8, second));
        QCOMPARE(rig.bus.functions().size(), size_t(1));
    }
};

QTEST_APPLESS_MAIN(PciBusTest)
#include "PciBusTest.moc"
