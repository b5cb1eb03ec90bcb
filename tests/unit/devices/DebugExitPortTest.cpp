// Port 0xf4 (QEMU isa-debug-exit convention): the value of a 1-, 2- or 4-byte write reaches
// the machine unchanged; reads float high.
#include "devices/DebugExitPort.h"

#include "DeviceTestSupport.h"

#include <QTest>

using kvmscope::attrId;
using kvmscope::DebugExitPort;
using kvmscope::testing::inb;
using kvmscope::testing::inl;
using kvmscope::testing::outb;
using kvmscope::testing::outl;
using kvmscope::testing::outw;

class DebugExitPortTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void writesOfEveryWidthGiveTheirValue() {
        std::vector<uint32_t> values;
        DebugExitPort port([&](uint32_t value) { values.push_back(value); });
        outb(port, 0, 0x21); // exit-status.c: status (0x21 << 1) | 1 = 67
        outw(port, 0, 0x1234);
        outl(port, 0, 0x89abcdef);
        QCOMPARE(values, (std::vector<uint32_t>{0x21, 0x1234, 0x89abcdef}));
        QCOMPARE(port.getAttr(DebugExitPort::kRegistersGroup, attrId("last value")).scalar,
                 uint64_t(0x89abcdef));
        QCOMPARE(port.getAttr(DebugExitPort::kStatisticsGroup, attrId("writes")).scalar,
                 uint64_t(3));
    }

    void readsReturnAllOnes() {
        DebugExitPort port([](uint32_t) {});
        QCOMPARE(inb(port, 0), uint8_t(0xff));
        QCOMPARE(inl(port, 0), uint32_t(0xffffffff));
    }
};

QTEST_APPLESS_MAIN(DebugExitPortTest)
#include "DebugExitPortTest.moc"
