// kvmscope's page walker on synthetic page tables in a plain buffer, for every paging mode and
// page size (Intel SDM vol. 3A, chapter 4), without /dev/kvm.
#include "debug/PageWalker.h"

#include <QTest>
#include <cstring>
#include <vector>

using namespace kvmscope::debug;

namespace {

constexpr uint64_t P = 1, W = 2, U = 4, PS = 0x80;
constexpr uint64_t XD = 1ull << 63;
constexpr uint64_t kCr0Pg = 1ull << 31, kCr0Pe = 1;
constexpr uint64_t kCr4Pse = 1 << 4, kCr4Pae = 1 << 5, kCr4La57 = 1 << 12;
constexpr uint64_t kEferLme = 1 << 8, kEferLma = 1 << 10, kEferNxe = 1 << 11;

// 4 MiB of "guest-physical memory".
class FakeMemory {
public:
    FakeMemory() : bytes_(4 << 20) {}
    void put64(uint64_t address, uint64_t value) { std::memcpy(&bytes_[address], &value, 8); }
    void put32(uint64_t address, uint32_t value) { std::memcpy(&bytes_[address], &value, 4); }
    PhysicalReader reader() {
        return [this](uint64_t address, void* out, size_t n) {
            if (address + n > bytes_.size())
                return false;
            std::memcpy(out, &bytes_[address], n);
            return true;
        };
    }
    std::vector<uint8_t> bytes_;
};

PagingRegisters longMode(uint64_t cr3, bool la57 = false) {
    return {kCr0Pg | kCr0Pe, cr3, kCr4Pae | (la57 ? kCr4La57 : 0), kEferLme | kEferLma | kEferNxe};
}

} // namespace

class PageWalkerTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void withoutPagingLinearIsPhysical() {
        FakeMemory memory;
        const Translation t = translate({kCr0Pe, 0, 0, 0}, 0x12345, memory.reader());
        QVERIFY(t.valid);
        QCOMPARE(t.physical, uint64_t{0x12345});
        QCOMPARE(t.mode, PagingMode::None);
        QVERIFY(t.steps.empty());
    }

    void fourLevelWalksFourKibPageAndRecordsEachStep() {
        FakeMemory memory;
        // PML4 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000 -> frame 0x200000.
        const uint64_t linear =
            (1ull << 39) * 1 + (1ull << 30) * 2 + (1ull << 21) * 3 + (1ull << 12) * 4 + 0x567;
        memory.put64(0x1000 + 1 * 8, 0x2000 | P | W | U);
        memory.put64(0x2000 + 2 * 8, 0x3000 | P | W | U);
        memory.put64(0x3000 + 3 * 8, 0x4000 | P | W);
        memory.put64(0x4000 + 4 * 8, 0x200000 | P | W | U | XD);
        const Translation t = translate(longMode(0x1000), linear, memory.reader());
        QVERIFY2(t.valid, t.fault.c_str());
        QCOMPARE(t.physical, uint64_t{0x200567});
        QCOMPARE(t.pageSize, uint64_t{0x1000});
        QCOMPARE(t.mode, PagingMode::Level4);
        QVERIFY(t.writable);
        QVERIFY(!t.user); // the PD entry is supervisor-only
        QVERIFY(!t.executable);
        QCOMPARE(t.steps.size(), size_t{4});
        const char* tables[] = {"PML4", "PDPT", "PD", "PT"};
        for (unsigned i = 0; i < 4; ++i) {
            QCOMPARE(t.steps[i].table, std::string(tables[i]));
            QCOMPARE(t.steps[i].index, i + 1);
            QCOMPARE(t.steps[i].tableAddress, uint64_t{0x1000} * (i + 1));
            QCOMPARE(t.steps[i].entryAddress, t.steps[i].tableAddress + (i + 1) * 8);
        }
        QVERIFY(t.steps[3].meaning.find("4 KiB page at 0x200000") != std::string::npos);
    }

    void fourLevelLargePages() {
        FakeMemory memory;
        memory.put64(0x1000, 0x2000 | P | W);
        memory.put64(0x2000, 0x3000 | P | W);                  // PDPT[0] -> PD
        memory.put64(0x2000 + 8, 0x40000000 | P | PS);         // PDPT[1]: 1 GiB page, read-only
        memory.put64(0x3000 + 5 * 8, 0x00a00000 | P | W | PS); // PD[5]: 2 MiB page
        const Translation two =
            translate(longMode(0x1000), 5 * (2ull << 20) + 0x12345, memory.reader());
        QVERIFY(two.valid);
        QCOMPARE(two.pageSize, uint64_t{2} << 20);
        QCOMPARE(two.physical, uint64_t{0x00a12345});
        QCOMPARE(two.steps.size(), size_t{3});
        const Translation gib =
            translate(longMode(0x1000), (1ull << 30) + 0x1234567, memory.reader());
        QVERIFY(gib.valid);
        QCOMPARE(gib.pageSize, uint64_t{1} << 30);
        QCOMPARE(gib.physical, uint64_t{0x41234567});
        QVERIFY(!gib.writable);
        QCOMPARE(gib.steps.size(), size_t{2});
    }

    void fiveLevelAddsPml5() {
        FakeMemory memory;
        const uint64_t linear = (1ull << 48) * 3 + 0x1234;
        memory.put64(0x1000 + 3 * 8, 0x2000 | P | W);
        memory.put64(0x2000, 0x3000 | P | W);
        memory.put64(0x3000, 0x4000 | P | W);
        memory.put64(0x4000, 0x5000 | P | W);
        memory.put64(0x5000 + 1 * 8, 0x300000 | P | W);
        const Translation t = translate(longMode(0x1000, true), linear, memory.reader());
        QVERIFY2(t.valid, t.fault.c_str());
        QCOMPARE(t.mode, PagingMode::Level5);
        QCOMPARE(t.steps.size(), size_t{5});
        QCOMPARE(t.steps[0].table, std::string("PML5"));
        QCOMPARE(t.physical, uint64_t{0x300234});
        // The same address is not canonical with 4 levels.
        const Translation four = translate(longMode(0x1000), linear, memory.reader());
        QVERIFY(!four.valid);
        QVERIFY(four.fault.find("canonical") != std::string::npos);
        QVERIFY(four.steps.empty());
    }

    void notPresentEntryEndsTheWalk() {
        FakeMemory memory;
        memory.put64(0x1000, 0x2000 | P | W);
        memory.put64(0x2000, 0x3000 | W); // present bit clear
        const Translation t = translate(longMode(0x1000), 0x1000, memory.reader());
        QVERIFY(!t.valid);
        QCOMPARE(t.steps.size(), size_t{2});
        QCOMPARE(t.steps[1].meaning, std::string("not present"));
        QVERIFY(t.fault.find("PDPT") != std::string::npos);
    }

    void tableOutsideMemoryIsReported() {
        FakeMemory memory;
        memory.put64(0x1000, 0x7f000000 | P | W); // PDPT far beyond the 4 MiB
        const Translation t = translate(longMode(0x1000), 0x1000, memory.reader());
        QVERIFY(!t.valid);
        QVERIFY(t.fault.find("not in guest RAM") != std::string::npos);
    }

    void paeWalksThreeLevelsAndTwoMibPages() {
        FakeMemory memory;
        // CR3 holds a 32-byte-aligned PDPT address; PDPTEs have no R/W or U/S bits.
        const PagingRegisters pae{kCr0Pg | kCr0Pe, 0x1020, kCr4Pae, kEferNxe};
        memory.put64(0x1020 + 2 * 8, 0x3000 | P);
        memory.put64(0x3000 + 1 * 8, 0x4000 | P | W | U);
        memory.put64(0x4000 + 7 * 8, 0x123000 | P | U);
        memory.put64(0x3000 + 2 * 8, 0x600000 | P | W | PS | XD);
        const uint64_t linear = (2ull << 30) + (1ull << 21) + (7ull << 12) + 0x89;
        const Translation t = translate(pae, linear, memory.reader());
        QVERIFY2(t.valid, t.fault.c_str());
        QCOMPARE(t.mode, PagingMode::Pae);
        QCOMPARE(t.physical, uint64_t{0x123089});
        QCOMPARE(t.steps.size(), size_t{3});
        QVERIFY(!t.writable);
        QVERIFY(t.user);
        const Translation big =
            translate(pae, (2ull << 30) + (2ull << 21) + 0x4567, memory.reader());
        QVERIFY(big.valid);
        QCOMPARE(big.pageSize, uint64_t{2} << 20);
        QCOMPARE(big.physical, uint64_t{0x604567});
        QVERIFY(!big.executable);
    }

    void thirtyTwoBitWithPseFourMibPages() {
        FakeMemory memory;
        const PagingRegisters regs{kCr0Pg | kCr0Pe, 0x1000, kCr4Pse, 0};
        memory.put32(0x1000 + 1 * 4, 0x2000 | P | W);       // PDE 1 -> PT
        memory.put32(0x2000 + 3 * 4, 0x345000 | P | W | U); // PTE 3
        // PDE 2: 4 MiB page at 0x1'00c00000 (PSE-36: address bits 39:32 in PDE bits 20:13).
        memory.put32(0x1000 + 2 * 4, 0x00c00000 | (1u << 13) | P | W | PS);
        const Translation small = translate(regs, (1u << 22) + (3u << 12) + 0x21, memory.reader());
        QVERIFY(small.valid);
        QCOMPARE(small.mode, PagingMode::Bits32);
        QCOMPARE(small.physical, uint64_t{0x345021});
        QCOMPARE(small.steps.size(), size_t{2});
        const Translation large = translate(regs, (2u << 22) + 0x123456, memory.reader());
        QVERIFY(large.valid);
        QCOMPARE(large.pageSize, uint64_t{4} << 20);
        QCOMPARE(large.physical, uint64_t{0x1'00d23456});
        // Without CR4.PSE the PS bit is ignored: the PDE points at a page table instead.
        const PagingRegisters noPse{kCr0Pg | kCr0Pe, 0x1000, 0, 0};
        const Translation ignored = translate(noPse, (2u << 22), memory.reader());
        QCOMPARE(ignored.steps.size(), size_t{2});
    }

    void readLinearCrossesPages() {
        FakeMemory memory;
        memory.put64(0x1000, 0x2000 | P | W);
        memory.put64(0x2000, 0x3000 | P | W);
        memory.put64(0x3000, 0x4000 | P | W);
        // Linear pages 0 and 1 map to physical 0x10000 and 0x8000 (not contiguous); 2 is absent.
        memory.put64(0x4000, 0x10000 | P | W);
        memory.put64(0x4008, 0x8000 | P | W);
        memory.put64(0x10ffe, 0xAABB);
        memory.put64(0x8000, 0xCCDD);
        uint8_t buffer[4] = {};
        QCOMPARE(readLinear(longMode(0x1000), 0xffe, buffer, 4, memory.reader()), size_t{4});
        QCOMPARE(buffer[0], uint8_t{0xBB});
        QCOMPARE(buffer[1], uint8_t{0xAA});
        QCOMPARE(buffer[2], uint8_t{0xDD});
        QCOMPARE(buffer[3], uint8_t{0xCC});
        uint8_t tail[8];
        QCOMPARE(readLinear(longMode(0x1000), 0x1ffc, tail, 8, memory.reader()), size_t{4});
    }

    void modeFollowsControlRegisters() {
        QCOMPARE(pagingMode({kCr0Pe, 0, kCr4Pae, 0}), PagingMode::None);
        QCOMPARE(pagingMode({kCr0Pg, 0, 0, 0}), PagingMode::Bits32);
        QCOMPARE(pagingMode({kCr0Pg, 0, kCr4Pae, kEferLme}), PagingMode::Pae); // LME without LMA
        QCOMPARE(pagingMode(longMode(0)), PagingMode::Level4);
        QCOMPARE(pagingMode(longMode(0, true)), PagingMode::Level5);
    }
};

QTEST_GUILESS_MAIN(PageWalkerTest)
#include "PageWalkerTest.moc"
