// The triple-fault autopsy on made-up vcpu states and memory: each case builds the tables the
// processor reads while delivering an exception (IDT, GDT, TSS, page tables) and checks the chain
// of exceptions the SDM's rules give (Intel SDM vol. 3A 6.12.1, 6.14, 6.15 and table 6-5).
#include "inspect/TripleFaultAutopsy.h"

#include <QTest>
#include <cstring>

using namespace kvmscope::inspect;

namespace {

constexpr uint64_t kCr0Pe = 1;
constexpr uint64_t kCr0Pg = 1ull << 31;
constexpr uint64_t kCr0Wp = 1ull << 16;
constexpr uint64_t kCr4Pae = 1ull << 5;
constexpr uint64_t kEferLme = 1ull << 8;
constexpr uint64_t kEferLma = 1ull << 10;
constexpr uint64_t kEferNxe = 1ull << 11;

constexpr uint64_t kGdt = 0x500;
constexpr uint64_t kIdt = 0x800;
constexpr uint64_t kTss = 0xa00;
constexpr uint64_t kCode = 0x7c00;
constexpr uint64_t kPml4 = 0x1000;
constexpr size_t kRamSize = 2 * 1024 * 1024;

struct Guest {
    std::vector<uint8_t> ram = std::vector<uint8_t>(kRamSize);
    FaultState state;

    void put(uint64_t at, std::initializer_list<uint8_t> bytes) {
        std::copy(bytes.begin(), bytes.end(), ram.begin() + static_cast<ptrdiff_t>(at));
    }
    void put64(uint64_t at, uint64_t value) { std::memcpy(&ram[at], &value, sizeof value); }
    TripleFaultAutopsy autopsy() const {
        return reconstructTripleFault(state, GuestView::ofBytes(0, ram));
    }
};

kvm_segment flatSegment(uint16_t selector, uint8_t type, bool longCode = false) {
    kvm_segment s{};
    s.base = 0;
    s.limit = 0xffffffff;
    s.selector = selector;
    s.type = type;
    s.present = 1;
    s.dpl = selector & 3;
    s.db = longCode ? 0 : 1;
    s.s = 1;
    s.l = longCode ? 1 : 0;
    s.g = 1;
    return s;
}

// 32-bit protected mode, flat code 0x08 and data 0x10 in a GDT at kGdt, the IDT at kIdt with
// `idtLimit`, RIP at kCode, paging off.
Guest protectedMode(uint16_t idtLimit) {
    Guest g;
    g.put64(kGdt + 0x08, 0x00cf9a000000ffffull);
    g.put64(kGdt + 0x10, 0x00cf92000000ffffull);
    kvm_sregs& s = g.state.sregs;
    s.cr0 = kCr0Pe;
    s.cs = flatSegment(0x08, 0xb);
    s.ds = s.es = s.ss = s.fs = s.gs = flatSegment(0x10, 0x3);
    s.gdt = {kGdt, 0x17, {}};
    s.idt = {kIdt, idtLimit, {}};
    s.tr.unusable = 1;
    s.ldt.unusable = 1;
    g.state.regs.rip = kCode;
    g.state.regs.rsp = 0x7000;
    g.state.regs.rflags = 0x2;
    return g;
}

// A 32-bit interrupt gate (SDM vol. 3A, figure 6-2).
uint64_t gate32(uint32_t offset, uint16_t selector, bool present) {
    return (offset & 0xffff) | (uint64_t{selector} << 16) |
           (uint64_t{(present ? 0x80u : 0u) | 0xe} << 40) | (uint64_t{offset >> 16} << 48);
}

// IA-32e mode with 4-level paging that maps [0, 2 MiB) by one 2 MiB page, user-accessible;
// a GDT with 64-bit ring-0 code (0x08), data (0x10), ring-3 code (0x1b) and data (0x23), and a
// 64-bit TSS (0x28) at kTss; the IDT at kIdt with every gate up to 31 present, handler kCode,
// interrupt gates to 0x08 with IST `ist`.
Guest longMode(unsigned ist) {
    Guest g;
    g.put64(kPml4, 0x2000 | 0x7);
    g.put64(0x2000, 0x3000 | 0x7);
    g.put64(0x3000, 0x0 | 0x80 | 0x7); // PS, user, writable, present
    g.put64(kGdt + 0x08, 0x00af9a000000ffffull);
    g.put64(kGdt + 0x10, 0x00cf92000000ffffull);
    g.put64(kGdt + 0x18, 0x00affa000000ffffull);
    g.put64(kGdt + 0x20, 0x00cff2000000ffffull);
    g.put64(kGdt + 0x28, 0x0000890000000067ull | ((kTss & 0xffffff) << 16));
    g.put64(kGdt + 0x30, 0);
    for (unsigned vector = 0; vector < 32; ++vector) {
        const uint64_t low = (kCode & 0xffff) | (uint64_t{0x08} << 16) | (uint64_t{ist} << 32) |
                             (uint64_t{0x8e} << 40) | ((kCode >> 16) << 48);
        g.put64(kIdt + 16 * vector, low);
        g.put64(kIdt + 16 * vector + 8, 0);
    }
    kvm_sregs& s = g.state.sregs;
    s.cr0 = kCr0Pe | kCr0Pg | kCr0Wp;
    s.cr3 = kPml4;
    s.cr4 = kCr4Pae;
    s.efer = kEferLme | kEferLma | kEferNxe;
    s.cs = flatSegment(0x08, 0xb, true);
    s.ds = s.es = s.ss = s.fs = s.gs = flatSegment(0x10, 0x3);
    s.gdt = {kGdt, 0x37, {}};
    s.idt = {kIdt, 32 * 16 - 1, {}};
    s.tr = kvm_segment{};
    s.tr.base = kTss;
    s.tr.limit = 0x67;
    s.tr.selector = 0x28;
    s.tr.type = 0xb;
    s.tr.present = 1;
    s.ldt.unusable = 1;
    g.state.regs.rip = kCode;
    g.state.regs.rsp = 0x7000;
    g.state.regs.rflags = 0x2;
    return g;
}

QStringList chainOf(const TripleFaultAutopsy& autopsy) {
    QStringList chain;
    for (const std::string& link : autopsy.chain)
        chain << QString::fromStdString(link);
    return chain;
}

QString report(const TripleFaultAutopsy& autopsy) {
    return QString::fromStdString(formatAutopsy(autopsy));
}

} // namespace

class TripleFaultAutopsyTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // The bundled triple-fault guest: ud2 under an IDT of limit 0. Every gate lies beyond the
    // limit, so #UD gives #GP(IDT 6, EXT), whose own delivery gives #GP(IDT 13): two
    // contributory faults, #DF, which fails the same way: the triple fault.
    void emptyIdtObservedAtTheFault() {
        Guest g = protectedMode(0);
        g.put(kCode, {0x0f, 0x0b}); // ud2
        const TripleFaultAutopsy autopsy = g.autopsy();
        QVERIFY2(autopsy.reachesShutdown, qPrintable(report(autopsy)));
        QCOMPARE(chainOf(autopsy), (QStringList{"#UD", "#GP(0x33)", "#GP(0x6b)", "#DF(0x0)",
                                                "#GP(0x43)", "triple fault"}));
        QVERIFY(report(autopsy).contains("#UD at 0x7c00 (`ud2`)"));
        QVERIFY(report(autopsy).contains("lies beyond the IDT limit 0x0"));
        for (const AutopsyStep& step : autopsy.steps)
            QCOMPARE(step.certainty, Certainty::Observed);
        QVERIFY(QString::fromStdString(autopsy.summary).contains("observed at the fault"));

        // An exception KVM still holds at the stop (KVM_GET_VCPU_EVENTS) is named first.
        kvm_vcpu_events events{};
        events.exception.injected = 1;
        events.exception.nr = 13;
        events.exception.has_error_code = 1;
        events.exception.error_code = 0x43;
        g.state.events = events;
        QVERIFY2(report(g.autopsy())
                     .contains("KVM still holds exception 13 (#GP, error code 0x43) "
                               "injected"),
                 qPrintable(report(g.autopsy())));
    }

    // The same guest on a host that reset the vcpu: the state is the last exit's, an `out` just
    // before the ud2. The exit's instruction completes, the ud2 after it is the first fault, and
    // every step is marked inferred.
    void emptyIdtInferredFromTheLastExit() {
        Guest g = protectedMode(0);
        g.put(kCode, {0xe6, 0x80, 0x0f, 0x0b}); // out 0x80, al; ud2
        g.state.source = FaultState::Source::LastExit;
        g.state.lastExitReason = KVM_EXIT_IO;
        const TripleFaultAutopsy autopsy = g.autopsy();
        QVERIFY2(autopsy.reachesShutdown, qPrintable(report(autopsy)));
        QCOMPARE(chainOf(autopsy), (QStringList{"#UD", "#GP(0x33)", "#GP(0x6b)", "#DF(0x0)",
                                                "#GP(0x43)", "triple fault"}));
        QVERIFY2(report(autopsy).contains("#UD at 0x7c02"), qPrintable(report(autopsy)));
        QVERIFY(report(autopsy).contains("goes on at 0x7c02"));
        for (const AutopsyStep& step : autopsy.steps)
            QCOMPARE(step.certainty, Certainty::Inferred);
        QVERIFY(QString::fromStdString(autopsy.summary).contains("inferred from the last exit"));
        QVERIFY(QString::fromStdString(autopsy.basis).contains("not seen"));
    }

    // Gates present up to 31 except #UD's, #NP's and #DF's: each not-present gate is #NP with
    // the gate's IDT error code, and #NP while delivering #NP is a double fault.
    void doubleFaultGateNotPresent() {
        Guest g = protectedMode(32 * 8 - 1);
        for (unsigned vector = 0; vector < 32; ++vector)
            g.put64(kIdt + 8 * vector,
                    gate32(0x7e00, 0x08, vector != 6 && vector != 8 && vector != 11));
        g.put(kCode, {0x0f, 0x0b});
        const TripleFaultAutopsy autopsy = g.autopsy();
        QVERIFY2(autopsy.reachesShutdown, qPrintable(report(autopsy)));
        QCOMPARE(chainOf(autopsy), (QStringList{"#UD", "#NP(0x33)", "#NP(0x5b)", "#DF(0x0)",
                                                "#NP(0x43)", "triple fault"}));
        QVERIFY(report(autopsy).contains("gate 8 (32-bit interrupt gate) is not present"));

        // With #DF's gate present the #DF is delivered: no triple fault from this state.
        g.put64(kIdt + 8 * 8, gate32(0x7e00, 0x08, true));
        const TripleFaultAutopsy delivered = g.autopsy();
        QVERIFY(!delivered.reachesShutdown);
        QVERIFY2(report(delivered).contains("#DF(0x0) can be delivered: its handler is at 0x7e00"),
                 qPrintable(report(delivered)));
    }

    // Ring 3 in IA-32e mode: a gate to ring 0 switches to the TSS's RSP0, which is not mapped.
    // Pushing the frame faults with #PF (supervisor write, not present), #PF's own delivery
    // faults the same way: page fault then page fault is #DF, and #DF's delivery faults too.
    void longModeHandlerStackUnmapped() {
        Guest g = longMode(0);
        g.state.sregs.cs = flatSegment(0x1b, 0xb, true);
        g.state.sregs.ss = flatSegment(0x23, 0x3);
        g.put64(kTss + 4, 0x40000000); // RSP0: 1 GiB, past the one mapped 2 MiB page
        g.put(kCode, {0x0f, 0x0b});
        const TripleFaultAutopsy autopsy = g.autopsy();
        QVERIFY2(autopsy.reachesShutdown, qPrintable(report(autopsy)));
        QCOMPARE(chainOf(autopsy),
                 (QStringList{"#UD", "#PF(0x2) at 0x3ffffff8", "#PF(0x2) at 0x3ffffff8", "#DF(0x0)",
                              "#PF(0x2) at 0x3ffffff8", "triple fault"}));
        QVERIFY2(
            report(autopsy).contains("the frame on the RSP0 stack at 0x3ffffff8 is not mapped"),
            qPrintable(report(autopsy)));

        // The same through IST1 at ring 0 (no privilege change, the IST switches anyway).
        Guest ist = longMode(1);
        ist.put64(kTss + 36, 0x40000000);
        ist.put(kCode, {0x0f, 0x0b});
        const TripleFaultAutopsy viaIst = ist.autopsy();
        QVERIFY2(viaIst.reachesShutdown, qPrintable(report(viaIst)));
        QVERIFY(report(viaIst).contains("IST1 stack"));
    }

    // RIP on a page the tables do not map: the fetch faults (#PF with I/D set, EFER.NXE being
    // on), and with an IDT of limit 0 its delivery gives #GP, then #DF.
    void ripUnmapped() {
        Guest g = longMode(0);
        g.state.regs.rip = 0x40000000;
        g.state.sregs.idt.limit = 0;
        const TripleFaultAutopsy autopsy = g.autopsy();
        QVERIFY2(autopsy.reachesShutdown, qPrintable(report(autopsy)));
        QCOMPARE(chainOf(autopsy), (QStringList{"#PF(0x10) at 0x40000000", "#GP(0x73)", "#DF(0x0)",
                                                "#GP(0x43)", "triple fault"}));
        QVERIFY(report(autopsy).contains("RIP 0x40000000 is not mapped"));
    }

    // A gate whose code selector lies past the GDT's limit: #GP with the selector as error code,
    // the same for #GP's and #DF's gates.
    void gateSelectorBeyondGdtLimit() {
        Guest g = protectedMode(32 * 8 - 1);
        for (unsigned vector = 0; vector < 32; ++vector)
            g.put64(kIdt + 8 * vector, gate32(0x7e00, 0x28, true));
        g.put(kCode, {0x0f, 0x0b});
        const TripleFaultAutopsy autopsy = g.autopsy();
        QVERIFY2(autopsy.reachesShutdown, qPrintable(report(autopsy)));
        QCOMPARE(chainOf(autopsy), (QStringList{"#UD", "#GP(0x29)", "#GP(0x29)", "#DF(0x0)",
                                                "#GP(0x29)", "triple fault"}));
        QVERIFY(
            report(autopsy).contains("its code selector 0x0028 lies beyond the GDT limit 0x17"));
    }

    // Real mode: the vector table at IDTR holds 4 vectors; #UD's lies beyond it, so #GP, whose
    // vector does not fit either, then #DF: the same end as in protected mode.
    void realModeVectorBeyondTheLimit() {
        Guest g;
        g.state.sregs.cs.selector = 0;
        g.state.sregs.cs.limit = 0xffff;
        g.state.sregs.cs.present = 1;
        g.state.sregs.cs.type = 0xb;
        g.state.sregs.cs.s = 1;
        g.state.sregs.idt = {0, 0x0f, {}};
        g.state.regs.rip = kCode;
        g.put(kCode, {0x0f, 0x0b});
        const TripleFaultAutopsy autopsy = g.autopsy();
        QVERIFY2(autopsy.reachesShutdown, qPrintable(report(autopsy)));
        QCOMPARE(chainOf(autopsy),
                 (QStringList{"#UD", "#GP", "#GP", "#DF", "#GP", "triple fault"}));
    }

    // The first exception from the registers: a divide by a zero register, a divide whose
    // quotient overflows, and int n; an ordinary instruction gives no first exception, and
    // the autopsy says so rather than guess.
    void firstExceptionFromTheInstruction() {
        Guest g = protectedMode(0);
        g.put(kCode, {0xf7, 0xf1}); // div ecx
        g.state.regs.rcx = 0;
        QCOMPARE(chainOf(g.autopsy()).value(0), QStringLiteral("#DE"));
        g.state.regs.rcx = 1;
        g.state.regs.rdx = 1; // EDX:EAX / 1 does not fit in 32 bits
        QCOMPARE(chainOf(g.autopsy()).value(0), QStringLiteral("#DE"));
        g.state.regs.rdx = 0;
        QVERIFY(chainOf(g.autopsy()).value(0) != QStringLiteral("#DE"));

        g.put(kCode, {0xcd, 0x40}); // int 0x40: a software interrupt, EXT clear
        const TripleFaultAutopsy software = g.autopsy();
        QCOMPARE(chainOf(software).mid(0, 2), (QStringList{"INT 0x40", "#GP(0x202)"}));

        g.put(kCode, {0x90}); // nop
        const TripleFaultAutopsy unknown = g.autopsy();
        QVERIFY(report(unknown).contains("the first exception is unknown"));
        // #DF itself cannot be delivered: that much is still said, with the first unknown.
        QCOMPARE(chainOf(unknown), (QStringList{"?", "#DF", "triple fault"}));
        // What follows an unknown first exception is an assumption, whatever the state's source.
        QCOMPARE(unknown.steps.front().certainty, Certainty::Observed);
        QCOMPARE(unknown.steps.back().certainty, Certainty::Inferred);
        QVERIFY(QString::fromStdString(unknown.summary).contains("first exception unknown"));
    }

    // A store through an unmapped address: #PF with the write bit and CR2.
    void memoryOperandWalkedThroughThePageTables() {
        Guest g = longMode(0);
        g.put(kCode, {0x48, 0x89, 0x03}); // mov [rbx], rax
        g.state.regs.rbx = 0x80001000;
        g.state.sregs.idt.limit = 0;
        const TripleFaultAutopsy autopsy = g.autopsy();
        QCOMPARE(chainOf(autopsy).value(0), QStringLiteral("#PF(0x2) at 0x80001000"));
    }
};

QTEST_APPLESS_MAIN(TripleFaultAutopsyTest)
#include "TripleFaultAutopsyTest.moc"
