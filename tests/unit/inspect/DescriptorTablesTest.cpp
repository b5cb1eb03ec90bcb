// Descriptor tables decoded from hand-made bytes (Intel SDM vol. 3A, 3.4.5, 3.5, 6.11, 6.14.1,
// 8.2.1, 8.7, 20.1.4), and read from a made-up protected-mode guest through a GuestView.
#include "inspect/DescriptorTables.h"

#include <QTest>
#include <cstring>

using namespace kvmscope::inspect;

namespace {

constexpr uint64_t kCr0Pe = 1;
constexpr uint64_t kEferLma = 1ull << 10;

std::vector<uint8_t> bytesOf(std::initializer_list<uint64_t> qwords) {
    std::vector<uint8_t> bytes;
    for (uint64_t q : qwords)
        for (unsigned i = 0; i < 8; ++i)
            bytes.push_back(static_cast<uint8_t>(q >> (8 * i)));
    return bytes;
}

// A 32-bit gate: offset, selector, type, DPL, present (SDM vol. 3A, figure 6-2).
uint64_t gate32(uint32_t offset, uint16_t selector, uint8_t type, uint8_t dpl) {
    return (offset & 0xffff) | (uint64_t{selector} << 16) |
           (uint64_t{0x80u | (dpl << 5) | type} << 40) | (uint64_t{offset >> 16} << 48);
}

void put(std::vector<uint8_t>& ram, uint64_t at, const std::vector<uint8_t>& bytes) {
    std::memcpy(&ram[at], bytes.data(), bytes.size());
}

} // namespace

class DescriptorTablesTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void flatSegments() {
        const SegmentDescriptor code =
            decodeSegmentDescriptor(bytesOf({0x00af9a000000ffffull}), TableMode::Long);
        QCOMPARE(QString::fromStdString(code.kind), QStringLiteral("code"));
        QCOMPARE(QString::fromStdString(code.flags), QStringLiteral("execute/read, 64-bit"));
        QVERIFY(code.present && code.longCode && code.granularity && !code.system);
        QCOMPARE(code.dpl, uint8_t{0});
        QCOMPARE(code.limit, 0xffffffffu);
        QCOMPARE(code.base, uint64_t{0});

        const SegmentDescriptor data =
            decodeSegmentDescriptor(bytesOf({0x00cff3000000ffffull}), TableMode::Protected);
        QCOMPARE(QString::fromStdString(data.kind), QStringLiteral("data"));
        QCOMPARE(QString::fromStdString(data.flags), QStringLiteral("read/write, big, accessed"));
        QCOMPARE(data.dpl, uint8_t{3});

        // Base 0x12345678, limit 0x0ffff bytes (G clear), 16-bit execute-only conforming code.
        const SegmentDescriptor odd =
            decodeSegmentDescriptor(bytesOf({0x12009c345678ffffull}), TableMode::Protected);
        QCOMPARE(odd.base, uint64_t{0x12345678});
        QCOMPARE(odd.limit, 0xffffu);
        QCOMPARE(QString::fromStdString(odd.flags),
                 QStringLiteral("execute-only, conforming, 16-bit"));
        QVERIFY(decodeSegmentDescriptor(bytesOf({0}), TableMode::Protected).null);
    }

    void systemDescriptorsWidenInLongMode() {
        const uint64_t base = 0x123456789abcull, limit = 0x67;
        const uint64_t low = limit | ((base & 0xffffff) << 16) | (uint64_t{0x89} << 40) |
                             (((base >> 24) & 0xff) << 56);
        const SegmentDescriptor tss =
            decodeSegmentDescriptor(bytesOf({low, base >> 32}), TableMode::Long);
        QCOMPARE(QString::fromStdString(tss.kind), QStringLiteral("64-bit TSS (available)"));
        QCOMPARE(tss.size, 16u);
        QCOMPARE(tss.base, base);
        QCOMPARE(tss.limit, uint32_t{limit});
        // The same type in protected mode is a 32-bit TSS of 8 bytes, its base cut to 32 bits.
        const SegmentDescriptor legacy =
            decodeSegmentDescriptor(bytesOf({low}), TableMode::Protected);
        QCOMPARE(QString::fromStdString(legacy.kind), QStringLiteral("32-bit TSS (available)"));
        QCOMPARE(legacy.size, 8u);
        QCOMPARE(legacy.base, base & 0xffffffff);
        // Type 1 is a 16-bit TSS in protected mode, reserved in IA-32e mode.
        QCOMPARE(
            QString::fromStdString(
                decodeSegmentDescriptor(bytesOf({0x0000810000000067ull}), TableMode::Long).kind),
            QStringLiteral("reserved (type 0x1)"));
    }

    void gates() {
        const GateDescriptor interrupt =
            decodeGate(bytesOf({gate32(0x12345678, 0x08, 0xe, 0)}), TableMode::Protected);
        QCOMPARE(QString::fromStdString(interrupt.kind), QStringLiteral("32-bit interrupt gate"));
        QCOMPARE(interrupt.offset, uint64_t{0x12345678});
        QCOMPARE(interrupt.selector, uint16_t{0x08});
        QVERIFY(interrupt.present);

        // 64-bit trap gate, DPL 3, IST 2, offset 0xffffffff81234567.
        const uint64_t offset = 0xffffffff81234567ull;
        const uint64_t low = (offset & 0xffff) | (uint64_t{0x10} << 16) | (uint64_t{2} << 32) |
                             (uint64_t{0xef} << 40) | (((offset >> 16) & 0xffff) << 48);
        const GateDescriptor trap = decodeGate(bytesOf({low, offset >> 32}), TableMode::Long);
        QCOMPARE(QString::fromStdString(trap.kind), QStringLiteral("64-bit trap gate"));
        QCOMPARE(trap.offset, offset);
        QCOMPARE(trap.ist, uint8_t{2});
        QCOMPARE(trap.dpl, uint8_t{3});
        QCOMPARE(trap.size, 16u);

        const GateDescriptor task =
            decodeGate(bytesOf({gate32(0xdead, 0x28, 0x5, 0)}), TableMode::Protected);
        QCOMPARE(QString::fromStdString(task.kind), QStringLiteral("task gate"));
        QCOMPARE(task.selector, uint16_t{0x28});
        QCOMPARE(task.offset, uint64_t{0});
        // A call gate is no IDT gate; nor is a task gate in IA-32e mode.
        QCOMPARE(QString::fromStdString(
                     decodeGate(bytesOf({gate32(0, 8, 0xc, 0), 0}), TableMode::Long).kind),
                 QStringLiteral("not a gate (type 0xc)"));
        QCOMPARE(QString::fromStdString(decodeGate(bytesOf({0, 0}), TableMode::Long).kind),
                 QStringLiteral("empty"));

        // Real mode: offset then segment; F000:FF53 is at 0xFFF53.
        const uint8_t vector[] = {0x53, 0xff, 0x00, 0xf0};
        const GateDescriptor real = decodeGate(vector, TableMode::Real);
        QCOMPARE(real.selector, uint16_t{0xf000});
        QCOMPARE(real.offset, uint64_t{0xff53});
        QCOMPARE(real.target, uint64_t{0xfff53});
        QCOMPARE(real.size, 4u);
    }

    void taskStates() {
        std::vector<uint8_t> bytes(104, 0);
        const uint64_t rsp0 = 0xffff800000123000ull, ist3 = 0x7000;
        std::memcpy(&bytes[4], &rsp0, 8);
        std::memcpy(&bytes[36 + 16], &ist3, 8);
        bytes[102] = 104;
        const TaskState tss64 = decodeTaskState(bytes, 0xb, TableMode::Long);
        QCOMPARE(QString::fromStdString(tss64.kind), QStringLiteral("64-bit TSS"));
        auto value = [](const TaskState& tss, const char* name) -> uint64_t {
            for (const TaskStateField& field : tss.fields)
                if (field.name == name)
                    return field.value;
            return ~uint64_t{0};
        };
        QCOMPARE(value(tss64, "RSP0"), rsp0);
        QCOMPARE(value(tss64, "IST3"), ist3);
        QCOMPARE(value(tss64, "I/O map base"), uint64_t{104});
        QCOMPARE(tss64.fields.size(), size_t{11});

        std::vector<uint8_t> legacy(104, 0);
        const uint32_t esp0 = 0x9000, cr3 = 0x1000;
        std::memcpy(&legacy[4], &esp0, 4);
        legacy[8] = 0x10;
        legacy[9] = 0xff; // SS0's reserved high word: not part of the selector
        legacy[10] = 0xff;
        std::memcpy(&legacy[28], &cr3, 4);
        const TaskState tss32 = decodeTaskState(legacy, 0x9, TableMode::Protected);
        QCOMPARE(QString::fromStdString(tss32.kind), QStringLiteral("32-bit TSS"));
        QCOMPARE(value(tss32, "ESP0"), uint64_t{esp0});
        QCOMPARE(value(tss32, "SS0"), uint64_t{0xff10});
        QCOMPARE(value(tss32, "CR3"), uint64_t{cr3});
        // A short read leaves the fields it did not reach out.
        QVERIFY(
            decodeTaskState(std::span(legacy.data(), 12), 0x9, TableMode::Protected).fields.size() <
            4);
    }

    // A protected-mode guest (no paging) with a GDT of null, code at base 0x10000, flat data and
    // a 32-bit TSS, and an IDT of three gates; its handlers' linear addresses are found through
    // the code segment's base.
    void readsTheTablesOfAGuest() {
        std::vector<uint8_t> ram(1 << 20, 0);
        const uint64_t gdtAt = 0x1000, idtAt = 0x2000, tssAt = 0x3000;
        const uint64_t code = 0x00409a010000ffffull; // base 0x10000, limit 0xffff, 32-bit
        const uint64_t tssDescriptor = 0x67 | (tssAt << 16) | (uint64_t{0x89} << 40);
        put(ram, gdtAt, bytesOf({0, code, 0x00cf92000000ffffull, tssDescriptor}));
        put(ram, idtAt,
            bytesOf({gate32(0x100, 0x08, 0xe, 0), gate32(0x200, 0x08, 0xf, 3),
                     gate32(0, 0x18, 0x5, 0)}));
        const uint32_t esp0 = 0x8000;
        std::memcpy(&ram[tssAt + 4], &esp0, 4);
        const GuestView guest = GuestView::ofBytes(0, ram);

        VcpuSnapshot at;
        at.cpu.sregs.cr0 = kCr0Pe;
        at.cpu.sregs.gdt = {gdtAt, 4 * 8 - 1, {}};
        at.cpu.sregs.idt = {idtAt, 3 * 8 - 1, {}};
        at.cpu.sregs.tr.base = tssAt;
        at.cpu.sregs.tr.limit = 0x67;
        at.cpu.sregs.tr.selector = 0x18;
        at.cpu.sregs.tr.type = 0xb;
        at.cpu.sregs.tr.present = 1;

        const std::vector<SegmentDescriptor> gdt = readGdt(guest, at);
        QCOMPARE(gdt.size(), size_t{4});
        QCOMPARE(QString::fromStdString(gdt[0].kind), QStringLiteral("null"));
        QCOMPARE(gdt[1].selector, uint16_t{0x08});
        QCOMPARE(gdt[1].base, uint64_t{0x10000});
        QCOMPARE(QString::fromStdString(gdt[3].kind), QStringLiteral("32-bit TSS (available)"));
        QCOMPARE(gdt[3].linear, gdtAt + 24);

        const std::vector<GateDescriptor> idt = readIdt(guest, at);
        QCOMPARE(idt.size(), size_t{3});
        QVERIFY(idt[0].targetKnown);
        QCOMPARE(idt[0].target, uint64_t{0x10100});
        QCOMPARE(idt[1].target, uint64_t{0x10200});
        QCOMPARE(idt[1].dpl, uint8_t{3});
        QCOMPARE(QString::fromStdString(idt[2].kind), QStringLiteral("task gate"));
        QVERIFY(!idt[2].targetKnown);

        const TaskState tss = readTaskState(guest, at);
        QVERIFY(tss.present && tss.readable);
        QCOMPARE(QString::fromStdString(tss.fields.at(1).name), QStringLiteral("ESP0"));
        QCOMPARE(tss.fields.at(1).value, uint64_t{esp0});

        // A GDT whose end lies past RAM: the entries there say so, the others are read.
        at.cpu.sregs.gdt = {(1 << 20) - 16, 4 * 8 - 1, {}};
        const std::vector<SegmentDescriptor> cut = readGdt(guest, at);
        QCOMPARE(cut.size(), size_t{4});
        QVERIFY(cut[1].readable && !cut[2].readable && !cut[3].readable);
        QVERIFY(readLdt(guest, at).empty());
        at.cpu.sregs.efer = kEferLma;
        QCOMPARE(int(tableModeOf(at.cpu.sregs)), int(TableMode::Long));
    }
};

QTEST_GUILESS_MAIN(DescriptorTablesTest)
#include "DescriptorTablesTest.moc"
