// The CPU tables of a real guest, read at a stop, against what the guest loaded: the longmode
// demo (resources/guests/longmode/ring0.c) builds a GDT with ring-0 and ring-3 segments and a
// 64-bit TSS, and an IDT whose 32 exception vectors go to start.S's stubs (vector 6 to
// ring3_return_entry: #UD is ring 3's way back). Stopped at its power-off, kvmscope's decoding must
// give back exactly those: the selectors' kinds and privileges, the TSS's base (the guest's `tss`),
// its RSP0 (the top of `interrupt_stack`), and each gate's handler (exception_stub_N). An edit of a
// gate writes the guest's IDT.
#include "CollectingSink.h"
#include "KvmTestSupport.h"
#include "debug/Debugger.h"
#include "debug/ExitBreakpoints.h"
#include "debug/GuestInspector.h"
#include "debug/SymbolTable.h"
#include "inspect/DescriptorTables.h"
#include "inspect/GuestView.h"
#include "inspect/VcpuSnapshot.h"
#include "kvm/System.h"
#include "machine/Machine.h"
#include "machine/PcPlatform.h"

using namespace kvmscope;
using namespace kvmscope::testing;

namespace {

constexpr int kTimeoutMs = 60000;
// resources/guests/longmode/longmode.h
constexpr uint16_t kKernelCode = 0x08, kKernelData = 0x10, kUserData = 0x18, kUserCode = 0x20;
constexpr uint16_t kTss = 0x28;
constexpr unsigned kExceptionVectors = 32;
constexpr unsigned kUndefinedOpcode = 6;
constexpr uint64_t kInterruptStack = 8192; // ring0.c: interrupt_stack

} // namespace

class CpuTablesTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { KVMSCOPE_REQUIRE_KVM(); }

    void tablesOfTheLongModeGuestAreWhatItLoaded() {
        const debug::SymbolTable symbols =
            debug::SymbolTable::fromElfFile(guestPath("longmode").toStdString());
        auto address = [&](const char* name) {
            const auto at = symbols.addressOf(name);
            if (!at)
                qFatal("longmode has no symbol %s", name);
            return *at;
        };
        kvm::System system;
        CollectingSink sink;
        MachineConfig config;
        config.memorySize = 64ull << 20;
        config.boot.imagePath = guestPath("longmode").toStdString();
        Machine machine(config, system, sink);
        machine.boot();
        machine.debugger().guest().setSymbols(symbols);
        // Stopped at the guest's power-off write (PM1a_CNT): an exit breakpoint works on every
        // host, and by then the guest has loaded its tables and its own page tables.
        debug::ExitBreakpoint powerOff;
        powerOff.kind = debug::ExitBreakKind::PortWrite;
        powerOff.address = pc::kPm1aControlPort;
        powerOff.length = 2;
        machine.debugger().addExitBreakpoint(powerOff);
        machine.debugger().continueAll();
        const auto stop = machine.debugger().waitForStop(kTimeoutMs);
        QVERIFY2(stop, sink.text().constData());
        QCOMPARE(stop->reason, debug::DebugStopReason::ExitBreakpoint);
        QVERIFY(machine.waitUntilPaused(kTimeoutMs));
        const inspect::VcpuSnapshot at = inspect::captureVcpuSnapshot(machine.vcpu(0), {}, 10000);
        const inspect::GuestView guest = inspect::guestViewOf(machine);
        QCOMPARE(int(inspect::tableModeOf(at.cpu.sregs)), int(inspect::TableMode::Long));

        const auto gdt = inspect::readGdt(guest, at);
        // 7 entries: null, 4 segments, and the TSS's 16 bytes (one row).
        QCOMPARE(gdt.size(), size_t{6});
        QCOMPARE(QString::fromStdString(gdt[0].kind), QStringLiteral("null"));
        auto bySelector = [&](uint16_t selector) -> const inspect::SegmentDescriptor& {
            for (const auto& entry : gdt)
                if (entry.selector == selector)
                    return entry;
            qFatal("no GDT entry %#x", selector);
        };
        const auto& kernelCode = bySelector(kKernelCode);
        QCOMPARE(QString::fromStdString(kernelCode.kind), QStringLiteral("code"));
        QVERIFY(kernelCode.longCode && kernelCode.present);
        QCOMPARE(kernelCode.dpl, uint8_t{0});
        QCOMPARE(QString::fromStdString(bySelector(kKernelData).kind), QStringLiteral("data"));
        QCOMPARE(bySelector(kUserData).dpl, uint8_t{3});
        QVERIFY(bySelector(kUserCode).longCode);
        QCOMPARE(bySelector(kUserCode).dpl, uint8_t{3});
        const auto& tssEntry = bySelector(kTss);
        QVERIFY(QString::fromStdString(tssEntry.kind).startsWith("64-bit TSS"));
        QCOMPARE(tssEntry.base, address("tss"));
        QCOMPARE(tssEntry.size, 16u);

        const inspect::TaskState tss = inspect::readTaskState(guest, at);
        QVERIFY(tss.present && tss.readable);
        QCOMPARE(tss.selector, kTss);
        QCOMPARE(tss.base, address("tss"));
        QCOMPARE(tss.fields.at(0).name, std::string("RSP0"));
        QCOMPARE(tss.fields.at(0).value, address("interrupt_stack") + kInterruptStack);

        const auto idt = inspect::readIdt(guest, at);
        QCOMPARE(idt.size(), size_t{256});
        for (unsigned vector = 0; vector < kExceptionVectors; ++vector) {
            const auto& gate = idt[vector];
            QVERIFY2(gate.present, qPrintable(QString::number(vector)));
            QCOMPARE(QString::fromStdString(gate.kind), QStringLiteral("64-bit interrupt gate"));
            QCOMPARE(gate.selector, kKernelCode);
            QVERIFY(gate.targetKnown);
            const std::string handler = vector == kUndefinedOpcode
                                            ? std::string("ring3_return_entry")
                                            : "exception_stub_" + std::to_string(vector);
            QCOMPARE(gate.target, address(handler.c_str()));
        }
        QVERIFY(!idt[kExceptionVectors].present);

        // Writing a gate's raw bytes (as the CPU tables view does) changes the guest's IDT.
        std::array<uint8_t, 16> raw = idt[3].raw;
        raw[5] = static_cast<uint8_t>(raw[5] | 0x60); // DPL 3: int3 from ring 3 allowed
        QCOMPARE(machine.debugger().guest().writeLinear(0, idt[3].linear, raw.data(), raw.size()),
                 raw.size());
        const auto edited = inspect::readIdt(guest, at);
        QCOMPARE(edited[3].dpl, uint8_t{3});
        QCOMPARE(edited[3].target, idt[3].target);
    }
};

QTEST_GUILESS_MAIN(CpuTablesTest)
#include "CpuTablesTest.moc"
