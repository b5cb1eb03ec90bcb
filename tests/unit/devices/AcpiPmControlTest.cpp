// ACPI PM1a registers (ACPI 6.4, 4.8.3.1 and 4.8.3.2): S5 through PM1_CNT, SCI_EN, and how
// byte and word accesses reach the 16-bit registers.
#include "devices/AcpiPmControl.h"

#include "DeviceTestSupport.h"

#include <QTest>

using kvmscope::AcpiPmControl;
using kvmscope::AttributeError;
using kvmscope::attrId;
using kvmscope::AttrValue;
using kvmscope::testing::inb;
using kvmscope::testing::inl;
using kvmscope::testing::inw;
using kvmscope::testing::outb;
using kvmscope::testing::outl;
using kvmscope::testing::outw;

namespace {

constexpr uint64_t PM1_STS = 0, PM1_EN = 2, PM1_CNT = 4;
constexpr uint16_t SCI_EN = 0x0001, SLP_EN = 0x2000;
constexpr uint16_t S5 = 0; // kvmscope's \_S5 SLP_TYP

uint16_t sleepType(uint16_t type) {
    return static_cast<uint16_t>(type << 10);
}

} // namespace

class AcpiPmControlTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void sleepTypeS5WithSleepEnablePowersOff() {
        int powerOffs = 0;
        AcpiPmControl pm([&] { ++powerOffs; });
        QCOMPARE(AcpiPmControl::kSleepTypeSoftOff, S5);
        outw(pm, PM1_CNT, sleepType(S5) | SLP_EN);
        QCOMPARE(powerOffs, 1);
        // SLP_TYP is kept, SLP_EN is write-only, SCI_EN stays set.
        QCOMPARE(inw(pm, PM1_CNT), uint16_t(sleepType(S5) | SCI_EN));
        QCOMPARE(pm.getAttr(AcpiPmControl::kStatisticsGroup, attrId("power-off requests")).scalar,
                 uint64_t(1));
    }

    void otherSleepTypesDoNothing() {
        int powerOffs = 0;
        AcpiPmControl pm([&] { ++powerOffs; });
        for (uint16_t type = 0; type < 8; ++type)
            if (type != S5)
                outw(pm, PM1_CNT, sleepType(type) | SLP_EN);
        QCOMPARE(powerOffs, 0);
        outw(pm, PM1_CNT, sleepType(S5)); // the type alone, without SLP_EN
        QCOMPARE(powerOffs, 0);
        outw(pm, PM1_CNT, sleepType(S5) | SLP_EN);
        QCOMPARE(powerOffs, 1);
    }

    void byteWritesReachTheControlRegister() {
        int powerOffs = 0;
        AcpiPmControl pm([&] { ++powerOffs; });
        outb(pm, PM1_CNT, 0x00);
        outb(pm, PM1_CNT + 1, static_cast<uint8_t>((sleepType(S5) | SLP_EN) >> 8));
        QCOMPARE(powerOffs, 1);
    }

    void sciEnableAlwaysReadsSet() {
        AcpiPmControl pm([] {});
        QCOMPARE(inw(pm, PM1_CNT), SCI_EN);
        outw(pm, PM1_CNT, 0);
        QCOMPARE(inw(pm, PM1_CNT), SCI_EN);
        QCOMPARE(inb(pm, PM1_CNT), uint8_t(SCI_EN));
    }

    void enableAndStatusRegisters() {
        AcpiPmControl pm([] {});
        outw(pm, PM1_EN, 0xffff);
        QCOMPARE(inw(pm, PM1_EN), AcpiPmControl::kEnableBits); // reserved bits stay 0
        outl(pm, PM1_STS, 0x0100'ffff); // a dword at +0 covers PM1_STS and PM1_EN
        QCOMPARE(inw(pm, PM1_EN), uint16_t(0x0100));
        QCOMPARE(inw(pm, PM1_STS), uint16_t(0)); // nothing to clear, nothing set
        // The unused bytes +6, +7 read as 0 and a dword read at +4 does not run past them.
        QCOMPARE(inl(pm, PM1_CNT), uint32_t(SCI_EN));
        pm.setAttr(AcpiPmControl::kRegistersGroup, attrId("PM1_EN"), AttrValue::of(0x0020));
        QCOMPARE(inw(pm, PM1_EN), uint16_t(0x0020));
        QVERIFY_THROWS_EXCEPTION(
            AttributeError,
            pm.setAttr(AcpiPmControl::kRegistersGroup, attrId("PM1_EN"), AttrValue::of(0x0002)));
        QVERIFY_THROWS_EXCEPTION(AttributeError,
                                 pm.setAttr(AcpiPmControl::kRegistersGroup, attrId("PM1_CNT"),
                                            AttrValue::of(sleepType(S5) | SLP_EN)));
    }
};

QTEST_APPLESS_MAIN(AcpiPmControlTest)
#include "AcpiPmControlTest.moc"
