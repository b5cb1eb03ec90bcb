// Port 0xcf9 (Intel PCH RST_CNT): RST_CPU (bit 2) resets, SYS_RST and FULL_RST are kept.
#include "devices/ResetControlPort.h"

#include "DeviceTestSupport.h"

#include <QTest>

using kvmscope::AttributeError;
using kvmscope::attrId;
using kvmscope::AttrValue;
using kvmscope::ResetControlPort;
using kvmscope::testing::inb;
using kvmscope::testing::inw;
using kvmscope::testing::outb;

class ResetControlPortTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void rstCpuTriggersAReset() {
        int resets = 0;
        ResetControlPort port([&] { ++resets; });
        outb(port, 0, 0x06); // SYS_RST | RST_CPU: the usual hard reset
        QCOMPARE(resets, 1);
        QCOMPARE(inb(port, 0), uint8_t(0x02));
        outb(port, 0, 0x0e); // FULL_RST too
        QCOMPARE(resets, 2);
        QCOMPARE(inb(port, 0), uint8_t(0x0a));
        outb(port, 0, 0x04); // soft reset
        QCOMPARE(resets, 3);
        QCOMPARE(inb(port, 0), uint8_t(0x00));
        QCOMPARE(port.getAttr(ResetControlPort::kStatisticsGroup, attrId("reset requests")).scalar,
                 uint64_t(3));
    }

    void otherBitsOnlyStore() {
        int resets = 0;
        ResetControlPort port([&] { ++resets; });
        outb(port, 0, 0x02);
        outb(port, 0, 0x08);
        outb(port, 0, 0xf1); // reserved bits are not stored
        QCOMPARE(resets, 0);
        QCOMPARE(inb(port, 0), uint8_t(0x00));
        outb(port, 0, 0x0a);
        QCOMPARE(inb(port, 0), uint8_t(0x0a));
        QCOMPARE(inw(port, 0), uint16_t(0x000a));
        QCOMPARE(resets, 0);
    }

    void attributeSetsOnlyTheStoredBits() {
        int resets = 0;
        ResetControlPort port([&] { ++resets; });
        port.setAttr(ResetControlPort::kRegistersGroup, attrId("RST_CNT"), AttrValue::of(0x02));
        QCOMPARE(inb(port, 0), uint8_t(0x02));
        QVERIFY_THROWS_EXCEPTION(AttributeError,
                                 port.setAttr(ResetControlPort::kRegistersGroup, attrId("RST_CNT"),
                                              AttrValue::of(0x06)));
        QCOMPARE(resets, 0);
    }
};

QTEST_APPLESS_MAIN(ResetControlPortTest)
#include "ResetControlPortTest.moc"
