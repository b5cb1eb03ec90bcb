#include "machine/AddressBus.h"

#include <QTest>
#include <atomic>
#include <thread>
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

// Counts accesses from any thread.
struct CountingDevice : kvmscope::BusDevice {
    std::atomic<uint64_t> accesses{0};
    void read(uint64_t, std::span<uint8_t> data) override {
        ++accesses;
        std::fill(data.begin(), data.end(), uint8_t(0x77));
    }
    void write(uint64_t, std::span<const uint8_t>) override { ++accesses; }
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

    // Movable ranges (PCI BARs): placed and removed while the machine runs, refused with a
    // reason instead of an exception, looked up after the fixed ones.
    void movableRangesAreMappedAndUnmapped() {
        AddressBus bus("MMIO");
        RecordingDevice fixed, bar;
        bus.add(0xe000'0000, 0x100'0000, fixed, "framebuffer");
        QCOMPARE(bus.map(0xc000'0000, 0x1000, bar, "BAR0"), std::string());
        uint8_t in = 0;
        QVERIFY(bus.read(0xc000'0ffc, {&in, 1}));
        QCOMPARE(bar.lastReadOffset, uint64_t(0xffc));
        QVERIFY(!bus.find(0xc000'0000)); // find() is the fixed ranges'
        QCOMPARE(bus.rangeAt(0xc000'0000)->owner, std::string("BAR0"));
        QCOMPARE(bus.rangeAt(0xe000'0000)->owner, std::string("framebuffer"));
        QCOMPARE(bus.movableRanges().size(), size_t(1));
        QVERIFY(bus.unmap(0xc000'0000, bar));
        QVERIFY(!bus.unmap(0xc000'0000, bar));
        QVERIFY(!bus.read(0xc000'0000, {&in, 1}));
        QVERIFY(!bus.rangeAt(0xc000'0000));
    }

    void movableRangesAreRefusedOverAnyOtherRange() {
        AddressBus bus("I/O port");
        RecordingDevice uart, bar, other;
        bus.add(0x3f8, 8, uart, "COM1");
        const std::string overFixed = bus.map(0x3e0, 0x20, bar, "BAR1");
        QVERIFY2(overFixed.find("COM1") != std::string::npos, overFixed.c_str());
        QCOMPARE(bus.map(0xc000, 0x20, bar, "BAR1"), std::string());
        const std::string overMovable = bus.map(0xc010, 0x10, other, "BAR0");
        QVERIFY2(overMovable.find("BAR1") != std::string::npos, overMovable.c_str());
        QVERIFY(!bus.map(0x10, 0, other, "empty").empty());
        QVERIFY(!bus.map(~0ull, 2, other, "wraps").empty());
        // A fixed range cannot be added over a movable one either.
        QVERIFY_THROWS_EXCEPTION(kvmscope::Error, bus.add(0xc000, 1, other, "late"));
        // Unmapping needs the right device.
        QVERIFY(!bus.unmap(0xc000, other));
        QCOMPARE(bus.movableRanges().size(), size_t(1));
    }

    // Vcpu threads look addresses up while another thread moves a range back and forth: every
    // access lands on a device or on nothing, and nothing crashes (run under TSan and ASan too).
    void lookupsRaceWithMovesSafely() {
        AddressBus bus("MMIO");
        CountingDevice fixed, bar;
        bus.add(0x1000, 0x1000, fixed, "fixed");
        std::atomic<bool> done{false};
        std::atomic<uint64_t> hits{0};
        std::vector<std::thread> readers;
        for (int t = 0; t < 2; ++t)
            readers.emplace_back([&] {
                uint8_t data[4];
                while (!done.load()) {
                    for (uint64_t address : {0x1800ull, 0x10'0000ull, 0x20'0000ull})
                        if (bus.read(address, data))
                            ++hits;
                }
            });
        for (int i = 0; i < 2000; ++i) {
            const uint64_t base = (i % 2) ? 0x10'0000 : 0x20'0000;
            QCOMPARE(bus.map(base, 0x1000, bar, "BAR"), std::string());
            QVERIFY(bus.unmap(base, bar));
        }
        done = true;
        for (auto& reader : readers)
            reader.join();
        QVERIFY(hits.load() >= fixed.accesses.load());
        QCOMPARE(hits.load(), fixed.accesses.load() + bar.accesses.load());
        QVERIFY(bus.movableRanges().empty());
    }
};

QTEST_APPLESS_MAIN(AddressBusTest)
#include "AddressBusTest.moc"
