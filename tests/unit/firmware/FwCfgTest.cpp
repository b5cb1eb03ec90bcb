// fw_cfg through its ports as firmware drives it (QEMU docs/specs/fw_cfg.rst): select and read
// byte by byte, the file directory's format and order, and DMA transfers described by an
// FWCfgDmaAccess structure in guest memory, including hostile ones.
#include "firmware/FwCfg.h"

#include "../devices/DeviceTestSupport.h"
#include "common/Error.h"
#include "machine/GuestMemory.h"

#include <QTest>
#include <string>
#include <vector>

using namespace kvmscope;
using namespace kvmscope::firmware;
using kvmscope::testing::inb;
using kvmscope::testing::inw;
using kvmscope::testing::outb;
using kvmscope::testing::outl;
using kvmscope::testing::outw;

namespace {

constexpr uint64_t kRam = 2ull << 20;
constexpr uint64_t kAccess = 0x1000; // where the tests put the FWCfgDmaAccess
constexpr uint64_t kBuffer = 0x2000; // and the buffer it names

std::vector<uint8_t> bytesOf(std::string_view text) {
    return {text.begin(), text.end()};
}

uint32_t bigEndian32(const uint8_t* bytes) {
    return uint32_t(bytes[0]) << 24 | uint32_t(bytes[1]) << 16 | uint32_t(bytes[2]) << 8 | bytes[3];
}

// The DMA register's low half as SeaBIOS writes it: outl(cpu_to_be32(address), 0x518).
void startDma(FwCfg& device, uint32_t address) {
    const uint32_t swapped = __builtin_bswap32(address);
    outl(device, fwcfg::kDmaOffset + 4, swapped);
}

void writeAccess(GuestMemory& memory, uint32_t control, uint32_t length, uint64_t address) {
    uint8_t access[16];
    for (int i = 0; i < 4; ++i) {
        access[i] = static_cast<uint8_t>(control >> (24 - 8 * i));
        access[4 + i] = static_cast<uint8_t>(length >> (24 - 8 * i));
    }
    for (int i = 0; i < 8; ++i)
        access[8 + i] = static_cast<uint8_t>(address >> (56 - 8 * i));
    memory.write(kAccess, access, sizeof access);
}

uint32_t controlAfter(const GuestMemory& memory) {
    uint8_t control[4];
    memory.read(kAccess, control, 4);
    return bigEndian32(control);
}

void select(FwCfg& device, uint16_t selector) {
    outw(device, fwcfg::kSelectorOffset, selector);
}

std::string readString(FwCfg& device, size_t length) {
    std::string text;
    for (size_t i = 0; i < length; ++i)
        text.push_back(static_cast<char>(inb(device, fwcfg::kDataOffset)));
    return text;
}

FwCfgItems sampleItems() {
    FwCfgItems items;
    items.addLegacy(fwcfg::kNbCpus, "CPUs", {2, 0});
    items.addFile("etc/zeta", bytesOf("last"));
    items.addFile("bootorder", bytesOf("/pci@i0cf8/ide@1,1/drive@0/disk@0\n"));
    items.addFile("etc/alpha", bytesOf("first file"), true);
    return items;
}

uint64_t statistic(const FwCfg& device, const char* name) {
    return device.getAttr(FwCfg::kStatisticsGroup, attrId(name)).scalar;
}

} // namespace

class FwCfgTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void signatureReadsQemuAndIdAnnouncesDma() {
        GuestMemory memory(kRam);
        FwCfg device(memory, FwCfgItems{});
        select(device, fwcfg::kSignature);
        QCOMPARE(readString(device, 4), std::string("QEMU"));
        select(device, fwcfg::kId);
        uint32_t id = 0;
        for (int i = 0; i < 4; ++i)
            id |= uint32_t(inb(device, fwcfg::kDataOffset)) << (8 * i);
        QCOMPARE(id, fwcfg::kIdTraditional | fwcfg::kIdDma);
        // "Signature": the DMA register reads "QEMU CFG" when DMA is there.
        std::string dmaSignature;
        for (int i = 0; i < 8; ++i)
            dmaSignature.push_back(static_cast<char>(inb(device, fwcfg::kDmaOffset + i)));
        QCOMPARE(dmaSignature, std::string("QEMU CFG"));
    }

    void selectingRestartsAtTheFirstByteAndReadsPastTheEndAreZero() {
        GuestMemory memory(kRam);
        FwCfg device(memory, sampleItems());
        select(device, fwcfg::kSignature);
        QCOMPARE(readString(device, 2), std::string("QE"));
        select(device, fwcfg::kSignature);
        QCOMPARE(readString(device, 6), std::string("QEMU\0\0", 6));
        QCOMPARE(device.getAttr(FwCfg::kRegistersGroup, attrId("data offset")).scalar, uint64_t(4));
        // An unknown selector reads as zero; bit 14 (the old write flag) selects the same item.
        select(device, 0x0123);
        QCOMPARE(inb(device, fwcfg::kDataOffset), uint8_t(0));
        select(device, fwcfg::kNbCpus | fwcfg::kWriteFlag);
        QCOMPARE(inb(device, fwcfg::kDataOffset), uint8_t(2));
        // Data writes are ignored and counted; a byte write to the selector is odd.
        outb(device, fwcfg::kDataOffset, 0x55);
        outb(device, fwcfg::kSelectorOffset, 0);
        QCOMPARE(statistic(device, "data writes ignored"), uint64_t(1));
        QCOMPARE(statistic(device, "odd accesses"), uint64_t(1));
        QCOMPARE(inb(device, fwcfg::kDataOffset), uint8_t(0)); // still CPUs, past its end
    }

    void fileDirectoryIsBigEndianAndSortedByName() {
        GuestMemory memory(kRam);
        FwCfg device(memory, sampleItems());
        select(device, fwcfg::kFileDir);
        std::vector<uint8_t> directory;
        for (size_t i = 0; i < 4 + 3 * fwcfg::kFileEntrySize; ++i)
            directory.push_back(inb(device, fwcfg::kDataOffset));
        QCOMPARE(bigEndian32(directory.data()), uint32_t(3));
        const char* expected[] = {"bootorder", "etc/alpha", "etc/zeta"};
        const uint32_t sizes[] = {34, 10, 4};
        for (size_t index = 0; index < 3; ++index) {
            const uint8_t* entry = directory.data() + 4 + index * fwcfg::kFileEntrySize;
            QCOMPARE(bigEndian32(entry), sizes[index]);
            QCOMPARE(uint16_t(entry[4] << 8 | entry[5]), uint16_t(fwcfg::kFileFirst + index));
            QCOMPARE(uint16_t(entry[6] << 8 | entry[7]), uint16_t(0));
            QCOMPARE(std::string(reinterpret_cast<const char*>(entry + 8)),
                     std::string(expected[index]));
            QCOMPARE(entry[8 + fwcfg::kFileNameSize - 1], uint8_t(0));
        }
        // The selector in the directory reads the file.
        select(device, fwcfg::kFileFirst + 2);
        QCOMPARE(readString(device, 4), std::string("last"));
    }

    void fileNamesAndSelectorsAreChecked() {
        FwCfgItems items;
        items.addFile("a", {});
        QVERIFY_THROWS_EXCEPTION(InputError, items.addFile("a", {}));
        QVERIFY_THROWS_EXCEPTION(InputError, items.addFile("", {}));
        QVERIFY_THROWS_EXCEPTION(InputError, items.addFile(std::string(56, 'x'), {}));
        items.addFile(std::string(55, 'x'), {});
        QVERIFY_THROWS_EXCEPTION(InputError, items.addLegacy(fwcfg::kSignature, "again", {}));
        QVERIFY_THROWS_EXCEPTION(InputError, items.addLegacy(fwcfg::kFileFirst, "a file's", {}));
        QVERIFY_THROWS_EXCEPTION(InputError, items.setFileData("missing", {}));
    }

    void dmaSelectAndReadCopiesIntoGuestMemory() {
        GuestMemory memory(kRam);
        FwCfg device(memory, sampleItems());
        memory.fill(kBuffer, 0xee, 16);
        writeAccess(memory,
                    uint32_t(fwcfg::kFileFirst + 1) << 16 | fwcfg::kDmaSelect | fwcfg::kDmaRead, 12,
                    kBuffer);
        startDma(device, kAccess);
        QCOMPARE(controlAfter(memory), uint32_t(0));
        std::string copied(12, '?');
        memory.read(kBuffer, copied.data(), 12);
        // Past the item's end a DMA read gives zeros, as the data port does.
        QCOMPARE(copied, std::string("first file\0\0", 12));
        QCOMPARE(memory.readValue<uint8_t>(kBuffer + 12), uint8_t(0xee));
        QCOMPARE(statistic(device, "DMA transfers"), uint64_t(1));
        QCOMPARE(device.getAttr(FwCfg::kRegistersGroup, attrId("DMA address")).scalar, uint64_t(0));
    }

    void dmaSkipThenReadContinuesTheItem() {
        GuestMemory memory(kRam);
        FwCfg device(memory, sampleItems());
        select(device, fwcfg::kFileFirst + 1); // etc/alpha
        writeAccess(memory, fwcfg::kDmaSkip, 6, 0);
        startDma(device, kAccess);
        QCOMPARE(controlAfter(memory), uint32_t(0));
        writeAccess(memory, fwcfg::kDmaRead, 4, kBuffer);
        startDma(device, kAccess);
        std::string copied(4, '?');
        memory.read(kBuffer, copied.data(), 4);
        QCOMPARE(copied, std::string("file"));
        // The port continues where DMA left off.
        QCOMPARE(inb(device, fwcfg::kDataOffset), uint8_t(0));
    }

    void dmaWriteChangesAWritableItemWithinItsSize() {
        GuestMemory memory(kRam);
        FwCfg device(memory, sampleItems());
        memory.write(kBuffer, "FIRST", 5);
        writeAccess(memory,
                    uint32_t(fwcfg::kFileFirst + 1) << 16 | fwcfg::kDmaSelect | fwcfg::kDmaWrite, 5,
                    kBuffer);
        startDma(device, kAccess);
        QCOMPARE(controlAfter(memory), uint32_t(0));
        select(device, fwcfg::kFileFirst + 1);
        QCOMPARE(readString(device, 10), std::string("FIRST file"));
        // Past the end: dropped entirely, error bit.
        writeAccess(memory,
                    uint32_t(fwcfg::kFileFirst + 1) << 16 | fwcfg::kDmaSelect | fwcfg::kDmaWrite,
                    11, kBuffer);
        startDma(device, kAccess);
        QCOMPARE(controlAfter(memory), fwcfg::kDmaError);
        select(device, fwcfg::kFileFirst + 1);
        QCOMPARE(readString(device, 10), std::string("FIRST file"));
        // A read-only item refuses.
        writeAccess(memory,
                    uint32_t(fwcfg::kFileFirst) << 16 | fwcfg::kDmaSelect | fwcfg::kDmaWrite, 1,
                    kBuffer);
        startDma(device, kAccess);
        QCOMPARE(controlAfter(memory), fwcfg::kDmaError);
        QCOMPARE(statistic(device, "DMA errors"), uint64_t(2));
    }

    void dmaToAnAddressOutsideRamSetsTheErrorBit() {
        GuestMemory memory(kRam);
        FwCfg device(memory, sampleItems());
        for (const uint64_t hostile :
             {uint64_t(kRam - 4), uint64_t(0xfee00000), uint64_t(0xffff'ffff'ffff'fff0)}) {
            writeAccess(memory,
                        uint32_t(fwcfg::kFileDir) << 16 | fwcfg::kDmaSelect | fwcfg::kDmaRead, 64,
                        hostile);
            startDma(device, kAccess);
            QCOMPARE(controlAfter(memory), fwcfg::kDmaError);
        }
        QCOMPARE(statistic(device, "DMA errors"), uint64_t(3));
        // The access structure itself outside RAM: nothing to report into, counted.
        startDma(device, 0xfff0'0000);
        QCOMPARE(statistic(device, "DMA bad descriptors"), uint64_t(1));
    }

    void dmaAddressTakesTheHighHalfFirst() {
        GuestMemory memory(kRam);
        FwCfg device(memory, sampleItems());
        outl(device, fwcfg::kDmaOffset, __builtin_bswap32(0x1));
        QCOMPARE(device.getAttr(FwCfg::kRegistersGroup, attrId("DMA address")).scalar, uint64_t(1)
                                                                                           << 32);
        // 0x1'0000'1000 is not RAM (2 MiB): the transfer counts as a bad descriptor and the
        // register is 0 again.
        startDma(device, kAccess);
        QCOMPARE(statistic(device, "DMA bad descriptors"), uint64_t(1));
        QCOMPARE(device.getAttr(FwCfg::kRegistersGroup, attrId("DMA address")).scalar, uint64_t(0));
        // With the high half 0 again, the same low half reaches the structure.
        writeAccess(memory, fwcfg::kDmaSelect, 0, 0);
        startDma(device, kAccess);
        QCOMPARE(controlAfter(memory), uint32_t(0));
    }

    void itemsAreAttributesWithTheirSizes() {
        GuestMemory memory(kRam);
        FwCfg device(memory, sampleItems());
        QCOMPARE(device.getAttr(FwCfg::kItemsGroup, attrId("etc/alpha")).scalar, uint64_t(10));
        QCOMPARE(device.getAttr(FwCfg::kItemsGroup, attrId("signature")).scalar, uint64_t(4));
        device.setFileData("etc/alpha", bytesOf("x"));
        QCOMPARE(device.getAttr(FwCfg::kItemsGroup, attrId("etc/alpha")).scalar, uint64_t(1));
        QCOMPARE(device.getAttr(FwCfg::kItemsGroup, attrId("file directory")).scalar,
                 uint64_t(4 + 3 * 64));
        // Writing the selector attribute selects.
        device.setAttr(FwCfg::kRegistersGroup, attrId("selector"), AttrValue::of(fwcfg::kId));
        QCOMPARE(inb(device, fwcfg::kDataOffset), uint8_t(3));
    }
};

QTEST_APPLESS_MAIN(FwCfgTest)
#include "FwCfgTest.moc"
