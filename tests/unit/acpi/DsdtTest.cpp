#include "boot/acpi/Dsdt.h"

#include "devices/CmosRtc.h"
#include "machine/PcPlatform.h"

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

    // The whole block, byte by byte (lengths: COM1's body 4 + 10 + 6 + 22 = 42 -> PkgLength
    // 0x2b; RTC's body 4 + 10 + 22 = 36 -> 0x25; the scope's body 5 + 45 + 39 = 89 -> 91 with a
    // two-byte PkgLength, 0x4b 0x05).
    void wholeDefinitionBlock() {
        const Bytes expected{
            0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00, // _S5
            0x10, 0x4b, 0x05, 0x5c, 0x5f, 0x53, 0x42, 0x5f,                         // \_SB
            0x5b, 0x82, 0x2b, 0x43, 0x4f, 0x4d, 0x31,                               // COM1
            0x08, 0x5f, 0x48, 0x49, 0x44, 0x0c, 0x41, 0xd0, 0x05, 0x01,             // _HID
            0x08, 0x5f, 0x55, 0x49, 0x44, 0x01,                                     // _UID
            0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x10, 0x0a, 0x0d,                   // _CRS
            0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,                         // IO
            0x22, 0x10, 0x00,                                                       // IRQ 4
            0x79, 0x00,                                                             // end
            0x5b, 0x82, 0x25, 0x52, 0x54, 0x43, 0x5f,                               // RTC
            0x08, 0x5f, 0x48, 0x49, 0x44, 0x0c, 0x41, 0xd0, 0x0b, 0x00,             // _HID
            0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x10, 0x0a, 0x0d,                   // _CRS
            0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x02,                         // IO
            0x22, 0x00, 0x01,                                                       // IRQ 8
            0x79, 0x00,                                                             // end
        };
        QCOMPARE(buildDsdtAml(), expected);
    }
};

QTEST_APPLESS_MAIN(DsdtTest)
#include "DsdtTest.moc"
