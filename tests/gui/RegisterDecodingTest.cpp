// The register view's decodings of RFLAGS, CR0, CR4, EFER and segment attributes (Intel SDM
// bit positions), and the parser for edited values.
#include "registers/RegisterDecoding.h"

#include <QTest>

using namespace kvmscope::ui;

class RegisterDecodingTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void rflagsNamesSetFlagsAndIopl() {
        QCOMPARE(decodeRflags(0x2), QStringLiteral("IOPL=0"));
        QCOMPARE(decodeRflags(0x246), QStringLiteral("PF ZF IF IOPL=0"));
        QCOMPARE(decodeRflags(0x3202), QStringLiteral("IF IOPL=3"));
    }

    void cr0ShowsProtectionAndPaging() {
        QCOMPARE(decodeCr0(0x80000011), QStringLiteral("PE ET PG"));
        QCOMPARE(decodeCr0(0x60000010), QStringLiteral("ET NW CD"));
    }

    void cr4AndEferShowLongModeBits() {
        QCOMPARE(decodeCr4(0x20), QStringLiteral("PAE"));
        QCOMPARE(decodeEfer(0x500), QStringLiteral("LME LMA"));
        QCOMPARE(decodeEfer(0xd01), QStringLiteral("SCE LME LMA NXE"));
    }

    void segmentShowsBaseLimitTypeAndFlags() {
        kvm_segment code{};
        code.base = 0;
        code.limit = 0xffffffff;
        code.selector = 0x8;
        code.type = 0xb;
        code.present = 1;
        code.s = 1;
        code.db = 1;
        code.g = 1;
        QCOMPARE(
            decodeSegment(code),
            QStringLiteral("base=0x0 limit=0xffffffff type=0xb code,read,accessed dpl=0 P DB G"));
        kvm_segment unusable{};
        unusable.unusable = 1;
        QCOMPARE(decodeSegment(unusable), QStringLiteral("unusable"));
    }

    void editedValuesAreHexUnlessMarkedDecimal() {
        uint64_t value = 0;
        QVERIFY(parseRegisterValue(QStringLiteral("0x7c02"), value));
        QCOMPARE(value, uint64_t(0x7c02));
        QVERIFY(parseRegisterValue(QStringLiteral(" ff "), value));
        QCOMPARE(value, uint64_t(0xff));
        QVERIFY(parseRegisterValue(QStringLiteral("#100"), value));
        QCOMPARE(value, uint64_t(100));
        QVERIFY(parseRegisterValue(QStringLiteral("0xffff_ffff_ffff_ffff"), value));
        QCOMPARE(value, ~uint64_t(0));
        value = 7;
        QVERIFY(!parseRegisterValue(QStringLiteral("xyz"), value));
        QVERIFY(!parseRegisterValue(QStringLiteral(""), value));
        QVERIFY(!parseRegisterValue(QStringLiteral("0x1ffffffffffffffff"), value));
        QCOMPARE(value, uint64_t(7));
    }

    void registersAreShownAtFullWidth() {
        QCOMPARE(formatRegister64(0x7c02), QStringLiteral("0x0000000000007c02"));
    }
};

QTEST_APPLESS_MAIN(RegisterDecodingTest)
#include "RegisterDecodingTest.moc"
