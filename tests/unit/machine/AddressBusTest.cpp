#include "machine/AddressBus.h"

#include <QTest>
#include <vector>

using kvmscope::AddressBus;

namespace {

struct RecordingDevice : kvmscope::BusDevice {
    std::vector<std::pair<uint64_t, uint8_t>> writes;
    uint8_t readValue = 0x5a;
    uint64_t lastReadOffset = ~0ull;
    void read(uint64_t offset, std::span<uint8_t> data) override {
        lastReadOffset = offset;
        for (auto& byte : data)
            byte = readValue;
    }
    void write(uint64_t offset, std::span<const uint8_t> data) override {
        writes.emplace_back(offset, data[0]);
    }
};

} // namespace

class AddressBusTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void dispatchesWithOffsetIntoRange() {
        AddressBus bus("I/O port");
        RecordingDevice uart;
        bus.add(0x3f8, 8, uart, "uart");
        const uint8_t value = 0x41;
        QVERIFY(bus.write(0x3fd, {&value, 1}));
        QCOMPARE(uart.writes.size(), size_t(1));
        QCOMPARE(uart.writes[0].first, uint64_t(5));
        uint8_t in = 0;
        QVERIFY(bus.read(0x3f8, {&in, 1}));
        QCOMPARE(uart.lastReadOffset, uint64_t(0));
        QCOMPARE(in, uint8_t(0x5a));
    }

    void unclaimedAddressesAreNotHandled() {
        AddressBus bus("I/O port");
        RecordingDevice device;
        bus.add(0x70, 2, device, "cmos");
        uint8_t in = 0x11;
        QVERIFY(!bus.read(0x6f, {&in, 1}));
        QVERIFY(!bus.read(0x72, {&in, 1}));
        QCOMPARE(in, uint8_t(0x11));
        QVERIFY(bus.find(0x71) != nullptr);
    }

    void overlappingRangesAreRejected() {
        AddressBus bus("I/O port");
        RecordingDevice a, b;
        bus.add(0x3f8, 8, a, "uart");
        QVERIFY_THROWS_EXCEPTION(kvmscope::Error, bus.add(0x3ff, 1, b, "clash-end"));
        QVERIFY_THROWS_EXCEPTION(kvmscope::Error, bus.add(0x3f0, 9, b, "clash-start"));
        QVERIFY_THROWS_EXCEPTION(kvmscope::Error, bus.add(0x3f0, 0x20, b, "clash-around"));
        bus.add(0x3f0, 8, b, "adjacent-below");
        bus.add(0x400, 1, b, "adjacent-above");
        QCOMPARE(bus.ranges().size(), size_t(3));
    }

    void overlapErrorNamesBothOwners() {
        AddressBus bus("I/O port");
        RecordingDevice a, b;
        bus.add(0xf4, 1, a, "debug-exit");
        try {
            bus.add(0xf4, 1, b, "intruder");
            QFAIL("no exception");
        } catch (const kvmscope::Error& error) {
            const QString text = error.what();
            QVERIFY2(text.contains("debug-exit") && text.contains("intruder"), error.what());
        }
    }

    void emptyAndWrappingRangesAreRejected() {
        AddressBus bus("MMIO");
        RecordingDevice a;
        QVERIFY_THROWS_EXCEPTION(kvmscope::Error, bus.add(0x1000, 0, a, "empty"));
        QVERIFY_THROWS_EXCEPTION(kvmscope::Error, bus.add(~0ull - 1, 4, a, "wraps"));
        bus.add(~0ull - 3, 4, a, "top");
        QVERIFY(bus.find(~0ull) != nullptr);
    }

    void manyRangesFindTheRightDevice() {
        AddressBus bus("MMIO");
        std::vector<RecordingDevice> devices(64);
        for (size_t i = 0; i < devices.size(); ++i)
            bus.add(0x1000 * (devices.size() - i), 0x800, devices[i], "d" + std::to_string(i));
        for (size_t i = 0; i < devices.size(); ++i) {
            const auto* range = bus.find(0x1000 * (devices.size() - i) + 0x7ff);
            QVERIFY(range && range->device == &devices[i]);
            QVERIFY(bus.find(0x1000 * (devices.size() - i) + 0x800) == nullptr);
        }
    }
};

QTEST_APPLESS_MAIN(AddressBusTest)
#include "AddressBusTest.moc"
