// The one reader over register values (debug/AddressSpace.h) on made-up memory, without
// /dev/kvm: linear reads through the page tables the registers name, the overlay that shows the
// guest's own bytes under kvmscope's int3s, and listings in the registers' code mode.
#include "debug/AddressSpace.h"

#include <QTest>
#include <cstring>
#include <vector>

using namespace kvmscope::debug;

namespace {

constexpr uint64_t kPresentWritable = 3, kLargePage = 0x80;
constexpr uint64_t kCr0PeProtection = 1, kCr0Paging = 1ull << 31, kCr4Pae = 1 << 5;
constexpr uint64_t kEferLongMode = (1 << 8) | (1 << 10);

std::vector<uint8_t> ram(8 << 20);

PhysicalReader reader() {
    return [](uint64_t address, void* out, size_t n) {
        if (address > ram.size() || n > ram.size() - address)
            return false;
        std::memcpy(out, &ram[address], n);
        return true;
    };
}

void put64(uint64_t address, uint64_t value) {
    std::memcpy(&ram[address], &value, sizeof value);
}

// Long mode, 64-bit code, CR3 at 0x1000: linear 0x40000000 (PDPT entry 1) maps 2 MiB at 0x200000.
kvm_sregs longModeAt0x1000() {
    std::fill(ram.begin(), ram.end(), 0);
    put64(0x1000, 0x2000 | kPresentWritable);
    put64(0x2000 + 1 * 8, 0x3000 | kPresentWritable);
    put64(0x3000, 0x200000 | kPresentWritable | kLargePage);
    kvm_sregs sregs{};
    sregs.cr0 = kCr0PeProtection | kCr0Paging;
    sregs.cr3 = 0x1000;
    sregs.cr4 = kCr4Pae;
    sregs.efer = kEferLongMode;
    sregs.cs.l = 1;
    return sregs;
}

} // namespace

class AddressSpaceTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void withoutMemoryNothingIsReadable() {
        const AddressSpace none;
        uint8_t byte = 0;
        QVERIFY(!none.valid());
        QVERIFY(!none.readPhysical(0, &byte, 1));
        QCOMPARE(none.readLinear(kvm_sregs{}, 0, &byte, 1), size_t{0});
        QVERIFY(!none.translate(kvm_sregs{}, 0).valid);
        QVERIFY(none.symbols().empty());
    }

    void linearReadsFollowTheRegistersPageTables() {
        const kvm_sregs sregs = longModeAt0x1000();
        ram[0x200010] = 0x5a;
        const AddressSpace space(reader());
        uint8_t byte = 0;
        QCOMPARE(space.readLinear(sregs, 0x40000010, &byte, 1), size_t{1});
        QCOMPARE(byte, uint8_t{0x5a});
        const Translation where = space.translate(sregs, 0x40000010);
        QVERIFY(where.valid);
        QCOMPARE(where.physical, uint64_t{0x200010});
        QCOMPARE(where.pageSize, uint64_t{2 << 20});
        // Unmapped: nothing read, and the walk says why.
        QCOMPARE(space.readLinear(sregs, 0x80000000, &byte, 1), size_t{0});
        QVERIFY(!space.translate(sregs, 0x80000000).fault.empty());
    }

    void theOverlayShowsTheGuestsOwnBytes() {
        const kvm_sregs sregs = longModeAt0x1000();
        ram[0x200000] = 0xcc; // kvmscope's int3 over the guest's nop
        ram[0x200001] = 0xc3; // ret
        const AddressSpace space(reader(), [](uint64_t linear, std::span<uint8_t> bytes) {
            if (linear == 0x40000000 && !bytes.empty())
                bytes[0] = 0x90;
        });
        uint8_t bytes[2] = {};
        QCOMPARE(space.readLinear(sregs, 0x40000000, bytes, 2), size_t{2});
        QCOMPARE(bytes[0], uint8_t{0x90});
        QCOMPARE(bytes[1], uint8_t{0xc3});
        // Listings read through the overlay too: the nop, not the int3.
        const auto code = space.disassemble(sregs, 0x40000000, 2);
        QCOMPARE(code.size(), size_t{2});
        QCOMPARE(QString::fromStdString(code[0].text), QString("nop"));
        QCOMPARE(QString::fromStdString(code[1].text), QString("ret"));
        const auto around = space.disassembleAround(sregs, 0x40000001, 0, 0);
        QCOMPARE(around.size(), size_t{1});
        QCOMPARE(around[0].address, uint64_t{0x40000001});
    }
};

QTEST_GUILESS_MAIN(AddressSpaceTest)
#include "AddressSpaceTest.moc"
