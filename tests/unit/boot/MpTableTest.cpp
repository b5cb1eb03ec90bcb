#include "boot/MpTable.h"

#include "FirmwareTableReading.h"

#include <QTest>

using namespace kvmscope;
using namespace kvmscope::boot;
using kvmscope::testing::anchorAt;
using kvmscope::testing::byteSum;

namespace {

constexpr uint64_t kRam = 64ull << 20;

// What a guest does (resources/guests/smp/mptable.c, MP spec 1.4 section 4): follow the BDA's
// EBDA segment and scan its first KiB on 16-byte boundaries for a valid "_MP_".
uint64_t findFloatingPointer(const GuestMemory& memory) {
    const uint64_t ebda = uint64_t(memory.readValue<uint16_t>(0x40e)) << 4;
    for (uint64_t address = ebda; address + 16 <= ebda + 1024; address += 16)
        if (anchorAt(memory, address, "_MP_") && memory.readValue<uint8_t>(address + 8) == 1 &&
            byteSum(memory, address, 16) == 0)
            return address;
    return 0;
}

// The MP configuration table as a guest reads it (MP spec 1.4, 4.2 and 4.3).
struct ParsedTable {
    uint16_t length = 0, entryCount = 0;
    uint32_t localApic = 0;
    std::vector<uint8_t> processorIds;
    std::vector<uint8_t> processorFlags;
    unsigned buses = 0, ioApics = 0, localInterrupts = 0;
    uint8_t ioApicId = 0, ioApicVersion = 0;
    uint32_t ioApicAddress = 0;
    std::vector<std::pair<uint8_t, uint8_t>> irqToPin;
    std::string busType;
    std::vector<std::pair<uint8_t, uint8_t>> localTypeAndLint;
};

ParsedTable parse(const GuestMemory& memory, uint64_t table) {
    ParsedTable parsed;
    parsed.length = memory.readValue<uint16_t>(table + 4);
    parsed.entryCount = memory.readValue<uint16_t>(table + 34);
    parsed.localApic = memory.readValue<uint32_t>(table + 36);
    uint64_t entry = table + 44;
    for (unsigned i = 0; i < parsed.entryCount; ++i) {
        const uint8_t type = memory.readValue<uint8_t>(entry);
        switch (type) {
        case 0:
            parsed.processorIds.push_back(memory.readValue<uint8_t>(entry + 1));
            parsed.processorFlags.push_back(memory.readValue<uint8_t>(entry + 3));
            entry += 20;
            continue;
        case 1: {
            ++parsed.buses;
            const auto name = memory.span(entry + 2, 6);
            parsed.busType.assign(name.begin(), name.end());
            break;
        }
        case 2:
            ++parsed.ioApics;
            parsed.ioApicId = memory.readValue<uint8_t>(entry + 1);
            parsed.ioApicVersion = memory.readValue<uint8_t>(entry + 2);
            parsed.ioApicAddress = memory.readValue<uint32_t>(entry + 4);
            break;
        case 3:
            parsed.irqToPin.emplace_back(memory.readValue<uint8_t>(entry + 5),
                                         memory.readValue<uint8_t>(entry + 7));
            break;
        case 4:
            ++parsed.localInterrupts;
            parsed.localTypeAndLint.emplace_back(memory.readValue<uint8_t>(entry + 1),
                                                 memory.readValue<uint8_t>(entry + 7));
            break;
        default:
            return parsed;
        }
        entry += 8;
    }
    return parsed;
}

} // namespace

class MpTableTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void floatingPointerIsInTheEbdaWithAValidChecksum() {
        GuestMemory memory(kRam);
        writeMpTable(memory, 1);
        QCOMPARE(memory.readValue<uint16_t>(0x40e), uint16_t(0x9fc0));
        QCOMPARE(memory.readValue<uint16_t>(0x413), uint16_t(639));
        const uint64_t pointer = findFloatingPointer(memory);
        QCOMPARE(pointer, uint64_t(0x9fc00));
        QCOMPARE(memory.readValue<uint8_t>(pointer + 9), uint8_t(4));  // spec revision 1.4
        QCOMPARE(memory.readValue<uint8_t>(pointer + 11), uint8_t(0)); // not a default config
        QCOMPARE(memory.readValue<uint32_t>(pointer + 4), uint32_t(0xf0000));
    }

    void configurationTableForOneCpu() {
        GuestMemory memory(kRam);
        writeMpTable(memory, 1);
        const uint64_t table = memory.readValue<uint32_t>(findFloatingPointer(memory) + 4);
        QVERIFY(anchorAt(memory, table, "PCMP"));
        const ParsedTable parsed = parse(memory, table);
        QCOMPARE(parsed.entryCount, uint16_t(1 + 1 + 1 + 16 + 2));
        QCOMPARE(parsed.length, uint16_t(44 + 20 + 20 * 8));
        QCOMPARE(byteSum(memory, table, parsed.length), uint8_t(0));
        QCOMPARE(memory.readValue<uint8_t>(table + 6), uint8_t(4));
        const auto oem = memory.span(table + 8, 8);
        QCOMPARE(std::string(oem.begin(), oem.end()), std::string("KVMSCOPE"));
        QCOMPARE(parsed.localApic, uint32_t(0xfee00000));
        QCOMPARE(parsed.processorIds, std::vector<uint8_t>{0});
        QCOMPARE(parsed.processorFlags, std::vector<uint8_t>{0x3}); // enabled, bootstrap
        QCOMPARE(parsed.buses, 1u);
        QCOMPARE(parsed.busType, std::string("ISA   "));
        QCOMPARE(parsed.ioApics, 1u);
        QCOMPARE(parsed.ioApicId, uint8_t(1));
        QCOMPARE(parsed.ioApicVersion, uint8_t(0x11));
        QCOMPARE(parsed.ioApicAddress, uint32_t(0xfec00000));
        QCOMPARE(parsed.irqToPin.size(), size_t(16));
        for (uint8_t irq = 0; irq < 16; ++irq) {
            QCOMPARE(parsed.irqToPin[irq].first, irq);
            QCOMPARE(parsed.irqToPin[irq].second, irq); // KVM's default GSI routing
        }
        QCOMPARE(parsed.localInterrupts, 2u);
        QCOMPARE(parsed.localTypeAndLint[0], std::make_pair(uint8_t(3), uint8_t(0))); // ExtINT
        QCOMPARE(parsed.localTypeAndLint[1], std::make_pair(uint8_t(1), uint8_t(1))); // NMI
    }

    void configurationTableFor64Cpus() {
        GuestMemory memory(kRam);
        writeMpTable(memory, 64);
        const uint64_t table = memory.readValue<uint32_t>(findFloatingPointer(memory) + 4);
        const ParsedTable parsed = parse(memory, table);
        QCOMPARE(parsed.entryCount, uint16_t(64 + 20));
        QCOMPARE(parsed.length, uint16_t(44 + 64 * 20 + 20 * 8));
        QCOMPARE(byteSum(memory, table, parsed.length), uint8_t(0));
        QCOMPARE(parsed.processorIds.size(), size_t(64));
        unsigned bootstrap = 0;
        for (size_t i = 0; i < parsed.processorIds.size(); ++i) {
            QCOMPARE(parsed.processorIds[i], uint8_t(i));
            QVERIFY(parsed.processorFlags[i] & 0x1);
            bootstrap += (parsed.processorFlags[i] & 0x2) ? 1 : 0;
        }
        QCOMPARE(bootstrap, 1u);
        QVERIFY(parsed.processorFlags[0] & 0x2);
        QCOMPARE(parsed.ioApicId, uint8_t(64));
        QCOMPARE(parsed.irqToPin.size(), size_t(16));
    }

    void maximumCpuCountFitsTheBiosArea() {
        GuestMemory memory(kRam);
        writeMpTable(memory, 255);
        const uint64_t table = memory.readValue<uint32_t>(findFloatingPointer(memory) + 4);
        const ParsedTable parsed = parse(memory, table);
        QCOMPARE(parsed.processorIds.size(), size_t(255));
        QCOMPARE(parsed.ioApicId, uint8_t(255));
        QCOMPARE(byteSum(memory, table, parsed.length), uint8_t(0));
        QVERIFY(table + parsed.length <= 0x100000);
    }

    void cpuCountOutOfRangeIsAnInputError() {
        GuestMemory memory(kRam);
        QVERIFY_THROWS_EXCEPTION(InputError, writeMpTable(memory, 256));
        QVERIFY_THROWS_EXCEPTION(InputError, writeMpTable(memory, 0));
        try {
            writeMpTable(memory, 300);
        } catch (const InputError& error) {
            QVERIFY2(std::string(error.what()).find("300") != std::string::npos, error.what());
        }
        QCOMPARE(memory.readValue<uint16_t>(0x40e), uint16_t(0)); // nothing written
    }
};

QTEST_APPLESS_MAIN(MpTableTest)
#include "MpTableTest.moc"
