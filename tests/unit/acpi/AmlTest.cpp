#include "boot/acpi/Aml.h"

#include "common/Error.h"

#include <QTest>

using namespace kvmscope;
using namespace kvmscope::boot::acpi;
using aml::Bytes;

// Expected encodings are worked out by hand from the AML grammar (ACPI 6.4, chapter 20).
class AmlTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // 20.2.4: one byte up to a total of 63, then a lead byte with the byte count in bits 7-6.
    void pkgLengthOneByte() {
        QCOMPARE(aml::pkgLength(0), Bytes({0x01}));
        QCOMPARE(aml::pkgLength(5), Bytes({0x06}));
        QCOMPARE(aml::pkgLength(62), Bytes({0x3f}));
    }
    void pkgLengthTwoBytes() {
        // 63 content bytes + 2 length bytes = 65 = 0x041: lead 0x40 | 0x1, then 0x04.
        QCOMPARE(aml::pkgLength(63), Bytes({0x41, 0x04}));
        // 4093 + 2 = 4095 = 0xfff, the largest two-byte value.
        QCOMPARE(aml::pkgLength(4093), Bytes({0x4f, 0xff}));
    }
    void pkgLengthThreeAndFourBytes() {
        // 4094 + 3 = 4097 = 0x1001: lead 0x80 | 0x1, then 0x00, 0x01.
        QCOMPARE(aml::pkgLength(4094), Bytes({0x81, 0x00, 0x01}));
        // 0x100000 - 3 + 4 = 0x100001: lead 0xc0 | 0x1, then 0x00, 0x00, 0x01.
        QCOMPARE(aml::pkgLength(0xffffd), Bytes({0xc1, 0x00, 0x00, 0x01}));
        QVERIFY_THROWS_EXCEPTION(Error, aml::pkgLength(aml::kMaxPkgLength));
    }

    void nameStrings() {
        QCOMPARE(aml::nameString("_S5"), Bytes({'_', 'S', '5', '_'}));
        QCOMPARE(aml::nameString("COM1"), Bytes({'C', 'O', 'M', '1'}));
        QCOMPARE(aml::nameString("\\_SB"), Bytes({0x5c, '_', 'S', 'B', '_'}));
        QVERIFY_THROWS_EXCEPTION(Error, aml::nameString(""));
        QVERIFY_THROWS_EXCEPTION(Error, aml::nameString("1ABC"));
        QVERIFY_THROWS_EXCEPTION(Error, aml::nameString("ABCDE"));
        QVERIFY_THROWS_EXCEPTION(Error, aml::nameString("abc"));
    }

    // 20.2.3: ZeroOp, OneOp, then the smallest prefixed constant, little-endian.
    void integers() {
        QCOMPARE(aml::integer(0), Bytes({0x00}));
        QCOMPARE(aml::integer(1), Bytes({0x01}));
        QCOMPARE(aml::integer(2), Bytes({0x0a, 0x02}));
        QCOMPARE(aml::integer(0xff), Bytes({0x0a, 0xff}));
        QCOMPARE(aml::integer(0x3f8), Bytes({0x0b, 0xf8, 0x03}));
        QCOMPARE(aml::integer(0x10000), Bytes({0x0c, 0x00, 0x00, 0x01, 0x00}));
        QCOMPARE(aml::integer(0x1'0000'0000),
                 Bytes({0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}));
    }

    // "PNP" = 16, 14, 16 in 5 bits: 0 10000 01110 10000 = 0x41d0; product 0x0501.
    void eisaIds() {
        QCOMPARE(aml::eisaId("PNP0501"), Bytes({0x0c, 0x41, 0xd0, 0x05, 0x01}));
        // "PNP0A03" (PCI host bridge): 0x41d0, then 0x0a03.
        QCOMPARE(aml::eisaId("PNP0A03"), Bytes({0x0c, 0x41, 0xd0, 0x0a, 0x03}));
        QVERIFY_THROWS_EXCEPTION(Error, aml::eisaId("PNP050"));
        QVERIFY_THROWS_EXCEPTION(Error, aml::eisaId("pnp0501"));
        QVERIFY_THROWS_EXCEPTION(Error, aml::eisaId("PNP05G1"));
    }

    void packageOfFourZeros() {
        // PackageOp, PkgLength (1 + NumElements + 4 elements = 6), NumElements 4, ZeroOp x4.
        QCOMPARE(aml::package({aml::integer(0), aml::integer(0), aml::integer(0), aml::integer(0)}),
                 Bytes({0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00}));
    }

    void bufferCountsItsSize() {
        // BufferOp, PkgLength (1 + 2 for ByteConst 3 + 3 bytes = 6), BufferSize, ByteList.
        QCOMPARE(aml::buffer({0xaa, 0xbb, 0xcc}),
                 Bytes({0x11, 0x06, 0x0a, 0x03, 0xaa, 0xbb, 0xcc}));
    }

    void scopeAndDevice() {
        const Bytes body = aml::name("_UID", aml::integer(1));
        QCOMPARE(body, Bytes({0x08, '_', 'U', 'I', 'D', 0x01}));
        // DeviceOp (5b 82), PkgLength 1 + 4 + 6 = 11, "DEV0", the body.
        const Bytes device{0x5b, 0x82, 0x0b, 'D', 'E', 'V', '0', 0x08, '_', 'U', 'I', 'D', 0x01};
        QCOMPARE(aml::device("DEV0", body), device);
        // ScopeOp (10), PkgLength 1 + 5 + 13 = 19, "\_SB_", the device.
        const Bytes scope{0x10, 0x13, 0x5c, '_', 'S',  'B', '_', 0x5b, 0x82, 0x0b,
                          'D',  'E',  'V',  '0', 0x08, '_', 'U', 'I',  'D',  0x01};
        QCOMPARE(aml::scope("\\_SB", device), scope);
    }
};

QTEST_APPLESS_MAIN(AmlTest)
#include "AmlTest.moc"
