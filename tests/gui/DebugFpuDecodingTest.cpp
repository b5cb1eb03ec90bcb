// The register view's debug and FPU/SSE decodings (Intel SDM bit positions) and MSR names.
#include "registers/DebugFpuDecoding.h"

#include "registers/MsrNames.h"

#include <QTest>

using namespace kvmscope::ui;

class DebugFpuDecodingTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void dr6NamesConditions() {
        QCOMPARE(decodeDr6(0xffff0ff0), QString()); // the reset value: nothing, RTM bit set
        QCOMPARE(decodeDr6(0xffff4ff1), QStringLiteral("B0 BS"));
        QCOMPARE(decodeDr6(0xfffe0ff0), QStringLiteral("RTM"));
    }

    void dr7ListsEnabledBreakpoints() {
        QCOMPARE(decodeDr7(0x400), QStringLiteral("no breakpoint"));
        // bp0 local exec len1; bp2 global write len4 (R/W2=01 at 24, LEN2=11 at 26), GD.
        const uint64_t dr7 = 0x1 | 0x20 | (1ull << 24) | (3ull << 26) | (1ull << 13);
        QCOMPARE(decodeDr7(dr7), QStringLiteral("bp0 L exec len1; bp2 G write len4 GD"));
    }

    void fpuControlAndStatus() {
        QCOMPARE(decodeFcw(0x37f),
                 QStringLiteral("masks=IM DM ZM OM UM PM PC=extended RC=nearest"));
        QCOMPARE(decodeFsw(0x3800 | 0x4 | 0x200), QStringLiteral("TOP=7 C1 ZE"));
        QCOMPARE(decodeAbridgedTag(0), QStringLiteral("empty"));
        QCOMPARE(decodeAbridgedTag(0x81), QStringLiteral("R0 R7"));
    }

    void mxcsrShowsMasksRoundingAndFlags() {
        QCOMPARE(decodeMxcsr(0x1f80), QStringLiteral("masks=IM DM ZM OM UM PM RC=nearest"));
        QCOMPARE(decodeMxcsr(0x6000 | 0x8000 | 0x40 | 0x20), QStringLiteral("RC=zero DAZ FZ PE"));
    }

    void wideRegistersAsHexAndX87Values() {
        const uint8_t xmm[16] = {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
        QCOMPARE(formatLittleEndianHex(xmm, 16),
                 QStringLiteral("0x0000000000000000ffffffff00000001"));
        // 1.0: significand 0x8000000000000000, exponent 16383 (0x3fff).
        uint8_t one[16] = {0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f};
        QCOMPARE(decodeX87(one), QStringLiteral("1"));
        one[9] = 0xbf; // sign bit
        QCOMPARE(decodeX87(one), QStringLiteral("-1"));
        const uint8_t zero[16] = {};
        QCOMPARE(decodeX87(zero), QStringLiteral("0"));
    }

    void msrNames() {
        QCOMPARE(msrName(0xc0000080), QStringLiteral("IA32_EFER"));
        QCOMPARE(msrName(0xc0000102), QStringLiteral("IA32_KERNEL_GS_BASE"));
        QCOMPARE(msrName(0x203), QStringLiteral("IA32_MTRR_PHYSMASK1"));
        QCOMPARE(msrDisplayName(0x12345), QStringLiteral("MSR 0x12345"));
    }
};

QTEST_APPLESS_MAIN(DebugFpuDecodingTest)
#include "DebugFpuDecodingTest.moc"
