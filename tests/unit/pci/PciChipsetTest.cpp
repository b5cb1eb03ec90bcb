// The chipset functions every machine has: the i440FX host bridge at 00:00.0 (82441FX datasheet,
// 3.2) and the PIIX3 ISA bridge at 00:01.0 (82371SB datasheet, 2.2), driven through the
// configuration ports the way SeaBIOS (src/fw/shadow.c, src/fw/pciinit.c, src/fw/smm.c) and
// Linux (arch/x86/pci/direct.c) do.
#include "PciTestSupport.h"
#include "pci/I440fxHostBridge.h"
#include "pci/Piix3IsaBridge.h"

#include <QTest>

using namespace kvmscope;
using namespace kvmscope::pci;
using namespace kvmscope::pci::test;

namespace {

struct Chipset : Rig {
    Chipset() : isa(&router) {
        bus.add(0, 0, host);
        bus.add(1, 0, isa);
    }
    I440fxHostBridge host;
    Piix3IsaBridge isa;
};

} // namespace

class PciChipsetTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void identitiesAreTheIntelParts() {
        Chipset chipset;
        QCOMPARE(chipset.configRead(0, 0, 0x00, 4), 0x1237'8086u);
        QCOMPARE(chipset.configRead(0, 0, 0x08, 4), 0x0600'0002u); // host bridge, revision 2
        QCOMPARE(chipset.configRead(0, 0, 0x0e, 1), 0x00u);
        QCOMPARE(chipset.configRead(0, 0, 0x04, 4), 0x0280'0006u); // PCISTS, PCICMD defaults
        QCOMPARE(chipset.configRead(1, 0, 0x00, 4), 0x7000'8086u);
        QCOMPARE(chipset.configRead(1, 0, 0x08, 4), 0x0601'0000u); // ISA bridge
        QCOMPARE(chipset.configRead(1, 0, 0x0e, 1), 0x80u);        // multi-function
        QCOMPARE(chipset.configRead(1, 0, 0x04, 4), 0x0200'0007u);
        QCOMPARE(chipset.host.name(), std::string("i440FX host bridge (PCI 00:00.0)"));
        QCOMPARE(chipset.isa.name(), std::string("PIIX3 ISA bridge (PCI 00:01.0)"));
    }

    // Linux's pci_sanity_check (arch/x86/pci/direct.c) accepts mechanism #1 once it finds a host
    // or ISA bridge, or an Intel or Compaq function, among the first functions of bus 0.
    void linuxsMechanism1ProbeFindsTheBridges() {
        Chipset chipset;
        chipset.out(0xcfb, 0x01, 1); // PIIX: unclaimed, ignored
        const uint32_t saved = chipset.in(Rig::kAddressPort, 4);
        chipset.out(Rig::kAddressPort, 0x8000'0000, 4);
        QCOMPARE(chipset.in(Rig::kAddressPort, 4), 0x8000'0000u);
        chipset.out(Rig::kAddressPort, saved, 4);
        bool found = false;
        for (unsigned devfn = 0; devfn < 0x100; ++devfn) {
            const uint32_t classCode = chipset.configRead(devfn >> 3, devfn & 7, 0x0a, 2);
            const uint32_t vendor = chipset.configRead(devfn >> 3, devfn & 7, 0x00, 2);
            if (classCode == 0x0600 || classCode == 0x0601 || vendor == 0x8086)
                found = true;
        }
        QVERIFY(found);
    }

    // SeaBIOS's make_bios_writable_intel: read the dwords at 0x58 and 0x5c, set PAM1-6 to 0x33
    // and PAM0 to 0x30, write them back; make_bios_readonly_intel then writes 0x11 and 0x10.
    void pamRegistersKeepWhatFirmwareWrites() {
        Chipset chipset;
        QCOMPARE(chipset.configRead(0, 0, 0x58, 4), 0x0000'0000u);
        QCOMPARE(chipset.configRead(0, 0, 0x5c, 4), 0x0000'0000u);
        uint32_t low = chipset.configRead(0, 0, 0x58, 4);
        uint32_t high = chipset.configRead(0, 0, 0x5c, 4);
        low = (low & 0xff) | 0x3333'3000; // PAM0 = 0x30, PAM1-2 = 0x33
        high = 0x3333'3333;
        chipset.configWrite(0, 0, 0x58, low, 4);
        chipset.configWrite(0, 0, 0x5c, high, 4);
        QCOMPARE(chipset.configRead(0, 0, 0x58, 4), 0x3333'3000u);
        QCOMPARE(chipset.configRead(0, 0, 0x5c, 4), 0x3333'3333u);
        chipset.configWrite(0, 0, 0x59, 0xff, 1); // reserved PAM0 bits read 0
        QCOMPARE(chipset.configRead(0, 0, 0x59, 1), 0x30u);
        chipset.configWrite(0, 0, 0x5a, 0xff, 1);
        QCOMPARE(chipset.configRead(0, 0, 0x5a, 1), 0x33u);
        chipset.configWrite(0, 0, 0x59, 0x10, 1);
        QCOMPARE(chipset.host.getAttr(PciFunction::kFirstDeviceGroup, attrId("PAM0")).scalar,
                 uint64_t(0x10));
        QCOMPARE(chipset.host.getAttr(PciFunction::kFirstDeviceGroup, attrId("PAM6")).scalar,
                 uint64_t(0x33));
        // DRB0-7 start at 1 and are stored.
        QCOMPARE(chipset.configRead(0, 0, 0x60, 4), 0x0101'0101u);
        chipset.configWrite(0, 0, 0x60, 0x1008'0402, 4);
        QCOMPARE(chipset.configRead(0, 0, 0x60, 4), 0x1008'0402u);
    }

    // SeaBIOS's smm_relocate_and_restore: SMRAM = 0x02 | 0x48 (D_OPEN, G_SMRAME), then 0x0a;
    // then an OS or firmware sets D_LCK.
    void smramLockFreezesTheRegister() {
        Chipset chipset;
        QCOMPARE(chipset.configRead(0, 0, 0x72, 1), 0x02u);
        chipset.configWrite(0, 0, 0x72, 0x4a, 1);
        QCOMPARE(chipset.configRead(0, 0, 0x72, 1), 0x4au);
        chipset.configWrite(0, 0, 0x72, 0x07, 1); // C_BASE_SEG is read-only
        QCOMPARE(chipset.configRead(0, 0, 0x72, 1), 0x02u);
        chipset.configWrite(0, 0, 0x72, 0x5a, 1); // D_LCK with D_OPEN: D_OPEN reads 0
        QCOMPARE(chipset.configRead(0, 0, 0x72, 1), 0x1au);
        chipset.configWrite(0, 0, 0x72, 0x42, 1); // locked: only D_CLS may change
        QCOMPARE(chipset.configRead(0, 0, 0x72, 1), 0x1au);
        chipset.configWrite(0, 0, 0x72, 0x3a, 1);
        QCOMPARE(chipset.configRead(0, 0, 0x72, 1), 0x3au);
    }

    void hardwiredCommandBitsStay() {
        Chipset chipset;
        chipset.configWrite(0, 0, 0x04, 0x0000, 2);
        QCOMPARE(chipset.configRead(0, 0, 0x04, 2), 0x0006u);
        chipset.configWrite(0, 0, 0x04, 0xffff, 2);
        QCOMPARE(chipset.configRead(0, 0, 0x04, 2), 0x0146u); // + PERRE, SERRE
        chipset.configWrite(1, 0, 0x04, 0x0000, 2);
        QCOMPARE(chipset.configRead(1, 0, 0x04, 2), 0x0007u);
    }

    void piix3RegistersStartAtTheirResetValues() {
        Chipset chipset;
        QCOMPARE(chipset.configRead(1, 0, 0x60, 4), 0x8080'8080u); // PIRQRCA-D: disabled
        QCOMPARE(chipset.configRead(1, 0, 0x4c, 1), 0x4du);        // IORT
        QCOMPARE(chipset.configRead(1, 0, 0x4e, 2), 0x0003u);      // XBCS
        QCOMPARE(chipset.configRead(1, 0, 0x69, 1), 0x02u);        // TOM
        QCOMPARE(chipset.configRead(1, 0, 0x70, 2), 0x8080u);      // MBIRQ0-1
        QCOMPARE(chipset.configRead(1, 0, 0xa0, 1), 0x08u);        // SMICNTL
        QCOMPARE(chipset.configRead(1, 0, 0xa8, 1), 0x0fu);        // FTMR
        // Reserved route bits 6-4 are not stored.
        chipset.configWrite(1, 0, 0x61, 0xff, 1);
        QCOMPARE(chipset.configRead(1, 0, 0x61, 1), 0x8fu);
        // Registers the datasheet does not define read 0 and keep nothing.
        chipset.configWrite(1, 0, 0xf0, 0xffff'ffff, 4);
        QCOMPARE(chipset.configRead(1, 0, 0xf0, 4), 0u);
    }

    // Every byte of both functions written with every value, at every width: no crash, the
    // identification stays (the hostile-guest case of issue 16, without a guest).
    void writingEverythingEverywhereLeavesTheIdentity() {
        Chipset chipset;
        for (unsigned device : {0u, 1u})
            for (unsigned reg = 0; reg < 256; ++reg)
                for (uint32_t value : {0u, 0xffff'ffffu, 0x5a5a'5a5au})
                    for (unsigned size : {1u, 2u, 4u})
                        if (reg % size == 0)
                            chipset.configWrite(device, 0, reg, value, size);
        QCOMPARE(chipset.configRead(0, 0, 0x00, 4), 0x1237'8086u);
        QCOMPARE(chipset.configRead(1, 0, 0x00, 4), 0x7000'8086u);
        QCOMPARE(chipset.configRead(1, 0, 0x0e, 1), 0x80u);
    }
};

QTEST_APPLESS_MAIN(PciChipsetTest)
#include "PciChipsetTest.moc"
