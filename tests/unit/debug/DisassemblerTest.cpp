// Zydis decoding in each CPU mode, with branch targets and symbols, on byte arrays.
#include "debug/Disassembler.h"

#include <QTest>
#include <cstring>

using namespace kvmscope::debug;

namespace {

// Guest memory that is `size` bytes of `code` from linear address 0, and nothing above.
LinearReader readerOver(const uint8_t* code, size_t size) {
    return [code, size](uint64_t at, void* out, size_t n) -> size_t {
        if (at >= size)
            return 0;
        const size_t available = std::min(n, size - static_cast<size_t>(at));
        std::memcpy(out, code + at, available);
        return available;
    };
}

} // namespace

class DisassemblerTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void modeComesFromCr0EferAndCs() {
        kvm_sregs sregs{};
        QCOMPARE(codeModeOf(sregs), CodeMode::Real16);
        sregs.cr0 = 1;
        QCOMPARE(codeModeOf(sregs), CodeMode::Protected16);
        sregs.cs.db = 1;
        QCOMPARE(codeModeOf(sregs), CodeMode::Protected32);
        sregs.efer = 1 << 10; // LMA, CS.L = 0: compatibility mode, sized by CS.D
        QCOMPARE(codeModeOf(sregs), CodeMode::Protected32);
        sregs.cs.l = 1;
        sregs.cs.db = 0;
        QCOMPARE(codeModeOf(sregs), CodeMode::Long64);
    }

    void longModeCallHasTargetAndSymbol() {
        SymbolTable symbols;
        symbols.add({0x100000, 0x10, "caller", true});
        symbols.add({0x100200, 0x10, "callee", true});
        const Disassembler disassembler(CodeMode::Long64, 0, &symbols);
        // call rel32 at 0x100004 to 0x100200: rel = 0x100200 - 0x100009.
        const uint8_t call[] = {0xE8, 0xF7, 0x01, 0x00, 0x00};
        const auto instruction = disassembler.decode(0x100004, call);
        QVERIFY(instruction);
        QCOMPARE(instruction->length, uint8_t{5});
        QVERIFY(instruction->isCall);
        QCOMPARE(*instruction->target, uint64_t{0x100200});
        QCOMPARE(instruction->symbol, std::string("caller+0x4"));
        QVERIFY(instruction->text.find("<callee>") != std::string::npos);
        // A REX.W mov is 64-bit only: 48 89 c8 = mov rax, rcx.
        const uint8_t mov[] = {0x48, 0x89, 0xC8};
        QCOMPARE(disassembler.decode(0, mov)->text, std::string("mov rax, rcx"));
    }

    void realModeJumpWrapsInsideTheSegment() {
        // CS = 0x1000 (base 0x10000); jmp short -4 at IP 0x0001 goes to IP 0xFFFF (wraps).
        const Disassembler disassembler(CodeMode::Real16, 0x10000);
        const uint8_t jmp[] = {0xEB, 0xFC};
        const auto instruction = disassembler.decode(0x10001, jmp);
        QVERIFY(instruction);
        QVERIFY(instruction->isBranch);
        QCOMPARE(*instruction->target, uint64_t{0x1FFFF});
        // 16-bit operand size: 40 is inc ax here, a REX prefix in long mode.
        const uint8_t inc[] = {0x40};
        QCOMPARE(disassembler.decode(0x10000, inc)->text, std::string("inc ax"));
    }

    void listingAndAroundResynchronise() {
        // nop; mov eax, 0x12345678; nop; nop; ret (32-bit).
        const uint8_t code[] = {0x90, 0xB8, 0x78, 0x56, 0x34, 0x12, 0x90, 0x90, 0xC3};
        const LinearReader read = readerOver(code, sizeof code);
        const Disassembler disassembler(CodeMode::Protected32);
        const auto listing = disassembler.listing(0, 10, read);
        QCOMPARE(listing.size(), size_t{5});
        QCOMPARE(listing[1].length, uint8_t{5});
        QCOMPARE(listing[4].text, std::string("ret"));
        // Around the ret at 8: two before it, decoded from a start that lands exactly on 8.
        const auto around = disassembler.around(8, 2, 0, read);
        QCOMPARE(around.size(), size_t{3});
        QCOMPARE(around[0].address, uint64_t{6});
        QCOMPARE(around[2].address, uint64_t{8});
    }

    // An entry point after zeroed memory: the rows of `add [rax], al` before it are left out, so
    // the listing starts at the entry (or at the first instruction that is not zeros).
    void aroundSkipsZeroedMemoryBeforeTheAddress() {
        uint8_t code[32] = {};
        code[16] = 0x90; // nop at 16
        code[17] = 0xC3; // ret at 17
        const LinearReader read = readerOver(code, sizeof code);
        const Disassembler disassembler(CodeMode::Long64);
        const auto atEntry = disassembler.around(16, 4, 1, read);
        QVERIFY(!atEntry.empty());
        QCOMPARE(atEntry.front().address, uint64_t{16});
        QCOMPARE(atEntry.front().text, std::string("nop"));
        // Real code before the address stays: from the nop on, before the ret.
        const auto afterNop = disassembler.around(17, 4, 0, read);
        QCOMPARE(afterNop.front().address, uint64_t{16});
        QCOMPARE(afterNop.back().text, std::string("ret"));
    }

    void invalidBytesDoNotDecode() {
        const Disassembler disassembler(CodeMode::Long64);
        const uint8_t invalid[] = {0x06}; // push es: invalid in 64-bit mode
        QVERIFY(!disassembler.decode(0, invalid));
    }
};

QTEST_GUILESS_MAIN(DisassemblerTest)
#include "DisassemblerTest.moc"
