// The attribute model's contract, checked on every user-space device: attributes() agrees with
// hasAttr/getAttr, values fit their declared type, read-only attributes and out-of-range values
// are refused with AttributeError, and unknown (group, attr) pairs are errors.
#include "DeviceTestSupport.h"
#include "devices/AcpiPmControl.h"
#include "devices/CmosRtc.h"
#include "devices/DebugExitPort.h"
#include "devices/PostCodePort.h"
#include "devices/ResetControlPort.h"
#include "devices/Uart16550.h"

#include <QTest>
#include <memory>
#include <set>

using kvmscope::AttrAccess;
using kvmscope::AttributeError;
using kvmscope::attrId;
using kvmscope::AttrType;
using kvmscope::AttrValue;
using kvmscope::Device;
using kvmscope::DeviceKind;

Q_DECLARE_METATYPE(std::shared_ptr<Device>)

namespace {

uint64_t maxOf(AttrType type) {
    switch (type) {
    case AttrType::Bool:
        return 1;
    case AttrType::U8:
        return 0xff;
    case AttrType::U16:
        return 0xffff;
    case AttrType::U32:
        return 0xffff'ffff;
    default:
        return ~0ull;
    }
}

// Keeps the UART's IRQ line and sink alive as long as the device.
struct UartWithPeers {
    kvmscope::testing::RecordingIrqLine irq;
    kvmscope::testing::CollectingSerialSink sink;
    kvmscope::Uart16550 uart{irq, sink};
};

std::shared_ptr<Device> makeUart() {
    auto owner = std::make_shared<UartWithPeers>();
    return std::shared_ptr<Device>(owner, &owner->uart);
}

} // namespace

class DeviceAttributesTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void attributeContract_data() {
        QTest::addColumn<std::shared_ptr<Device>>("device");
        QTest::newRow("uart") << makeUart();
        QTest::newRow("cmos") << std::shared_ptr<Device>(std::make_shared<kvmscope::CmosRtc>(
            64ull << 20, [] { return std::chrono::nanoseconds(0); }));
        QTest::newRow("debug-exit")
            << std::shared_ptr<Device>(std::make_shared<kvmscope::DebugExitPort>([](uint32_t) {}));
        QTest::newRow("post") << std::shared_ptr<Device>(
            std::make_shared<kvmscope::PostCodePort>());
        QTest::newRow("acpi-pm") << std::shared_ptr<Device>(
            std::make_shared<kvmscope::AcpiPmControl>([] {}));
        QTest::newRow("reset") << std::shared_ptr<Device>(
            std::make_shared<kvmscope::ResetControlPort>([] {}));
    }

    void attributeContract() {
        QFETCH(std::shared_ptr<Device>, device);
        QVERIFY(!device->name().empty());
        QCOMPARE(device->kind(), DeviceKind::UserSpace);
        const auto attributes = device->attributes();
        QVERIFY(!attributes.empty());

        std::set<std::pair<uint32_t, uint64_t>> seen;
        for (const auto& info : attributes) {
            const QByteArray label = QByteArray::fromStdString(info.name);
            QVERIFY2(seen.insert({info.group, info.attr}).second, label);
            QVERIFY2(!info.name.empty() && !info.groupName.empty() && !info.description.empty(),
                     label);
            QVERIFY2(device->hasAttr(info.group, info.attr), label);
            if (canRead(info.access)) {
                const AttrValue value = device->getAttr(info.group, info.attr);
                if (info.type == AttrType::Bytes)
                    QVERIFY2(!value.bytes.empty(), label);
                else
                    QVERIFY2(value.scalar <= maxOf(info.type), label);
            }
            if (!canWrite(info.access)) {
                QVERIFY_THROWS_EXCEPTION(AttributeError,
                                         device->setAttr(info.group, info.attr, AttrValue::of(0)));
                continue;
            }
            if (info.type != AttrType::U64 && info.type != AttrType::Bytes)
                QVERIFY_THROWS_EXCEPTION(
                    AttributeError,
                    device->setAttr(info.group, info.attr, AttrValue::of(maxOf(info.type) + 1)));
            // Writing back the current value is always accepted and changes nothing.
            const AttrValue before = device->getAttr(info.group, info.attr);
            device->setAttr(info.group, info.attr, before);
            QCOMPARE(device->getAttr(info.group, info.attr).scalar, before.scalar);
        }

        QVERIFY(!device->hasAttr(1000, 0));
        QVERIFY(!device->hasAttr(0, 1000));
        QVERIFY_THROWS_EXCEPTION(AttributeError, device->getAttr(1000, 0));
        QVERIFY_THROWS_EXCEPTION(AttributeError, device->setAttr(0, 1000, AttrValue::of(0)));
    }

    void writableAttributesRoundTrip() {
        UartWithPeers peers;
        auto& uart = peers.uart;
        using U = kvmscope::Uart16550;
        for (uint64_t attr : {attrId("LCR"), attrId("SCR"), attrId("DLL"), attrId("DLM")}) {
            uart.setAttr(U::kRegistersGroup, attr, AttrValue::of(0x5a));
            QCOMPARE(uart.getAttr(U::kRegistersGroup, attr).scalar, uint64_t(0x5a));
        }
        QVERIFY_THROWS_EXCEPTION(
            AttributeError, uart.setAttr(U::kRegistersGroup, attrId("SCR"), AttrValue::of(0x100)));
        QVERIFY_THROWS_EXCEPTION(AttributeError,
                                 uart.setAttr(U::kRegistersGroup, attrId("LSR"), AttrValue::of(0)));
        QVERIFY_THROWS_EXCEPTION(
            AttributeError,
            uart.setAttr(U::kStatisticsGroup, attrId("bytes received"), AttrValue::of(0)));
    }
};

QTEST_APPLESS_MAIN(DeviceAttributesTest)
#include "DeviceAttributesTest.moc"
