#include "boot/X86Setup.h"

#include "boot/GuestLayout.h"

#include <QTest>
#include <optional>

using namespace kvmscope;
using namespace kvmscope::boot;

namespace {

constexpr uint64_t kRam = 64ull << 20;
constexpr uint64_t kAddressMask = 0x000ffffffffff000ull;

// A 4-level page walk as the CPU does it (Intel SDM vol. 3A, 4.5), reading guest memory.
std::optional<uint64_t> translate(const GuestMemory& memory, uint64_t cr3, uint64_t address) {
    uint64_t table = cr3 & kAddressMask;
    for (int level = 3; level >= 0; --level) {
        const unsigned shift = 12 + 9 * unsigned(level);
        const uint64_t entry = memory.readValue<uint64_t>(table + ((address >> shift) & 511) * 8);
        if (!(entry & 1))
            return std::nullopt;
        const bool large = (entry & 0x80) && (level == 1 || level == 2);
        if (large || level == 0) {
            const uint64_t pageMask = (1ull << shift) - 1;
            return ((entry & kAddressMask) & ~pageMask) | (address & pageMask);
        }
        table = entry & kAddressMask;
    }
    return std::nullopt;
}

// Decodes the GDT entry a selector names (Intel SDM vol. 3A, 3.4.5) into KVM's form.
kvm_segment descriptorFor(const GuestMemory& memory, uint16_t selector) {
    const uint64_t d = memory.readValue<uint64_t>(layout::kGdtAddress + (selector & ~7u));
    kvm_segment segment{};
    segment.base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
    uint32_t limit = static_cast<uint32_t>((d & 0xffff) | (((d >> 48) & 0xf) << 16));
    segment.g = (d >> 55) & 1;
    segment.limit = segment.g ? (limit << 12) | 0xfff : limit;
    segment.type = (d >> 40) & 0xf;
    segment.s = (d >> 44) & 1;
    segment.dpl = (d >> 45) & 3;
    segment.present = (d >> 47) & 1;
    segment.l = (d >> 53) & 1;
    segment.db = (d >> 54) & 1;
    segment.selector = selector;
    return segment;
}

void compareWithGdt(const GuestMemory& memory, const kvm_segment& loaded) {
    const kvm_segment fromGdt = descriptorFor(memory, loaded.selector);
    QCOMPARE(fromGdt.base, loaded.base);
    QCOMPARE(fromGdt.limit, loaded.limit);
    QCOMPARE(fromGdt.type, loaded.type);
    QCOMPARE(fromGdt.s, loaded.s);
    QCOMPARE(fromGdt.present, loaded.present);
    QCOMPARE(fromGdt.l, loaded.l);
    QCOMPARE(fromGdt.db, loaded.db);
    QCOMPARE(fromGdt.g, loaded.g);
}

// sregs as KVM_GET_SREGS returns them after reset, with recognisable fields to keep.
kvm_sregs resetSregs() {
    kvm_sregs sregs{};
    sregs.cs.selector = 0xf000;
    sregs.cs.base = 0xffff0000;
    sregs.cr0 = 0x60000010;
    sregs.apic_base = 0xfee00900;
    sregs.interrupt_bitmap[1] = 0x8000;
    return sregs;
}

BootPlan planFor(CpuMode mode) {
    BootPlan plan;
    plan.mode = mode;
    plan.entry = 0x100000;
    plan.stack = layout::kBootStackTop;
    plan.rax = 0x2badb002;
    plan.rbx = 0x9000;
    plan.rsi = 0x1234;
    return plan;
}

} // namespace

class X86SetupTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void realModeAtBootSectorAddress() {
        BootPlan plan = planFor(CpuMode::Real);
        plan.entry = 0x7c00;
        plan.stack = 0x7c00;
        plan.rax = plan.rbx = plan.rsi = 0;
        kvm_regs regs{};
        regs.r15 = 99; // stale values must not survive
        kvm_sregs sregs = resetSregs();
        applyBootPlan(plan, regs, sregs);
        QCOMPARE(regs.rip, uint64_t(0x7c00));
        QCOMPARE(regs.rsp, uint64_t(0x7c00));
        QCOMPARE(regs.rflags, uint64_t(0x2));
        QCOMPARE(regs.r15, uint64_t(0));
        for (const kvm_segment* segment :
             {&sregs.cs, &sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss}) {
            QCOMPARE(segment->selector, uint16_t(0));
            QCOMPARE(segment->base, uint64_t(0));
            QCOMPARE(segment->limit, uint32_t(0xffff));
            QCOMPARE(segment->present, uint8_t(1));
            QCOMPARE(segment->s, uint8_t(1));
            QCOMPARE(segment->db, uint8_t(0));
        }
        QCOMPARE(sregs.cs.type, uint8_t(0xb));
        QCOMPARE(sregs.ds.type, uint8_t(0x3));
        QCOMPARE(sregs.cr0 & 0x80000001, uint64_t(0)); // PE and PG off
        QCOMPARE(sregs.efer, uint64_t(0));
        QCOMPARE(sregs.idt.limit, uint16_t(0x3ff));
        QCOMPARE(sregs.tr.type, uint8_t(11));
        QCOMPARE(sregs.tr.present, uint8_t(1));
        QCOMPARE(sregs.apic_base, uint64_t(0xfee00900));
        QCOMPARE(sregs.interrupt_bitmap[1], uint64_t(0x8000));
    }

    void realModeInAHigherSegment() {
        BootPlan plan = planFor(CpuMode::Real);
        plan.entry = 0x17c00;
        plan.realModeSegment = 0x1000;
        kvm_regs regs{};
        kvm_sregs sregs = resetSregs();
        applyBootPlan(plan, regs, sregs);
        QCOMPARE(sregs.cs.selector, uint16_t(0x1000));
        QCOMPARE(sregs.cs.base, uint64_t(0x10000));
        QCOMPARE(sregs.ss.base, uint64_t(0x10000));
        QCOMPARE(regs.rip, uint64_t(0x7c00));
    }

    void realModeEntryOutsideItsSegmentIsRejected() {
        BootPlan plan = planFor(CpuMode::Real);
        plan.entry = 0x20000;
        kvm_regs regs{};
        kvm_sregs sregs = resetSregs();
        QVERIFY_THROWS_EXCEPTION(InputError, applyBootPlan(plan, regs, sregs));
    }

    void protectedModeIsFlatWithPagingOff() {
        GuestMemory memory(kRam);
        BootPlan plan = planFor(CpuMode::Protected32);
        writeCpuTables(plan, memory);
        kvm_regs regs{};
        kvm_sregs sregs = resetSregs();
        applyBootPlan(plan, regs, sregs);
        QCOMPARE(regs.rip, uint64_t(0x100000));
        QCOMPARE(regs.rax, uint64_t(0x2badb002));
        QCOMPARE(regs.rbx, uint64_t(0x9000));
        QCOMPARE(regs.rsi, uint64_t(0x1234));
        QCOMPARE(regs.rsp, layout::kBootStackTop);
        QCOMPARE(regs.rflags & 0x200, uint64_t(0)); // IF off
        QCOMPARE(sregs.cs.selector, layout::kCode32Selector);
        QCOMPARE(sregs.cs.base, uint64_t(0));
        QCOMPARE(sregs.cs.limit, uint32_t(0xffffffff));
        QCOMPARE(sregs.cs.g, uint8_t(1));
        QCOMPARE(sregs.cs.db, uint8_t(1));
        QCOMPARE(sregs.cs.l, uint8_t(0));
        QCOMPARE(sregs.cs.type, uint8_t(0xb));
        QCOMPARE(sregs.ss.type, uint8_t(0x3));
        QCOMPARE(sregs.ss.selector, layout::kDataSelector);
        QCOMPARE(sregs.cr0, uint64_t(0x11));
        QCOMPARE(sregs.cr4, uint64_t(0));
        QCOMPARE(sregs.efer, uint64_t(0));
        QCOMPARE(sregs.gdt.base, layout::kGdtAddress);
        QCOMPARE(sregs.gdt.limit, uint16_t(layout::kGdtSize - 1));
        QCOMPARE(sregs.ldt.unusable, uint8_t(1));
        QCOMPARE(sregs.ldt.present, uint8_t(0));
        QCOMPARE(sregs.ldt.type, uint8_t(2));
        QCOMPARE(sregs.apic_base, uint64_t(0xfee00900));
        // What the CPU loaded must be what the GDT says, or a segment reload changes the mode.
        compareWithGdt(memory, sregs.cs);
        compareWithGdt(memory, sregs.ds);
        compareWithGdt(memory, sregs.tr);
        QCOMPARE(sregs.tr.type, uint8_t(11));
        QCOMPARE(sregs.tr.base, layout::kTssAddress);
        QCOMPARE(sregs.tr.limit, uint32_t(0x67));
    }

    void longModeUsesIdentityPaging() {
        GuestMemory memory(kRam);
        BootPlan plan = planFor(CpuMode::Long64);
        writeCpuTables(plan, memory);
        kvm_regs regs{};
        kvm_sregs sregs = resetSregs();
        applyBootPlan(plan, regs, sregs);
        QCOMPARE(sregs.cs.selector, layout::kCode64Selector);
        QCOMPARE(sregs.cs.l, uint8_t(1));
        QCOMPARE(sregs.cs.db, uint8_t(0));
        QCOMPARE(sregs.cr0 & 0x80000001, uint64_t(0x80000001));
        QCOMPARE(sregs.cr4 & 0x20, uint64_t(0x20));
        QCOMPARE(sregs.efer, uint64_t(0x500));
        QCOMPARE(sregs.cr3, layout::kPml4Address);
        compareWithGdt(memory, sregs.cs);
        compareWithGdt(memory, sregs.ss);
        compareWithGdt(memory, sregs.tr);
        // The 32-bit code descriptor is there too.
        QCOMPARE(descriptorFor(memory, layout::kCode32Selector).db, uint8_t(1));

        for (uint64_t address :
             {0x0ull, 0x7c00ull, 0x100000ull, 0x1fffffull, 0x40201234ull, 0xbfffffffull,
              0xfec00000ull, 0xfee00000ull, 0xffe00000ull, 0xffffffffull}) {
            const auto physical = translate(memory, sregs.cr3, address);
            QVERIFY2(physical.has_value(), qPrintable(QString::number(address, 16)));
            QCOMPARE(*physical, address);
        }
        QVERIFY(!translate(memory, sregs.cr3, 0x100000000ull).has_value());
        // The tables stay inside their documented area.
        QCOMPARE(memory.readValue<uint64_t>(0x7000), uint64_t(0));
    }

    void realModeWritesNoTables() {
        GuestMemory memory(kRam);
        BootPlan plan = planFor(CpuMode::Real);
        writeCpuTables(plan, memory);
        for (uint64_t address = 0; address < layout::kPageTablesEnd; address += 8)
            QCOMPARE(memory.readValue<uint64_t>(address), uint64_t(0));
    }

    void protectedModeWritesNoPageTables() {
        GuestMemory memory(kRam);
        BootPlan plan = planFor(CpuMode::Protected32);
        writeCpuTables(plan, memory);
        QCOMPARE(memory.readValue<uint64_t>(layout::kPml4Address), uint64_t(0));
        QVERIFY(memory.readValue<uint64_t>(layout::kGdtAddress + layout::kCode32Selector) != 0);
    }
};

QTEST_APPLESS_MAIN(X86SetupTest)
#include "X86SetupTest.moc"
