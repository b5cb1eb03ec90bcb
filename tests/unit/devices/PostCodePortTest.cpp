// Port 0x80: the last POST code is kept, counted and read back.
#include "devices/PostCodePort.h"

#include "DeviceTestSupport.h"

#include <QTest>

using kvmscope::attrId;
using kvmscope::PostCodePort;
using kvmscope::testing::inb;
using kvmscope::testing::inw;
using kvmscope::testing::outb;
using kvmscope::testing::outw;

class PostCodePortTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void keepsTheLastCode() {
        PostCodePort port;
        QCOMPARE(inb(port, 0), uint8_t(0));
        outb(port, 0, 0x55);
        outb(port, 0, 0xaa);
        QCOMPARE(inb(port, 0), uint8_t(0xaa));
        QCOMPARE(port.getAttr(PostCodePort::kRegistersGroup, attrId("last code")).scalar,
                 uint64_t(0xaa));
        QCOMPARE(port.getAttr(PostCodePort::kStatisticsGroup, attrId("writes")).scalar,
                 uint64_t(2));
    }

    void wideAccessUsesTheFirstByte() {
        PostCodePort port;
        outw(port, 0, 0x1234);
        QCOMPARE(inb(port, 0), uint8_t(0x34));
        QCOMPARE(inw(port, 0), uint16_t(0x0034));
    }
};

QTEST_APPLESS_MAIN(PostCodePortTest)
#include "PostCodePortTest.moc"
