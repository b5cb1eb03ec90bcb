// Declarative device state (devices/DeviceState.h, EmulatedDevice.h) on a made-up device: the
// attributes, their ids, reads and writes, and the saved state come from one declaration.
#include "devices/EmulatedDevice.h"

#include <QTest>
#include <array>
#include <deque>

using namespace kvmscope;

namespace {

// A device with one of each kind of declaration.
class ExampleDevice : public EmulatedDevice {
public:
    static constexpr uint32_t kRegisters = 0;
    static constexpr uint32_t kStatistics = 1;

    uint8_t control = 0;
    uint16_t divisor = 1;
    bool enabled = false;
    std::array<uint8_t, 4> table{1, 2, 3, 4};
    std::deque<uint8_t> fifo;
    uint8_t latch = 0;
    uint64_t writes = 0;
    int controlWrites = 0; // how often the write hook ran
    int restores = 0;

    std::string name() const override { return "example"; }

protected:
    void describeState(StateVisitor& state) override {
        state.group(kRegisters, "registers");
        state.field("control", control, AttrAccess::ReadWrite, "control bits",
                    FieldHooks::writtenBy([this](uint64_t value) {
                        control = static_cast<uint8_t>(value);
                        ++controlWrites;
                    }));
        state.field("divisor", divisor, AttrAccess::ReadWrite, "clock divisor",
                    FieldHooks::checkedBy([](uint64_t value) {
                        return value == 0 ? std::string("a divisor of 0 stops the clock")
                                          : std::string();
                    }));
        state.field("enabled", enabled, AttrAccess::Read, "on");
        state.byteField("table", table, AttrAccess::ReadWrite, "a fixed table");
        state.computed(
            {"rate", AttrType::U32, AttrAccess::ReadWrite, "1000 / divisor", StateUse::Shown},
            [this] { return uint64_t(1000 / divisor); },
            [this](uint64_t rate) { divisor = static_cast<uint16_t>(1000 / rate); });
        state.hidden("fifo", fifo);
        state.hidden("latch", latch);
        state.group(kStatistics, "statistics");
        state.statistic("writes", writes, "writes seen");
    }
    std::mutex& stateMutex() const override { return mutex_; }
    void afterRestore() override { ++restores; }

private:
    mutable std::mutex mutex_;
};

} // namespace

class DeviceStateTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void attributesComeFromTheDeclarations() {
        ExampleDevice device;
        const auto list = device.attributes();
        QCOMPARE(list.size(), size_t(6)); // the hidden fifo and latch are not attributes
        QCOMPARE(list[0].name, std::string("control"));
        QCOMPARE(list[0].group, ExampleDevice::kRegisters);
        QCOMPARE(list[0].groupName, std::string("registers"));
        QCOMPARE(list[0].attr, attrId("control"));
        QCOMPARE(list[0].type, AttrType::U8);
        QCOMPARE(list[1].type, AttrType::U16);
        QCOMPARE(list[2].type, AttrType::Bool);
        QCOMPARE(list[2].access, AttrAccess::Read);
        QCOMPARE(list[3].type, AttrType::Bytes);
        QCOMPARE(list[4].name, std::string("rate"));
        QCOMPARE(list[5].group, ExampleDevice::kStatistics);
        QCOMPARE(list[5].access, AttrAccess::Read);
    }

    // Ids are the names' hashes: stable under reordering, and distinct here.
    void idsAreStableHashesOfTheNames() {
        static_assert(attrId("control") == attrId("control"));
        QCOMPARE(attrId(""), uint64_t(2166136261u));
        QCOMPARE(attrId("a"), uint64_t(0xe40c292cu)); // FNV-1a test vector
        QVERIFY(attrId("control") != attrId("divisor"));
    }

    void readsAndWritesGoToTheMembers() {
        ExampleDevice device;
        device.setAttr(ExampleDevice::kRegisters, attrId("control"), AttrValue::of(0x5a));
        QCOMPARE(device.control, uint8_t(0x5a));
        QCOMPARE(device.controlWrites, 1);
        QCOMPARE(device.getAttr(ExampleDevice::kRegisters, attrId("control")).scalar,
                 uint64_t(0x5a));
        device.setAttr(ExampleDevice::kRegisters, attrId("rate"), AttrValue::of(250));
        QCOMPARE(device.divisor, uint16_t(4));
        QCOMPARE(device.getAttr(ExampleDevice::kRegisters, attrId("rate")).scalar, uint64_t(250));
        AttrValue bytes;
        bytes.bytes = {9, 8, 7, 6};
        device.setAttr(ExampleDevice::kRegisters, attrId("table"), bytes);
        QCOMPARE(device.table, (std::array<uint8_t, 4>{9, 8, 7, 6}));
        QCOMPARE(device.getAttr(ExampleDevice::kRegisters, attrId("table")).bytes,
                 (std::vector<uint8_t>{9, 8, 7, 6}));
    }

    void refusedWritesChangeNothing() {
        ExampleDevice device;
        QVERIFY_THROWS_EXCEPTION(
            AttributeError,
            device.setAttr(ExampleDevice::kRegisters, attrId("enabled"), AttrValue::of(1)));
        QVERIFY_THROWS_EXCEPTION(
            AttributeError,
            device.setAttr(ExampleDevice::kRegisters, attrId("control"), AttrValue::of(0x100)));
        QVERIFY_THROWS_EXCEPTION(
            AttributeError,
            device.setAttr(ExampleDevice::kRegisters, attrId("divisor"), AttrValue::of(0)));
        QCOMPARE(device.divisor, uint16_t(1));
        AttrValue tooLong;
        tooLong.bytes = {1, 2, 3, 4, 5};
        QVERIFY_THROWS_EXCEPTION(
            AttributeError, device.setAttr(ExampleDevice::kRegisters, attrId("table"), tooLong));
        QVERIFY_THROWS_EXCEPTION(AttributeError,
                                 device.getAttr(ExampleDevice::kRegisters, attrId("fifo")));
        QVERIFY_THROWS_EXCEPTION(AttributeError,
                                 device.getAttr(ExampleDevice::kStatistics, attrId("control")));
        QCOMPARE(device.enabled, false);
        QCOMPARE(device.control, uint8_t(0));
        QCOMPARE(device.table, (std::array<uint8_t, 4>{1, 2, 3, 4}));
        QCOMPARE(device.controlWrites, 0);
    }

    // The whole state, hidden fields included, comes back; computed values are not saved.
    void savedStateRoundTrips() {
        ExampleDevice original;
        original.control = 0x81;
        original.divisor = 12;
        original.enabled = true;
        original.table = {5, 6, 7, 8};
        original.fifo = {0x41, 0x42, 0x43};
        original.latch = 0x7f;
        original.writes = 99;
        const SavedDeviceState state = original.saveState();
        QCOMPARE(state.size(), size_t(7));
        for (const SavedField& field : state)
            QVERIFY(field.name != "rate");

        ExampleDevice copy;
        copy.restoreState(state);
        QCOMPARE(copy.control, uint8_t(0x81));
        QCOMPARE(copy.divisor, uint16_t(12));
        QCOMPARE(copy.enabled, true);
        QCOMPARE(copy.table, original.table);
        QCOMPARE(copy.fifo, original.fifo);
        QCOMPARE(copy.latch, uint8_t(0x7f));
        QCOMPARE(copy.writes, uint64_t(99));
        QCOMPARE(copy.restores, 1);
        QCOMPARE(copy.controlWrites, 0); // a restore stores; it does not replay register writes
    }

    // A state from another version of the device is refused whole, naming the field.
    void mismatchedStatesAreRefusedAndChangeNothing() {
        ExampleDevice original;
        original.control = 0x33;
        const SavedDeviceState good = original.saveState();

        auto expectRefusal = [](const SavedDeviceState& state, const char* mention) {
            ExampleDevice target;
            try {
                target.restoreState(state);
                QFAIL("the restore was not refused");
            } catch (const AttributeError& error) {
                QVERIFY2(std::string(error.what()).find(mention) != std::string::npos,
                         error.what());
                QVERIFY2(std::string(error.what()).find("example") != std::string::npos,
                         error.what());
            }
            QCOMPARE(target.control, uint8_t(0));
            QCOMPARE(target.restores, 0);
        };

        SavedDeviceState missing = good;
        missing.erase(missing.begin() + 1);
        expectRefusal(missing, "lacks field registers/divisor");

        SavedDeviceState extra = good;
        extra.push_back({"registers", "mode", AttrType::U8, 1, {}});
        expectRefusal(extra, "registers/mode");

        SavedDeviceState retyped = good;
        retyped[1].type = AttrType::U32;
        expectRefusal(retyped, "registers/divisor");

        SavedDeviceState refusedValue = good;
        refusedValue[1].scalar = 0;
        expectRefusal(refusedValue, "divisor of 0");

        SavedDeviceState tooWide = good;
        tooWide[0].scalar = 0x100;
        expectRefusal(tooWide, "registers/control");

        SavedDeviceState resized = good;
        for (SavedField& field : resized)
            if (field.name == "table")
                field.bytes.push_back(0);
        expectRefusal(resized, "registers/table");
    }
};

QTEST_APPLESS_MAIN(DeviceStateTest)
#include "DeviceStateTest.moc"
