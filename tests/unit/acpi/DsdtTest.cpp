#include "boot/acpi/Dsdt.h"

#include "devices/CmosRtc.h"
#include "machine/PcPlatform.h"
#include "pci/PciIntxRouter.h"

#include <QTest>
#include <algorithm>

using namespace kvmscope::boot::acpi;
using aml::Bytes;

// The DSDT's AML against encodings derived by hand from ACPI 6.4 chapter 20 (AML grammar) and
// 6.4.2 (small resource descriptors).
class DsdtTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // Name (_S5, Package () { 0, 0, 0, 0 }): NameOp "_S5_" PackageOp PkgLength(6) NumElements(4)
    // ZeroOp x4. SLP_TYPa = 0 is what AcpiPmControl treats as soft-off.
    void startsWithS5Package() {
        const Bytes aml = buildDsdtAml();
        const Bytes s5{0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00};
        QVERIFY(aml.size() >= s5.size());
        QCOMPARE(Bytes(aml.begin(), aml.begin() + static_cast<long>(s5.size())), s5);
    }

    void com1ResourceTemplate() {
        const Bytes aml = buildDsdtAml();
        // Name (_CRS, Buffer (13) { IO (Decode16, 0x3f8, 0x3f8, 1, 8), IRQNoFlags () {4}, end }).
        const Bytes crs{0x08, '_',  'C',  'R',  'S',  0x11, 0x10, 0x0a, 0x0d, 0x47, 0x01,
                        0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00, 0x79, 0x00};
        QVERIFY(std::search(aml.begin(), aml.end(), crs.begin(), crs.end()) != aml.end());
    }

    // Device (RTC) { Name (_HID, EisaId ("PNP0B00")) Name (_CRS, Buffer (13) { IO (Decode16,
    // 0x70, 0x70, 1, 2), IRQNoFlags () {8}, end }) }: the AT RTC at the CMOS device's ports.
    void rtcDeviceAndResourceTemplate() {
        const Bytes aml = buildDsdtAml();
        const Bytes rtc{0x5b, 0x82, 0x25, 'R',  'T',  'C',  '_',  0x08, '_',  'H',
                        'I',  'D',  0x0c, 0x41, 0xd0, 0x0b, 0x00, 0x08, '_',  'C',
                        'R',  'S',  0x11, 0x10, 0x0a, 0x0d, 0x47, 0x01, 0x70, 0x00,
                        0x70, 0x00, 0x01, 0x02, 0x22, 0x00, 0x01, 0x79, 0x00};
        QVERIFY(std::search(aml.begin(), aml.end(), rtc.begin(), rtc.end()) != aml.end());
        QCOMPARE(kvmscope::pc::kRtc.port, uint16_t(0x70));
        QCOMPARE(uint64_t(kvmscope::pc::kRtc.portCount), kvmscope::CmosRtc::kPortCount);
    }

    // Device (KBD) { Name (_HID, EisaId ("PNP0303")) Name (_CRS, Buffer (21) { IO (Decode16,
    // 0x60, 0x60, 1, 1), IO (Decode16, 0x64, 0x64, 1, 1), IRQNoFlags () {1}, end }) }: the
    // i8042's keyboard, which SeaBIOS looks for before it sets up its keyboard (body 10 + 30 =
    // 40 bytes -> PkgLength 0x2d).
    void keyboardDeviceAndResourceTemplate() {
        const Bytes aml = buildDsdtAml();
        const Bytes keyboard{
            0x5b, 0x82, 0x2d, 'K',  'B',  'D',  '_',                    // Device (KBD)
            0x08, '_',  'H',  'I',  'D',  0x0c, 0x41, 0xd0, 0x03, 0x03, // _HID PNP0303
            0x08, '_',  'C',  'R',  'S',  0x11, 0x18, 0x0a, 0x15,       // _CRS, 21 bytes
            0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01,             // IO 0x60
            0x47, 0x01, 0x64, 0x00, 0x64, 0x00, 0x01, 0x01,             // IO 0x64
            0x22, 0x02, 0x00,                                           // IRQ 1
            0x79, 0x00,                                                 // end
        };
        QVERIFY(std::search(aml.begin(), aml.end(), keyboard.begin(), keyboard.end()) != aml.end());
    }

    // Device (MOU) { Name (_HID, EisaId ("PNP0F13")) Name (_CRS, Buffer (5) { IRQNoFlags ()
    // {12}, end }) }: the PS/2 mouse behind the same controller, right after the keyboard.
    void mouseDeviceFollowsTheKeyboard() {
        const Bytes aml = buildDsdtAml();
        const Bytes mouse{
            0x5b, 0x82, 0x1d, 'M', 'O', 'U',  '_',                    // Device (MOU)
            0x08, '_',  'H',  'I', 'D', 0x0c, 0x41, 0xd0, 0x0f, 0x13, // _HID PNP0F13
            0x08, '_',  'C',  'R', 'S', 0x11, 0x08, 0x0a, 0x05,       // _CRS, 5 bytes
            0x22, 0x00, 0x10,                                         // IRQ 12
            0x79, 0x00,                                               // end
        };
        const auto at = std::search(aml.begin(), aml.end(), mouse.begin(), mouse.end());
        QVERIFY(at != aml.end());
        const Bytes keyboardName{'K', 'B', 'D', '_'};
        const auto keyboard =
            std::search(aml.begin(), aml.end(), keyboardName.begin(), keyboardName.end());
        QVERIFY(keyboard != aml.end());
        // The keyboard's DeviceOp is 3 bytes before its name and 2 + 0x2d bytes long.
        QCOMPARE(at - (keyboard - 3), long(2 + 0x2d));
    }

    // The block up to the PCI host bridge, byte by byte (lengths: COM1's body 4 + 10 + 6 + 22 =
    // 42 -> PkgLength 0x2b; RTC's body 4 + 10 + 22 = 36 -> 0x25; the scope holds "\_SB_" (5),
    // COM1 (45), RTC (39), the i8042's KBD and MOU and PCI0, whose bytes the tests above and
    // below check).
    void wholeDefinitionBlockUpToPci0() {
        const Bytes aml = buildDsdtAml();
        const Bytes s5{0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00};
        const Bytes devices{
            0x5c, 0x5f, 0x53, 0x42, 0x5f,                               // \_SB
            0x5b, 0x82, 0x2b, 0x43, 0x4f, 0x4d, 0x31,                   // COM1
            0x08, 0x5f, 0x48, 0x49, 0x44, 0x0c, 0x41, 0xd0, 0x05, 0x01, // _HID
            0x08, 0x5f, 0x55, 0x49, 0x44, 0x01,                         // _UID
            0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x10, 0x0a, 0x0d,       // _CRS
            0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,             // IO
            0x22, 0x10, 0x00,                                           // IRQ 4
            0x79, 0x00,                                                 // end
            0x5b, 0x82, 0x25, 0x52, 0x54, 0x43, 0x5f,                   // RTC
            0x08, 0x5f, 0x48, 0x49, 0x44, 0x0c, 0x41, 0xd0, 0x0b, 0x00, // _HID
            0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x10, 0x0a, 0x0d,       // _CRS
            0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x02,             // IO
            0x22, 0x00, 0x01,                                           // IRQ 8
            0x79, 0x00,                                                 // end
            0x5b, 0x82,                                                 // DeviceOp (KBD)
        };
        QVERIFY(aml.size() > s5.size() + 3 + devices.size());
        QCOMPARE(Bytes(aml.begin(), aml.begin() + long(s5.size())), s5);
        QCOMPARE(aml[s5.size()], uint8_t(0x10)); // ScopeOp
        // A two-byte PkgLength (20.2.4) covering the rest of the block.
        const Bytes scopeLength = aml::pkgLength(aml.size() - s5.size() - 3);
        QCOMPARE(scopeLength.size(), size_t(2));
        QCOMPARE(Bytes(aml.begin() + long(s5.size()) + 1, aml.begin() + long(s5.size()) + 3),
                 scopeLength);
        const auto body = aml.begin() + long(s5.size()) + 3;
        QCOMPARE(Bytes(body, body + long(devices.size())), devices);
    }

    // Device (PCI0) { Name (_HID, EisaId ("PNP0A03")) Name (_CID, EisaId ("PNP0A03")) Name (_UID,
    // Zero) Name (_SEG, Zero) Name (_BBN, Zero) ...}: the PCI host bridge of bus 0, segment 0
    // (PCI Firmware Specification 3.0, 4.1.1); no _ADR beside a _HID (ACPI 6.4, 6.1.1).
    void pciHostBridgeIdentity() {
        const Bytes aml = buildDsdtAml();
        const Bytes name{'P', 'C', 'I', '0'};
        const auto device = std::search(aml.begin(), aml.end(), name.begin(), name.end());
        QVERIFY(device != aml.end());
        const Bytes identity{
            'P',  'C', 'I', '0',                                    // NameString
            0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03, // EISAID PNP0A03
            0x08, '_', 'C', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03, // the same
            0x08, '_', 'U', 'I', 'D', 0x00,                         // Zero
            0x08, '_', 'S', 'E', 'G', 0x00,                         //
            0x08, '_', 'B', 'B', 'N', 0x00,                         //
        };
        QCOMPARE(Bytes(device, device + long(identity.size())), identity);
    }

    // PCI0's _CRS, descriptors derived from ACPI 6.4 6.4.3.5.2/6.4.3.5.3 (tag, length 13 or 23,
    // resource type, general flags 0x0c = MinFixed | MaxFixed | PosDecode | producer, type
    // flags, then granularity, minimum, maximum, translation, length).
    void pciHostBridgeResources() {
        const Bytes aml = buildDsdtAml();
        auto contains = [&aml](const Bytes& bytes) {
            return std::search(aml.begin(), aml.end(), bytes.begin(), bytes.end()) != aml.end();
        };
        // WordBusNumber: buses 0x00-0x0f, the ECAM window's (PcPlatform.h kPciEcamBuses).
        QVERIFY(contains({0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x00,
                          0x00, 0x00, 0x10, 0x00}));
        // IO (Decode16, 0xcf8, 0xcf8, 1, 8): the configuration ports.
        QVERIFY(contains({0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08}));
        // WordIO EntireRange 0x0000-0x0cf7 and 0x0d00-0xffff.
        QVERIFY(contains({0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x00, 0xf7, 0x0c,
                          0x00, 0x00, 0xf8, 0x0c}));
        QVERIFY(contains({0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xff,
                          0x00, 0x00, 0x00, 0xf3}));
        // DWordMemory NonCacheable ReadWrite, one per window of PcPlatform.h.
        for (const kvmscope::pc::AddressWindow& window : kvmscope::pc::kPciMmioWindows) {
            Bytes descriptor{0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x00};
            for (const uint64_t field :
                 {window.start, window.end - 1, uint64_t(0), window.end - window.start})
                for (unsigned i = 0; i < 4; ++i)
                    descriptor.push_back(uint8_t(field >> (8 * i)));
            QVERIFY2(contains(descriptor), qPrintable(QString::number(window.start, 16)));
        }
        QCOMPARE(kvmscope::pc::kPciMmioWindows[0].start, uint64_t(0xc0000000));
        QCOMPARE(kvmscope::pc::kPciMmioWindows.back().end, uint64_t(0xfec00000));
    }

    // Device (PDRC) { Name (_HID, EisaId ("PNP0C02")) Name (_UID, One) Name (_CRS, Buffer (15)
    // { Memory32Fixed (ReadWrite, ECAM base, ECAM size), end }) }: the ECAM window as a
    // motherboard resource (ACPI 6.4, 6.4.3.4).
    void ecamWindowIsAMotherboardResource() {
        const Bytes aml = buildDsdtAml();
        Bytes pdrc{0x5b, 0x82, 0x2c, 'P',  'D',  'R',  'C',  0x08, '_',  'H',  'I',  'D',
                   0x0c, 0x41, 0xd0, 0x0c, 0x02, 0x08, '_',  'U',  'I',  'D',  0x01, 0x08,
                   '_',  'C',  'R',  'S',  0x11, 0x11, 0x0a, 0x0e, 0x86, 0x09, 0x00, 0x01};
        for (const uint64_t field : {kvmscope::pc::kPciEcamAddress, kvmscope::pc::kPciEcamSize})
            for (unsigned i = 0; i < 4; ++i)
                pdrc.push_back(uint8_t(field >> (8 * i)));
        pdrc.push_back(0x79);
        pdrc.push_back(0x00);
        QVERIFY(std::search(aml.begin(), aml.end(), pdrc.begin(), pdrc.end()) != aml.end());
    }

    // _PRT entries: Package (4) { slot << 16 | 0xffff, pin, Zero, GSI }. Slot 1's INTA# is
    // PIRQA# (GSI 16) as SeaBIOS's piix_pci_slot_get_irq assumes; slot 0's INTA# is PIRQD# (19);
    // slot 31's INTD# is PIRQ (31 + 3 - 1) mod 4 = 1, PIRQB#, GSI 17.
    void pciRoutingTableEntries() {
        const Bytes aml = buildDsdtAml();
        auto contains = [&aml](const Bytes& bytes) {
            return std::search(aml.begin(), aml.end(), bytes.begin(), bytes.end()) != aml.end();
        };
        // PackageOp PkgLength(11) NumElements(4) DWordConst 0x0001ffff ZeroOp ZeroOp ByteConst 16.
        QVERIFY(contains({0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x10}));
        // Slot 0: WordConst 0xffff; INTA# -> GSI 19.
        QVERIFY(contains({0x12, 0x09, 0x04, 0x0b, 0xff, 0xff, 0x00, 0x00, 0x0a, 0x13}));
        // Slot 31, INTD# (pin 3) -> PIRQ (31 + 3 - 1) mod 4 = 1 -> GSI 17.
        QVERIFY(contains(
            {0x12, 0x0c, 0x04, 0x0c, 0xff, 0xff, 0x1f, 0x00, 0x0a, 0x03, 0x00, 0x0a, 0x11}));
        // The table: Name (_PRT, Package (128) {...}): NameOp "_PRT" PackageOp, a 2-byte
        // PkgLength, NumElements 0x80.
        const Bytes prt{0x08, '_', 'P', 'R', 'T', 0x12};
        const auto at = std::search(aml.begin(), aml.end(), prt.begin(), prt.end());
        QVERIFY(at != aml.end());
        QCOMPARE(at[6] >> 6, 1); // two PkgLength bytes
        QCOMPARE(at[8], uint8_t(0x80));
    }
};

QTEST_APPLESS_MAIN(DsdtTest)
#include "DsdtTest.moc"
