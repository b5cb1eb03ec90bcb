#include "boot/Smbios.h"

#include "FirmwareTableReading.h"
#include "boot/GuestLayout.h"
#include "common/Error.h"

#include <QTest>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace kvmscope;
using namespace kvmscope::boot;
using kvmscope::testing::anchorAt;
using kvmscope::testing::byteSum;

namespace {

// What an OS without UEFI does (DSP0134 3.0.0, 5.2; Linux's dmi_scan_machine): scan
// 0xf0000-0xfffff on 16-byte boundaries for an anchor whose entry point sums to zero.
uint64_t findEntryPoint(const GuestMemory& memory, const char* anchor, uint64_t lengthOffset) {
    for (uint64_t address = 0xf0000; address + 32 <= 0x100000; address += 16)
        if (anchorAt(memory, address, anchor) &&
            byteSum(memory, address, memory.readValue<uint8_t>(address + lengthOffset)) == 0)
            return address;
    return 0;
}

// One structure as a reader sees it (6.1.2, 6.1.3): its formatted area and its strings.
struct Structure {
    uint8_t type = 0;
    uint8_t length = 0;
    uint16_t handle = 0;
    uint64_t address = 0;
    std::vector<std::string> strings;

    template <typename T> T field(const GuestMemory& memory, uint64_t offset) const {
        return memory.readValue<T>(address + offset);
    }
    // The string a formatted-area byte refers to; "" for 0, "<bad>" when out of range.
    std::string string(const GuestMemory& memory, uint64_t offset) const {
        const uint8_t number = field<uint8_t>(memory, offset);
        if (number == 0)
            return {};
        return number <= strings.size() ? strings[number - 1] : std::string("<bad>");
    }
};

// Walks the table as Linux's dmi_decode_table does, up to and including type 127; fails the
// test on a structure that runs past the table.
std::vector<Structure> walk(const GuestMemory& memory, uint64_t table, uint64_t size) {
    std::vector<Structure> structures;
    uint64_t address = table;
    while (address + 4 <= table + size) {
        Structure structure;
        structure.address = address;
        structure.type = memory.readValue<uint8_t>(address);
        structure.length = memory.readValue<uint8_t>(address + 1);
        structure.handle = memory.readValue<uint16_t>(address + 2);
        if (structure.length < 4)
            return structures;
        uint64_t cursor = address + structure.length;
        // The string set ends with two NULs (one more after the last string's).
        if (memory.readValue<uint8_t>(cursor) == 0) {
            cursor += 2;
        } else {
            while (memory.readValue<uint8_t>(cursor) != 0) {
                std::string text;
                while (char c = static_cast<char>(memory.readValue<uint8_t>(cursor++)))
                    text.push_back(c);
                structure.strings.push_back(text);
            }
            ++cursor;
        }
        if (cursor > table + size)
            return structures;
        structures.push_back(structure);
        address = cursor;
        if (structure.type == 127)
            break;
    }
    return structures;
}

struct Parsed {
    uint64_t entry64 = 0, entry32 = 0, table = 0, size = 0;
    std::vector<Structure> structures;
    const Structure* first(uint8_t type) const {
        for (const auto& structure : structures)
            if (structure.type == type)
                return &structure;
        return nullptr;
    }
    std::vector<const Structure*> all(uint8_t type) const {
        std::vector<const Structure*> found;
        for (const auto& structure : structures)
            if (structure.type == type)
                found.push_back(&structure);
        return found;
    }
};

Parsed parse(const GuestMemory& memory) {
    Parsed parsed;
    parsed.entry64 = findEntryPoint(memory, "_SM3_", 6);
    parsed.entry32 = findEntryPoint(memory, "_SM_", 5);
    if (parsed.entry64 == 0)
        return parsed;
    parsed.table = memory.readValue<uint64_t>(parsed.entry64 + 0x10);
    parsed.size = memory.readValue<uint32_t>(parsed.entry64 + 0x0c);
    parsed.structures = walk(memory, parsed.table, parsed.size);
    return parsed;
}

SmbiosConfig configFor(unsigned cpus) {
    SmbiosConfig config;
    config.cpus = cpus;
    config.processor.vendor = "GenuineIntel";
    config.processor.brand = "Example CPU @ 2.00GHz";
    config.processor.signature = 0x000806ec;
    config.processor.featuresEdx = 0x178bfbff;
    config.processor.longMode = true;
    return config;
}

} // namespace

class SmbiosTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void entryPointsAreFoundEarlyInTheScanAndSumToZero() {
        GuestMemory memory(512ull << 20);
        const uint64_t returned = writeSmbiosTables(memory, configFor(2));
        const Parsed parsed = parse(memory);
        QCOMPARE(parsed.entry64, layout::kSmbiosAreaStart);
        QCOMPARE(returned, parsed.entry64);
        // After the MP table's room, early in the range Linux scans 16 bytes at a time.
        QVERIFY(parsed.entry64 >= layout::kMpConfigTableEnd);
        QVERIFY(parsed.entry64 - 0xf0000 <= 0x2000);
        QCOMPARE(memory.readValue<uint8_t>(parsed.entry64 + 6), uint8_t(0x18)); // length
        QCOMPARE(memory.readValue<uint8_t>(parsed.entry64 + 7), uint8_t(3));    // SMBIOS 3.0
        QCOMPARE(memory.readValue<uint8_t>(parsed.entry64 + 8), uint8_t(0));
        QCOMPARE(memory.readValue<uint8_t>(parsed.entry64 + 0x0a), uint8_t(1)); // revision
        QVERIFY(parsed.table >= parsed.entry64 + 0x18 && parsed.table < layout::kSmbiosAreaEnd);
        QVERIFY(parsed.table + parsed.size <= layout::kSmbiosAreaEnd);

        // The 32-bit entry point for older readers: its own checksum, and the intermediate
        // "_DMI_" part's, describing the same table.
        QVERIFY(parsed.entry32 != 0);
        QCOMPARE(memory.readValue<uint8_t>(parsed.entry32 + 5), uint8_t(0x1f));
        QVERIFY(anchorAt(memory, parsed.entry32 + 0x10, "_DMI_"));
        QCOMPARE(byteSum(memory, parsed.entry32 + 0x10, 0x0f), uint8_t(0));
        QCOMPARE(uint64_t(memory.readValue<uint32_t>(parsed.entry32 + 0x18)), parsed.table);
        QCOMPARE(uint64_t(memory.readValue<uint16_t>(parsed.entry32 + 0x16)), parsed.size);
        QCOMPARE(size_t(memory.readValue<uint16_t>(parsed.entry32 + 0x1c)),
                 parsed.structures.size());
        QCOMPARE(memory.readValue<uint8_t>(parsed.entry32 + 0x1e), uint8_t(0x30)); // BCD 3.0
        size_t largest = 0;
        for (size_t i = 0; i < parsed.structures.size(); ++i) {
            const uint64_t end = i + 1 < parsed.structures.size() ? parsed.structures[i + 1].address
                                                                  : parsed.table + parsed.size;
            largest = std::max<size_t>(largest, end - parsed.structures[i].address);
        }
        QCOMPARE(size_t(memory.readValue<uint16_t>(parsed.entry32 + 8)), largest);
    }

    void structuresAreWellFormedAndEndTheTable() {
        GuestMemory memory(512ull << 20);
        writeSmbiosTables(memory, configFor(4));
        const Parsed parsed = parse(memory);
        QVERIFY(!parsed.structures.empty());
        // The walk consumed exactly the table and stopped at type 127.
        const Structure& last = parsed.structures.back();
        QCOMPARE(last.type, uint8_t(127));
        QCOMPARE(last.address + last.length + 2, parsed.table + parsed.size);
        std::set<uint16_t> handles;
        std::vector<uint8_t> types;
        for (const auto& structure : parsed.structures) {
            QVERIFY2(handles.insert(structure.handle).second, "handles are unique");
            QVERIFY(structure.handle < 0xfeff); // 0xfeff and up are reserved (6.1.2)
            types.push_back(structure.type);
        }
        const std::vector<uint8_t> expected{0, 1, 3, 4, 16, 17, 19, 32, 127};
        QCOMPARE(types, expected);
        // Formatted-area lengths of the versions each structure follows.
        const std::map<uint8_t, uint8_t> lengths{{0, 0x18},  {1, 0x1b},  {3, 0x16},
                                                 {4, 0x30},  {16, 0x17}, {17, 0x28},
                                                 {19, 0x1f}, {32, 0x0b}, {127, 4}};
        for (const auto& structure : parsed.structures)
            QCOMPARE(structure.length, lengths.at(structure.type));
    }

    void firmwareAndSystemNameKvmscopeAndAVirtualMachine() {
        GuestMemory memory(512ull << 20);
        writeSmbiosTables(memory, configFor(1));
        const Parsed parsed = parse(memory);
        const Structure* bios = parsed.first(0);
        QVERIFY(bios);
        QCOMPARE(bios->string(memory, 4), std::string("kvmscope"));
        QCOMPARE(bios->string(memory, 5), std::string(KVMSCOPE_TEST_VERSION));
        const std::string date = bios->string(memory, 8);
        QVERIFY2(date.size() == 10 && date[2] == '/' && date[5] == '/', date.c_str());
        QCOMPARE(bios->field<uint8_t>(memory, 0x12) & 1, 1);               // ACPI supported
        QCOMPARE(bios->field<uint8_t>(memory, 0x13) & (1u << 4), 1u << 4); // virtual machine
        QCOMPARE(bios->field<uint8_t>(memory, 0x16), uint8_t(0xff));       // no embedded controller

        const Structure* system = parsed.first(1);
        QVERIFY(system);
        QCOMPARE(system->string(memory, 4), std::string("kvmscope"));
        QCOMPARE(system->string(memory, 5), std::string("kvmscope virtual machine"));
        QCOMPARE(system->string(memory, 7), std::string()); // no serial number
        for (unsigned i = 0; i < 16; ++i)
            QCOMPARE(system->field<uint8_t>(memory, 8 + i), uint8_t(0)); // UUID not set

        const Structure* boot = parsed.first(32);
        QVERIFY(boot);
        QCOMPARE(boot->field<uint8_t>(memory, 0x0a), uint8_t(0)); // no errors
    }

    void processorReportsTheVcpusCpuidAndOneCorePerVcpu_data() {
        QTest::addColumn<unsigned>("cpus");
        QTest::newRow("1") << 1u;
        QTest::newRow("64") << 64u;
        QTest::newRow("255") << 255u;
    }
    void processorReportsTheVcpusCpuidAndOneCorePerVcpu() {
        QFETCH(unsigned, cpus);
        GuestMemory memory(64ull << 20);
        writeSmbiosTables(memory, configFor(cpus));
        const Parsed parsed = parse(memory);
        const auto processors = parsed.all(4);
        QCOMPARE(processors.size(), size_t(1)); // one socket
        const Structure& processor = *processors.front();
        QCOMPARE(processor.string(memory, 7), std::string("GenuineIntel"));
        QCOMPARE(processor.string(memory, 0x10), std::string("Example CPU @ 2.00GHz"));
        QCOMPARE(processor.field<uint32_t>(memory, 8), uint32_t(0x000806ec));
        QCOMPARE(processor.field<uint32_t>(memory, 12), uint32_t(0x178bfbff));
        QCOMPARE(processor.field<uint8_t>(memory, 0x18), uint8_t(0x41));  // populated, enabled
        QCOMPARE(unsigned(processor.field<uint8_t>(memory, 0x23)), cpus); // cores
        QCOMPARE(unsigned(processor.field<uint8_t>(memory, 0x24)), cpus); // enabled
        QCOMPARE(unsigned(processor.field<uint8_t>(memory, 0x25)), cpus); // threads
        QCOMPARE(unsigned(processor.field<uint16_t>(memory, 0x2a)), cpus);
        const uint16_t characteristics = processor.field<uint16_t>(memory, 0x26);
        QVERIFY(characteristics & (1u << 2)); // 64-bit capable
        QCOMPARE(bool(characteristics & (1u << 3)), cpus > 1);
    }

    void memoryDescribesRamSizeAndEveryRegion_data() {
        QTest::addColumn<quint64>("ramSize");
        QTest::addColumn<quint64>("deviceSizeField");
        QTest::addColumn<quint64>("extendedSizeMib");
        QTest::newRow("512 MiB") << quint64(512ull << 20) << quint64(512) << quint64(0);
        QTest::newRow("1 MiB + 4 KiB, in KiB")
            << quint64((1ull << 20) + 4096) << quint64(0x8000 | 1028) << quint64(0);
        QTest::newRow("8 GiB, split by the hole")
            << quint64(8ull << 30) << quint64(8192) << quint64(0);
        QTest::newRow("64 GiB, extended size")
            << quint64(64ull << 30) << quint64(0x7fff) << quint64(65536);
    }
    void memoryDescribesRamSizeAndEveryRegion() {
        QFETCH(quint64, ramSize);
        QFETCH(quint64, deviceSizeField);
        QFETCH(quint64, extendedSizeMib);
        GuestMemory memory(ramSize);
        writeSmbiosTables(memory, configFor(2));
        const Parsed parsed = parse(memory);

        const Structure* array = parsed.first(16);
        QVERIFY(array);
        QCOMPARE(array->field<uint8_t>(memory, 5), uint8_t(3)); // system memory
        QCOMPARE(array->field<uint16_t>(memory, 0x0d), uint16_t(1));
        const uint32_t capacityKib = array->field<uint32_t>(memory, 7);
        const uint64_t capacity = capacityKib == 0x80000000 ? array->field<uint64_t>(memory, 0x0f)
                                                            : uint64_t(capacityKib) * 1024;
        QCOMPARE(capacity, ramSize);

        const Structure* device = parsed.first(17);
        QVERIFY(device);
        QCOMPARE(device->field<uint16_t>(memory, 4), array->handle);
        QCOMPARE(quint64(device->field<uint16_t>(memory, 0x0c)), deviceSizeField);
        QCOMPARE(quint64(device->field<uint32_t>(memory, 0x1c)), extendedSizeMib);

        // One mapped range per RAM region, in KiB or, beyond 32 bits of KiB, in bytes.
        const auto mapped = parsed.all(19);
        QCOMPARE(mapped.size(), memory.regions().size());
        for (size_t i = 0; i < mapped.size(); ++i) {
            const MemoryRegion& region = memory.regions()[i];
            QCOMPARE(mapped[i]->field<uint16_t>(memory, 0x0c), array->handle);
            uint64_t start = uint64_t(mapped[i]->field<uint32_t>(memory, 4)) * 1024;
            uint64_t last = uint64_t(mapped[i]->field<uint32_t>(memory, 8)) * 1024 + 1023;
            if (mapped[i]->field<uint32_t>(memory, 4) == 0xffffffff) {
                start = mapped[i]->field<uint64_t>(memory, 0x0f);
                last = mapped[i]->field<uint64_t>(memory, 0x17);
            }
            QCOMPARE(start, region.guestAddress);
            QCOMPARE(last, region.end() - 1);
        }
    }

    void cpusOutOfRangeAreRejected() {
        GuestMemory memory(64ull << 20);
        QVERIFY_THROWS_EXCEPTION(InputError, writeSmbiosTables(memory, configFor(0)));
        QVERIFY_THROWS_EXCEPTION(InputError, writeSmbiosTables(memory, configFor(256)));
        try {
            writeSmbiosTables(memory, configFor(256));
        } catch (const InputError& error) {
            QVERIFY2(std::string(error.what()).find("256 cpus") != std::string::npos, error.what());
        }
    }
};

QTEST_GUILESS_MAIN(SmbiosTest)
#include "SmbiosTest.moc"
