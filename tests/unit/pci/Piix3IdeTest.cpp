// The PIIX3's IDE function at 00:01.1 (82371SB datasheet, 2.3 and 2.7) on a PCI bus without
// KVM: its identity, BAR4 sizing and the bus master registers behind it, and the IDETIM decode
// enables that gate each channel's legacy ports.
#include "pci/Piix3Ide.h"

#include "PciTestSupport.h"
#include "devices/ide/IdeChannel.h"
#include "machine/GuestMemory.h"
#include "pci/Piix3IsaBridge.h"

#include <QTest>

using namespace kvmscope;
using namespace kvmscope::pci;
using namespace kvmscope::pci::test;

namespace {

constexpr uint16_t kPrimary = 0x1f0;
constexpr uint16_t kPrimaryControl = 0x3f6;
constexpr uint16_t kSecondary = 0x170;

// The chipset's slot 1 with the IDE function beside the ISA bridge, its channels without drives,
// their legacy ports where Machine puts them.
struct IdeRig : Rig {
    IdeRig()
        : memory(1ull << 20), isa(&router), primary("IDE primary channel", irq14, &memory, {}, {}),
          secondary("IDE secondary channel", irq15, &memory, {}, {}), ide(primary, secondary) {
        bus.add(1, 0, isa);
        bus.add(1, 1, ide);
        io.add(kPrimary, 8, ide.commandBlock(0), "IDE primary");
        io.add(kPrimaryControl, 1, ide.controlBlock(0), "IDE primary control");
        io.add(kSecondary, 8, ide.commandBlock(1), "IDE secondary");
    }
    GuestMemory memory;
    RecordingLine irq14;
    RecordingLine irq15;
    Piix3IsaBridge isa;
    ide::IdeChannel primary;
    ide::IdeChannel secondary;
    Piix3Ide ide;
};

} // namespace

class Piix3IdeTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void identityIsTheIntelIdeFunctionInCompatibilityMode() {
        IdeRig rig;
        QCOMPARE(rig.configRead(1, 1, 0x00, 4), 0x7010'8086u);
        QCOMPARE(rig.configRead(1, 1, 0x08, 4), 0x0101'8000u); // IDE, bus master, legacy
        QCOMPARE(rig.configRead(1, 1, 0x0e, 1), 0x00u);
        QCOMPARE(rig.configRead(1, 1, 0x3d, 1), 0x00u); // no INTx#: IRQ 14 and 15
        QCOMPARE(rig.configRead(1, 1, 0x04, 4), 0x0280'0000u);
        QCOMPARE(rig.ide.name(), std::string("PIIX3 IDE controller (PCI 00:01.1)"));
        // Only I/O space and bus master are the function's to switch (2.3.3).
        rig.configWrite(1, 1, 0x04, 0xffff, 2);
        QCOMPARE(rig.configRead(1, 1, 0x04, 2), 0x0005u);
    }

    // 2.3.8 BMIBA: 16 I/O ports; the primary channel's bus master registers at +0, the
    // secondary's at +8.
    void busMasterBarSizesAndReachesBothChannels() {
        IdeRig rig;
        rig.configWrite(1, 1, 0x20, 0xffff'ffff, 4);
        QCOMPARE(rig.configRead(1, 1, 0x20, 4), 0xffff'fff1u);
        rig.configWrite(1, 1, 0x20, 0xc000, 4);
        rig.configWrite(1, 1, 0x04, kCommandIoSpace | kCommandBusMaster, 2);
        QCOMPARE(rig.ide.decodedBar(4), std::optional<uint64_t>(0xc000));
        // BMIDTP (dword at +4 and +0xc), each channel's own.
        rig.out(0xc004, 0x0001'2340, 4);
        rig.out(0xc00c, 0x0005'6780, 4);
        QCOMPARE(rig.in(0xc004, 4), 0x0001'2340u);
        QCOMPARE(rig.in(0xc00c, 4), 0x0005'6780u);
        // Without I/O space the BAR is not decoded.
        rig.configWrite(1, 1, 0x04, 0, 2);
        QCOMPARE(rig.in(0xc004, 4), 0xffff'ffffu);
    }

    // 2.3.9 IDETIM bit 15: until firmware sets it a channel's legacy ports float; a channel
    // without drives then reads status 0, which is how firmware knows there is nothing there.
    void idetimDecodeEnableGatesEachChannel() {
        IdeRig rig;
        QCOMPARE(rig.configRead(1, 1, 0x40, 4), 0u);
        QCOMPARE(rig.in(kPrimary + 7, 1), 0xffu);
        QCOMPARE(rig.in(kPrimaryControl, 1), 0xffu);
        rig.configWrite(1, 1, 0x40, 0x8000, 2); // what SeaBIOS's piix_ide_setup writes
        QVERIFY(rig.ide.decodes(0));
        QVERIFY(!rig.ide.decodes(1));
        QCOMPARE(rig.in(kPrimary + 7, 1), 0x00u);
        QCOMPARE(rig.in(kSecondary + 7, 1), 0xffu);
        // The reserved bits 11-10 stay 0.
        rig.configWrite(1, 1, 0x42, 0xffff, 2);
        QCOMPARE(rig.configRead(1, 1, 0x42, 2), 0xf3ffu);
        QCOMPARE(rig.in(kSecondary + 7, 1), 0x00u);
        rig.configWrite(1, 1, 0x40, 0x0000, 2);
        QCOMPARE(rig.in(kPrimary + 7, 1), 0xffu);
    }

    // A direct boot's kernel finds the controller as firmware leaves it.
    void enableDecodeAsFirmwareDoesWhatTheFirmwareWould() {
        IdeRig rig;
        rig.ide.enableDecodeAsFirmware();
        QCOMPARE(rig.configRead(1, 1, 0x40, 4), 0x8000'8000u);
        QCOMPARE(rig.configRead(1, 1, 0x04, 2), 0x0005u);
        QVERIFY(rig.ide.decodes(0));
        QVERIFY(rig.ide.decodes(1));
    }
};

QTEST_GUILESS_MAIN(Piix3IdeTest)
#include "Piix3IdeTest.moc"
