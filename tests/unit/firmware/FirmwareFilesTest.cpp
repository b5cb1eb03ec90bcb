// The items firmware reads: etc/e820 is the machine's memory map, the legacy items hold the RAM
// size and CPU counts, the SMBIOS files are the direct boot's tables less the BIOS structure.
#include "firmware/FirmwareFiles.h"

#include "boot/Smbios.h"
#include "firmware/TableLoader.h"
#include "machine/GuestMemory.h"
#include "machine/PcPlatform.h"

#include <QTest>
#include <cstring>
#include <vector>

using namespace kvmscope;
using namespace kvmscope::firmware;

namespace {

struct E820Entry {
    uint64_t address, length;
    uint32_t type;
};

std::vector<E820Entry> decodeE820(const std::vector<uint8_t>& file) {
    std::vector<E820Entry> entries;
    for (size_t at = 0; at + kE820EntrySize <= file.size(); at += kE820EntrySize) {
        E820Entry entry{};
        std::memcpy(&entry.address, file.data() + at, 8);
        std::memcpy(&entry.length, file.data() + at + 8, 8);
        std::memcpy(&entry.type, file.data() + at + 16, 4);
        entries.push_back(entry);
    }
    return entries;
}

uint64_t littleEndianValue(const std::vector<uint8_t>& bytes) {
    uint64_t value = 0;
    for (size_t i = bytes.size(); i-- > 0;)
        value = value << 8 | bytes[i];
    return value;
}

} // namespace

class FirmwareFilesTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void e820MatchesTheMachinesMemoryMap() {
        for (const uint64_t ram : {uint64_t(256) << 20, uint64_t(3) << 30, uint64_t(5) << 30}) {
            GuestMemory memory(ram);
            const std::vector<uint8_t> file = buildE820File(memory);
            QCOMPARE(file.size() % kE820EntrySize, size_t(0));
            const auto entries = decodeE820(file);
            QCOMPARE(entries.size(), memory.regions().size() + 2);
            uint64_t total = 0;
            for (size_t i = 0; i < memory.regions().size(); ++i) {
                QCOMPARE(entries[i].address, memory.regions()[i].guestAddress);
                QCOMPARE(entries[i].length, memory.regions()[i].size);
                QCOMPARE(entries[i].type, kE820Ram);
                total += entries[i].length;
            }
            QCOMPARE(total, ram);
            // The ECAM window, reserved: Linux uses MMCONFIG only where firmware reserved it.
            const E820Entry& ecam = entries[memory.regions().size()];
            QCOMPARE(ecam.address, pc::kPciEcamAddress);
            QCOMPARE(ecam.length, pc::kPciEcamSize);
            QCOMPARE(ecam.type, kE820Reserved);
            // KVM's identity map and TSS pages, reserved as QEMU reports them on KVM.
            QCOMPARE(entries.back().address, pc::kKvmIdentityMapAddress);
            QCOMPARE(entries.back().address + entries.back().length,
                     pc::kKvmTssAddress + pc::kKvmTssSize);
            QCOMPARE(entries.back().type, kE820Reserved);
        }
    }

    void legacyItemsAndFilesAreThere() {
        GuestMemory memory(512ull << 20);
        FirmwareItemsConfig config;
        config.cpus = 3;
        config.maxCpus = 3;
        config.bootMenuWaitMs = 2500;
        config.optionRoms.push_back({"kvmscope.bin", {0x55, 0xaa, 1}});
        config.pciOptionRoms.push_back({0x1234, 0x1111, {0x55, 0xaa, 1, 0}});
        const FwCfgItems items = buildFirmwareItems(memory, config);
        QCOMPARE(littleEndianValue(items.find(fwcfg::kRamSize)->data), uint64_t(512) << 20);
        QCOMPARE(littleEndianValue(items.find(fwcfg::kNbCpus)->data), uint64_t(3));
        QCOMPARE(littleEndianValue(items.find(fwcfg::kMaxCpus)->data), uint64_t(3));
        QCOMPARE(littleEndianValue(items.find(fwcfg::kBootMenu)->data), uint64_t(0));
        QCOMPARE(littleEndianValue(items.findFile(kBootMenuWaitFile)->data), uint64_t(2500));
        QVERIFY(items.findFile(kE820File));
        QVERIFY(items.findFile(kBootOrderFile));
        QCOMPARE(items.findFile("genroms/kvmscope.bin")->data.size(), size_t(3));
        // The VGA BIOS under the name SeaBIOS looks up for 1234:1111 (src/optionroms.c).
        QCOMPARE(pciOptionRomFile(0x1234, 0x1111), std::string("pci1234,1111.rom"));
        QCOMPARE(pciOptionRomFile(0x1af4, 0xABCD), std::string("pci1af4,abcd.rom"));
        QVERIFY(items.findFile("pci1234,1111.rom"));
        QCOMPARE(items.findFile("pci1234,1111.rom")->data.size(), size_t(4));
        for (const std::string_view name : {kAcpiTablesFile, kAcpiRsdpFile, kTableLoaderFile,
                                            kSmbiosAnchorFile, kSmbiosTablesFile})
            QVERIFY2(items.findFile(name), std::string(name).c_str());
        // Sorted by name, numbered in that order.
        const auto& files = items.files();
        for (size_t i = 1; i < files.size(); ++i) {
            QVERIFY(files[i - 1].name < files[i].name);
            QCOMPARE(files[i].selector, uint16_t(fwcfg::kFileFirst + i));
        }
    }

    void smbiosFilesLeaveTheBiosStructureToTheFirmware() {
        GuestMemory memory(256ull << 20);
        boot::SmbiosConfig config;
        config.cpus = 2;
        config.processor.vendor = "GenuineIntel";
        const uint64_t entry = boot::writeSmbiosTables(memory, config);
        const SmbiosFiles files = buildSmbiosFiles(memory, entry);
        QCOMPARE(files.anchor.size(), size_t(0x18));
        QCOMPARE(std::memcmp(files.anchor.data(), "_SM3_", 5), 0);
        uint8_t total = 0;
        for (const uint8_t byte : files.anchor)
            total = static_cast<uint8_t>(total + byte);
        QCOMPARE(total, uint8_t(0));
        uint32_t maxSize = 0;
        std::memcpy(&maxSize, files.anchor.data() + 0x0c, 4);
        // SeaBIOS's smbios_build_tables insists on this equality.
        QCOMPARE(size_t(maxSize), files.tables.size());
        uint64_t address = 1;
        std::memcpy(&address, files.anchor.data() + 0x10, 8);
        QCOMPARE(address, uint64_t(0));
        // Walk the structures: no type 0, type 1 first, the end-of-table last.
        std::vector<uint8_t> types;
        size_t at = 0;
        while (at < files.tables.size()) {
            types.push_back(files.tables[at]);
            size_t end = at + files.tables[at + 1];
            while (!(files.tables[end] == 0 && files.tables[end + 1] == 0))
                ++end;
            at = end + 2;
        }
        QCOMPARE(at, files.tables.size());
        QCOMPARE(types.front(), uint8_t(1));
        QCOMPARE(types.back(), uint8_t(127));
        QVERIFY(std::find(types.begin(), types.end(), uint8_t(0)) == types.end());
        QVERIFY(std::find(types.begin(), types.end(), uint8_t(4)) != types.end());
        QVERIFY(std::find(types.begin(), types.end(), uint8_t(19)) != types.end());
    }
};

QTEST_APPLESS_MAIN(FirmwareFilesTest)
#include "FirmwareFilesTest.moc"
