// The ACPI files for fw_cfg and their linker/loader script: the commands decode to the expected
// ALLOCATE, ADD_POINTER and ADD_CHECKSUM entries (SeaBIOS src/fw/romfile_loader.h), and running
// them as SeaBIOS's romfile_loader.c does, into memory placed elsewhere than the direct boot's
// tables, gives tables an OS accepts: every checksum 0, the RSDP pointing at the RSDT and XSDT,
// those at the FADT and MADT, the FADT at the FACS and DSDT.
#include "firmware/TableLoader.h"

#include "boot/acpi/AcpiTables.h"
#include "machine/GuestMemory.h"

#include <QTest>
#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace kvmscope;
using namespace kvmscope::firmware;

namespace {

constexpr uint64_t kRam = 64ull << 20;

struct Command {
    uint32_t command = 0;
    std::string file, otherFile; // allocate/checksum: file; pointer: destination, source
    uint32_t align = 0, offset = 0, start = 0, length = 0;
    uint8_t zone = 0, size = 0;
};

uint32_t le32(const uint8_t* bytes) {
    return uint32_t(bytes[0]) | uint32_t(bytes[1]) << 8 | uint32_t(bytes[2]) << 16 |
           uint32_t(bytes[3]) << 24;
}

std::string nameAt(const uint8_t* field) {
    return std::string(reinterpret_cast<const char*>(field),
                       strnlen(reinterpret_cast<const char*>(field), loader::kFileNameSize));
}

// Decodes the script by romfile_loader.h's layout: command at 0, the union at 4.
std::vector<Command> decode(const std::vector<uint8_t>& script) {
    std::vector<Command> commands;
    for (size_t at = 0; at + loader::kEntrySize <= script.size(); at += loader::kEntrySize) {
        const uint8_t* entry = script.data() + at;
        Command command;
        command.command = le32(entry);
        const uint8_t* body = entry + 4;
        switch (command.command) {
        case loader::kAllocate:
            command.file = nameAt(body);
            command.align = le32(body + 56);
            command.zone = body[60];
            break;
        case loader::kAddPointer:
            command.file = nameAt(body);
            command.otherFile = nameAt(body + 56);
            command.offset = le32(body + 112);
            command.size = body[116];
            break;
        case loader::kAddChecksum:
            command.file = nameAt(body);
            command.offset = le32(body + 56);
            command.start = le32(body + 60);
            command.length = le32(body + 64);
            break;
        }
        commands.push_back(command);
    }
    return commands;
}

uint8_t sum(const uint8_t* bytes, size_t length) {
    uint8_t total = 0;
    for (size_t i = 0; i < length; ++i)
        total = static_cast<uint8_t>(total + bytes[i]);
    return total;
}

// Runs the script the way the firmware does: each ALLOCATE copies its file to the next aligned
// address of its zone in `memory`; ADD_POINTER adds the source file's address; ADD_CHECKSUM
// subtracts the range's sum from the checksum byte. Returns where each file went.
std::map<std::string, uint64_t> runScript(const std::vector<Command>& commands,
                                          const std::map<std::string, std::vector<uint8_t>>& files,
                                          GuestMemory& memory) {
    std::map<std::string, uint64_t> placed;
    uint64_t high = 0x3f0'0000; // a "high" zone far from the direct boot's 0xe0000
    uint64_t fseg = 0xf5000;    // inside 0xe0000-0xfffff
    for (const Command& command : commands) {
        if (command.command == loader::kAllocate) {
            uint64_t& next = command.zone == loader::kZoneFSeg ? fseg : high;
            next = (next + command.align - 1) / command.align * command.align;
            const auto& bytes = files.at(command.file);
            memory.write(next, bytes.data(), bytes.size());
            placed[command.file] = next;
            next += bytes.size();
        } else if (command.command == loader::kAddPointer) {
            uint64_t value = 0;
            const uint64_t field = placed.at(command.file) + command.offset;
            memory.read(field, &value, command.size);
            value += placed.at(command.otherFile);
            memory.write(field, &value, command.size);
        } else if (command.command == loader::kAddChecksum) {
            const uint64_t base = placed.at(command.file);
            const auto range = memory.span(base + command.start, command.length);
            const uint8_t total = sum(range.data(), range.size());
            memory.writeValue<uint8_t>(
                base + command.offset,
                uint8_t(memory.readValue<uint8_t>(base + command.offset) - total));
        }
    }
    return placed;
}

std::string signatureAt(const GuestMemory& memory, uint64_t address) {
    char signature[4];
    memory.read(address, signature, 4);
    return std::string(signature, 4);
}

// Checks the table at `address` as an OS would: its length and a zero byte sum.
void verifyTable(const GuestMemory& memory, uint64_t address, const char* signature) {
    QCOMPARE(signatureAt(memory, address), std::string(signature));
    const auto length = memory.readValue<uint32_t>(address + 4);
    const auto bytes = memory.span(address, length);
    QCOMPARE(sum(bytes.data(), bytes.size()), uint8_t(0));
}

} // namespace

class TableLoaderTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void commandsAllocateBothFilesThenPointThenChecksum() {
        GuestMemory memory(kRam);
        const uint64_t rsdp = boot::writeAcpiTables(memory, boot::AcpiConfig{2});
        const AcpiFiles files = buildAcpiFiles(memory, rsdp);
        QCOMPARE(files.loader.size() % loader::kEntrySize, size_t(0));
        const auto commands = decode(files.loader);
        // RSDT, FADT, FACS, DSDT, MADT, MCFG, XSDT.
        QCOMPARE(files.tableCount, size_t(7));
        QCOMPARE(commands[0].command, loader::kAllocate);
        QCOMPARE(commands[0].file, std::string(kAcpiTablesFile));
        QCOMPARE(commands[0].align, uint32_t(64));
        QCOMPARE(commands[0].zone, loader::kZoneHigh);
        QCOMPARE(commands[1].command, loader::kAllocate);
        QCOMPARE(commands[1].file, std::string(kAcpiRsdpFile));
        QCOMPARE(commands[1].zone, loader::kZoneFSeg);
        // The RSDP's two pointers, then the RSDT's and XSDT's three entries each (FADT, MADT,
        // MCFG) and the FADT's FACS (32-bit), DSDT (32-bit) and X_DSDT (64-bit): 2 + 6 + 3.
        int pointers = 0, checksums = 0;
        bool checksumSeen = false;
        for (size_t i = 2; i < commands.size(); ++i) {
            if (commands[i].command == loader::kAddPointer) {
                QVERIFY2(!checksumSeen, "a pointer after a checksum that covers it");
                QVERIFY(commands[i].size == 4 || commands[i].size == 8);
                QCOMPARE(commands[i].otherFile, std::string(kAcpiTablesFile));
                ++pointers;
            } else {
                QCOMPARE(commands[i].command, loader::kAddChecksum);
                checksumSeen = true;
                ++checksums;
            }
        }
        QCOMPARE(pointers, 11);
        // Every table but the FACS, and the RSDP twice (20 bytes, then all 36).
        QCOMPARE(checksums, 6 + 2);
        const Command& last = commands.back();
        QCOMPARE(last.file, std::string(kAcpiRsdpFile));
        QCOMPARE(last.offset, uint32_t(32));
        QCOMPARE(last.length, uint32_t(36));
        QCOMPARE(commands[commands.size() - 2].length, uint32_t(20));
    }

    void runningTheScriptGivesValidTablesWhereverTheyLand() {
        for (const unsigned cpus : {1u, 4u, 255u}) {
            GuestMemory memory(kRam);
            const uint64_t rsdp = boot::writeAcpiTables(memory, boot::AcpiConfig{cpus});
            const AcpiFiles files = buildAcpiFiles(memory, rsdp);
            GuestMemory target(kRam);
            const auto placed = runScript(decode(files.loader),
                                          {{std::string(kAcpiTablesFile), files.tables},
                                           {std::string(kAcpiRsdpFile), files.rsdp}},
                                          target);
            const uint64_t newRsdp = placed.at(std::string(kAcpiRsdpFile));
            QVERIFY(newRsdp >= 0xe0000 && newRsdp + 36 <= 0x100000);
            QCOMPARE(newRsdp % 16, uint64_t(0));
            const auto rsdpBytes = target.span(newRsdp, 36);
            QCOMPARE(std::string(reinterpret_cast<const char*>(rsdpBytes.data()), 8),
                     std::string("RSD PTR "));
            QCOMPARE(sum(rsdpBytes.data(), 20), uint8_t(0));
            QCOMPARE(sum(rsdpBytes.data(), 36), uint8_t(0));

            const uint64_t rsdt = target.readValue<uint32_t>(newRsdp + 16);
            const uint64_t xsdt = target.readValue<uint64_t>(newRsdp + 24);
            const uint64_t tablesBase = placed.at(std::string(kAcpiTablesFile));
            QVERIFY(rsdt >= tablesBase && rsdt < tablesBase + files.tables.size());
            verifyTable(target, rsdt, "RSDT");
            verifyTable(target, xsdt, "XSDT");
            for (const auto& [root, width] : {std::pair{rsdt, 4}, std::pair{xsdt, 8}}) {
                const auto length = target.readValue<uint32_t>(root + 4);
                std::vector<std::string> listed;
                for (uint64_t entry = root + 36; entry < root + length; entry += width) {
                    uint64_t table = 0;
                    target.read(entry, &table, width);
                    listed.push_back(signatureAt(target, table));
                    verifyTable(target, table, listed.back().c_str());
                    if (listed.back() == "FACP") {
                        const uint64_t facs = target.readValue<uint32_t>(table + 36);
                        const uint64_t dsdt = target.readValue<uint32_t>(table + 40);
                        QCOMPARE(facs % 64, uint64_t(0));
                        QCOMPARE(signatureAt(target, facs), std::string("FACS"));
                        verifyTable(target, dsdt, "DSDT");
                        QCOMPARE(target.readValue<uint64_t>(table + 140), dsdt); // X_DSDT
                        // The content is the direct boot's: the DSDT's AML unchanged.
                        const uint64_t oldFadt =
                            memory.readValue<uint32_t>(memory.readValue<uint32_t>(rsdp + 16) + 36);
                        const uint64_t oldDsdt = memory.readValue<uint32_t>(oldFadt + 40);
                        const auto dsdtLength = memory.readValue<uint32_t>(oldDsdt + 4);
                        QVERIFY(std::memcmp(memory.span(oldDsdt, dsdtLength).data(),
                                            target.span(dsdt, dsdtLength).data(), dsdtLength) == 0);
                    }
                    if (listed.back() == "APIC") // the MADT keeps its cpus
                        QCOMPARE(target.readValue<uint32_t>(table + 4),
                                 uint32_t(44 + 8 * cpus + 12 + 10 + 6));
                }
                QCOMPARE(listed, (std::vector<std::string>{"FACP", "APIC", "MCFG"}));
            }
        }
    }

    void aMissingRsdpIsAnError() {
        GuestMemory memory(kRam);
        QVERIFY_THROWS_EXCEPTION(Error, buildAcpiFiles(memory, 0xe0000));
        QVERIFY_THROWS_EXCEPTION(Error, buildAcpiFiles(memory, kRam - 8));
    }
};

QTEST_APPLESS_MAIN(TableLoaderTest)
#include "TableLoaderTest.moc"
