// INTx# from a function to the irqchip inputs (pci/PciIntxRouter.h): the slot rotation onto
// PIRQA#-PIRQD#, each PIRQ on its I/O APIC input (GSI 16-19) and on the ISA IRQ its PIIX3 route
// register names, lines shared and OR'ed (PCI Local Bus Spec 3.0, 2.2.6; 82371SB 2.2.12).
#include "PciTestSupport.h"
#include "pci/Piix3IsaBridge.h"

#include <QTest>

using namespace kvmscope;
using namespace kvmscope::pci;
using namespace kvmscope::pci::test;

class PciIntxTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // SeaBIOS's piix_pci_slot_get_irq: pci_irqs[(pin - 1 + slot - 1) & 3].
    void slotsRotateTheirPinsOntoThePirqLines() {
        for (unsigned slot = 0; slot < kDevicesPerBus; ++slot)
            for (unsigned pin = 0; pin < kInterruptPins; ++pin)
                QCOMPARE(PciIntxRouter::pirqLink(slot, pin), (pin + slot - 1) & 3);
        QCOMPARE(PciIntxRouter::pirqLink(1, 0), 0u); // slot 1 INTA# -> PIRQA#
        QCOMPARE(PciIntxRouter::pirqLink(2, 0), 1u);
        QCOMPARE(PciIntxRouter::pirqLink(0, 0), 3u);
        QCOMPARE(PciIntxRouter::pirqLink(3, 3), 1u); // (3 + 3 - 1) mod 4
    }

    void aFunctionsPinReachesItsApicInput() {
        Rig rig;
        TestFunction function;       // INTA#
        rig.bus.add(2, 0, function); // slot 2 INTA# -> PIRQB# -> GSI 17
        function.setIntx(true);
        QVERIFY(rig.apic[1].level);
        QVERIFY(!rig.apic[0].level && !rig.apic[2].level && !rig.apic[3].level);
        QVERIFY(rig.router.linkAsserted(1));
        function.setIntx(false);
        QVERIFY(!rig.apic[1].level);
        QCOMPARE(rig.apic[1].changes, (std::vector<bool>{true, false}));
    }

    void interruptDisableKeepsThePinOffTheLine() {
        Rig rig;
        TestFunction function;
        rig.bus.add(1, 0, function); // PIRQA#
        rig.configWrite(1, 0, 0x04, kCommandInterruptDisable, 2);
        function.setIntx(true);
        QVERIFY(!rig.apic[0].level);
        QCOMPARE(rig.configRead(1, 0, 0x06, 2) & kStatusInterrupt, uint32_t{kStatusInterrupt});
        rig.configWrite(1, 0, 0x04, 0, 2); // enabled: the pending level goes out
        QVERIFY(rig.apic[0].level);
        rig.configWrite(1, 0, 0x04, kCommandInterruptDisable, 2);
        QVERIFY(!rig.apic[0].level);
    }

    void sharedLinesAreAssertedWhileAnySourceIs() {
        Rig rig;
        TestFunction a(1); // slot 1 INTA# -> PIRQA#
        TestFunction b(4); // slot 2 INTD# -> (2 + 3 - 1) & 3 = 0, PIRQA#
        rig.bus.add(1, 0, a);
        rig.bus.add(2, 0, b);
        a.setIntx(true);
        b.setIntx(true);
        QVERIFY(rig.apic[0].level);
        a.setIntx(false);
        QVERIFY(rig.apic[0].level); // b still asserts
        b.setIntx(false);
        QVERIFY(!rig.apic[0].level);
        QCOMPARE(rig.apic[0].changes, (std::vector<bool>{true, false}));
        // The same source twice is one source.
        a.setIntx(true);
        a.setIntx(true);
        a.setIntx(false);
        QVERIFY(!rig.apic[0].level);
    }

    void routeRegistersSendPirqsToIsaIrqs() {
        Rig rig;
        Piix3IsaBridge isa(&rig.router);
        rig.bus.add(1, 0, isa);
        TestFunction function;
        rig.bus.add(3, 0, function); // slot 3 INTA# -> PIRQC#
        function.setIntx(true);
        // Routing disabled at reset (0x80): only the APIC input.
        QVERIFY(rig.apic[2].level);
        for (const RecordingLine& line : rig.isa)
            QVERIFY(!line.level);
        // SeaBIOS: PIRQC# -> IRQ 11.
        rig.configWrite(1, 0, 0x62, 11, 1);
        QCOMPARE(rig.router.routedIrq(2), 11);
        QVERIFY(rig.isa[11].level);
        // Moved to IRQ 10: 11 drops, 10 rises.
        rig.configWrite(1, 0, 0x62, 10, 1);
        QVERIFY(!rig.isa[11].level && rig.isa[10].level);
        // Bit 7 disables the route.
        rig.configWrite(1, 0, 0x62, 0x8a, 1);
        QVERIFY(!rig.isa[10].level);
        QCOMPARE(rig.router.routedIrq(2), -1);
        QCOMPARE(rig.configRead(1, 0, 0x62, 1), 0x8au);
        // A reserved IRQ (0, 2, 8, 13) routes nowhere.
        for (uint8_t reserved : {0, 1, 2, 8, 13}) {
            rig.configWrite(1, 0, 0x62, reserved, 1);
            QCOMPARE(rig.router.routedIrq(2), -1);
        }
        for (const RecordingLine& line : rig.isa)
            QVERIFY(!line.level);
        QVERIFY(rig.apic[2].level); // the APIC input never depended on the route
    }

    void pirqsRoutedToOneIrqShareIt() {
        Rig rig;
        Piix3IsaBridge isa(&rig.router);
        rig.bus.add(1, 0, isa);
        TestFunction onA;
        TestFunction onB;
        rig.bus.add(1, 1, onA); // slot 1 INTA# -> PIRQA# (function 1 of the ISA bridge's slot)
        rig.bus.add(2, 0, onB); // slot 2 INTA# -> PIRQB#
        rig.configWrite(1, 0, 0x60, 0x0b0b'0b0b, 4); // all four PIRQs -> IRQ 11, one dword
        for (unsigned link = 0; link < 4; ++link)
            QCOMPARE(rig.router.routedIrq(link), 11);
        onA.setIntx(true);
        onB.setIntx(true);
        onA.setIntx(false);
        QVERIFY(rig.isa[11].level);
        onB.setIntx(false);
        QVERIFY(!rig.isa[11].level);
        QCOMPARE(rig.isa[11].changes, (std::vector<bool>{true, false}));
    }

    void theIsaBridgeShowsItsLinks() {
        Rig rig;
        Piix3IsaBridge isa(&rig.router);
        rig.bus.add(1, 0, isa);
        TestFunction function;
        rig.bus.add(1, 1, function);
        function.setIntx(true);
        QCOMPARE(isa.getAttr(PciFunction::kFirstDeviceGroup, attrId("PIRQA# asserted")).scalar,
                 uint64_t(1));
        QCOMPARE(isa.getAttr(PciFunction::kFirstDeviceGroup, attrId("PIRQB# asserted")).scalar,
                 uint64_t(0));
        // A route written as an attribute reaches the router like the guest's write.
        isa.setAttr(PciFunction::kFirstDeviceGroup, attrId("PIRQRCA"), AttrValue::of(5));
        QVERIFY(rig.isa[5].level);
        QVERIFY_THROWS_EXCEPTION(AttributeError,
                                 isa.setAttr(PciFunction::kFirstDeviceGroup, attrId("PIRQRCA"),
                                             AttrValue::of(0x40))); // a reserved bit
    }
};

QTEST_APPLESS_MAIN(PciIntxTest)
#include "PciIntxTest.moc"
