// The debug engine against the debug-target guest (resources/guests/debug-target): breakpoints at
// functions found through the guest's ELF symbols, all-stop across vcpus, single steps checked
// against the disassembler, step over a call, run-to, watchpoints, exit breakpoints, and
// kvmscope's page walker checked against KVM_TRANSLATE on 4 KiB, 2 MiB and 1 GiB pages.
#include "debug/Debugger.h"

#include "DebugTargetMachine.h"
#include "common/Error.h"
#include "common/Signal.h"
#include "machine/Machine.h"

#include <QElapsedTimer>
#include <functional>

using namespace kvmscope;
using namespace kvmscope::testing;

namespace {

constexpr int kTimeoutMs = DebugTargetMachine::kTimeoutMs;
constexpr uint64_t kCom1Thr = 0x3f8;
// The guest's mappings (debug-target.c): [0, 2 MiB) in 4 KiB pages, [2 MiB, 1 GiB) in 2 MiB
// pages, an alias GiB at 1 GiB, a read-only 4 KiB alias of watched_counter's page at 2 GiB.
constexpr uint64_t kAliasGib = 1ull << 30;
constexpr uint64_t kAliasPage = 2ull << 30;
constexpr uint64_t kUnmapped = 3ull << 30;

} // namespace

class DebuggerTest : public QObject, private DebugTargetMachine {
    Q_OBJECT
private:
    cpu::CpuState state(uint32_t vcpu = 0) { return machine().vcpu(vcpu).readState(); }

    // Makes the next software breakpoint use stepping with an address check: DR0-DR3 taken by
    // breakpoints the guest never reaches, where debug registers fire at all. False (the test
    // skipped, saying why) where int3 serves software breakpoints or stepping does not work.
    bool nextSoftwareBreakpointSteps() {
        const debug::HostDebugSupport& host = debugger().hostSupport();
        if (host.int3()) {
            QTest::qSkip("this host delivers int3: software breakpoints never need stepping",
                         __FILE__, __LINE__);
            return false;
        }
        if (!host.stepping()) {
            QTest::qSkip(qPrintable("single-stepping does not work on this host: " +
                                    QString::fromStdString(host.stepRing0.detail)),
                         __FILE__, __LINE__);
            return false;
        }
        if (host.executionBreakpoints())
            for (int i = 0; i < 4; ++i)
                debugger().addHardwareBreakpoint(symbol("memcpy") + i);
        return true;
    }

private Q_SLOTS:
    void initTestCase() { KVMSCOPE_REQUIRE_KVM(); }

    void init() { boot(2); } // two vcpus: all-stop, the second never started

    void cleanup() { shutDown(); }

    void symbolsComeFromTheGuestElf() {
        const uint64_t addStep = symbol("add_step");
        QCOMPARE(symbols().describe(addStep), std::string("add_step"));
        QCOMPARE(symbols().describe(addStep + 4), std::string("add_step+0x4"));
        QVERIFY(symbols().containing(addStep)->function);
    }

    void breakAtFunctionStopsAllVcpusWithItsArguments() {
        const uint64_t addStep = symbol("add_step");
        const int id = debugger().addBreakpoint(addStep);
        std::atomic<int> stopsSeen{0};
        const Connection counting =
            debugger().stopped.connect([&stopsSeen](const debug::DebugStop&) { ++stopsSeen; });
        for (uint64_t n = 1; n <= 2; ++n) {
            debugger().continueAll();
            const debug::DebugStop stop = expectStop();
            QCOMPARE(stop.reason, debug::DebugStopReason::Breakpoint);
            QCOMPARE(stop.breakpointId, id);
            QCOMPARE(stop.vcpu, 0u);
            QCOMPARE(stop.pc, addStep);
            QVERIFY(machine().waitUntilPaused(kTimeoutMs)); // all-stop: every vcpu parks
            const cpu::CpuState boot = state(0);
            QCOMPARE(boot.regs.rip, addStep);
            QCOMPARE(boot.regs.rdi, (n - 1) * n / 2); // add_step(total so far, n)
            QCOMPARE(boot.regs.rsi, n);
            // The other vcpu is parked and readable too: it never left its wait for INIT-SIPI.
            QCOMPARE(machine().vcpu(1).state(), cpu::RunState::Paused);
            QCOMPARE(state(1).mpState.mp_state, uint32_t{KVM_MP_STATE_UNINITIALIZED});
        }
        QTRY_COMPARE_WITH_TIMEOUT(stopsSeen.load(), 2, kTimeoutMs); // every stop was announced
        // Continuing without the breakpoint runs the guest to its end: it saw every call once.
        QVERIFY(debugger().removeBreakpoint(id));
        debugger().continueAll();
        const auto end = machine().waitForStop(kTimeoutMs);
        QVERIFY(end.has_value());
        QVERIFY2(sink().text().contains("total 36, counter 36"), sink().text().constData());
    }

    void softwareBreakpointUsesWhatTheHostSupports() {
        const debug::HostDebugSupport& host = debugger().hostSupport();
        const debug::MechanismChoice expected =
            debug::chooseMechanism(debug::BreakpointKind::Software, false, host, 4);
        if (!expected.mechanism) {
            QVERIFY_THROWS_EXCEPTION(InputError, debugger().addBreakpoint(symbol("paging_ready")));
            QVERIFY(debugger().breakpoints().empty()); // refused: never listed as armed
            QSKIP(qPrintable("no mechanism stops the guest on this host: " +
                             QString::fromStdString(expected.note)));
        }
        const int id = debugger().addBreakpoint(symbol("paging_ready"));
        const debug::Breakpoint breakpoint = debugger().breakpoints().front();
        QCOMPARE(breakpoint.id, id);
        // The best mechanism the probe saw work: int3, else a debug register, else stepping.
        QCOMPARE(breakpoint.mechanism, *expected.mechanism);
        QVERIFY(breakpoint.describe().find(debug::toString(breakpoint.mechanism)) !=
                std::string::npos);
        // The next level down: with DR0-DR3 taken, a software breakpoint steps and compares,
        // and a hardware breakpoint is refused.
        if (breakpoint.mechanism == debug::BreakMechanism::DebugRegister) {
            for (int i = 0; i < 3; ++i)
                debugger().addHardwareBreakpoint(symbol("kernel_main") + 0x100 + i);
            if (host.stepping()) {
                debugger().addBreakpoint(symbol("add_step"));
                QCOMPARE(debugger().breakpoints().back().mechanism,
                         debug::BreakMechanism::SteppingCheck);
            }
            QVERIFY_THROWS_EXCEPTION(InputError,
                                     debugger().addHardwareBreakpoint(symbol("kernel_main")));
            for (const auto& b : debugger().breakpoints())
                if (b.id != id)
                    debugger().removeBreakpoint(b.id);
        }
        debugger().continueAll();
        const debug::DebugStop stop = expectStop();
        QCOMPARE(stop.reason, debug::DebugStopReason::Breakpoint);
        QCOMPARE(stop.pc, symbol("paging_ready"));
        // What the debugger reads at the breakpoint is the guest's own code, never the 0xCC.
        uint8_t first = 0;
        QCOMPARE(debugger().guest().readLinear(0, stop.pc, &first, 1), size_t{1});
        QVERIFY(first != 0xCC);
        const uint8_t inMemory = machine().memory().readValue<uint8_t>(stop.pc);
        if (breakpoint.mechanism == debug::BreakMechanism::Int3) {
            QCOMPARE(inMemory, uint8_t{0xCC});
            QCOMPARE(first, breakpoint.originalByte);
        } else {
            QCOMPARE(first, inMemory); // nothing was patched
        }
    }

    void everyExecutionBreakpointStopsTheGuestOrIsRefused() {
        // On any host: a breakpoint the engine accepts stops the guest where it was set, and one
        // it cannot serve is refused and not listed. Never armed and silent.
        struct Case {
            const char* what;
            std::function<int()> add;
        };
        const uint64_t addStep = symbol("add_step");
        const Case cases[] = {
            {"breakpoint", [&] { return debugger().addBreakpoint(addStep); }},
            {"hardware breakpoint", [&] { return debugger().addHardwareBreakpoint(addStep); }},
        };
        for (const Case& c : cases) {
            cleanup();
            init();
            int id = 0;
            try {
                id = c.add();
            } catch (const InputError& error) {
                QVERIFY(debugger().breakpoints().empty());
                qInfo("%s refused on this host: %s", c.what, error.what());
                continue;
            }
            const debug::Breakpoint armed = debugger().breakpoints().front();
            QElapsedTimer timer;
            timer.start();
            debugger().continueAll();
            const debug::DebugStop stop = expectStop();
            qInfo("%s: stopped after %lld ms", armed.describe().c_str(),
                  static_cast<long long>(timer.elapsed()));
            QVERIFY2(stop.reason == debug::DebugStopReason::Breakpoint, stop.description.c_str());
            QCOMPARE(stop.breakpointId, id);
            QCOMPARE(stop.pc, addStep);
            QCOMPARE(state().regs.rip, addStep);
            QVERIFY(stop.description.find(debug::toString(armed.mechanism)) != std::string::npos);
        }
        // A temporary one (run to): the same chain without int3.
        cleanup();
        init();
        try {
            debugger().runTo(addStep);
        } catch (const InputError& error) {
            QVERIFY(debugger().breakpoints().empty());
            qInfo("run-to refused on this host: %s", error.what());
            return;
        }
        QCOMPARE(expectStop().pc, addStep);
        QVERIFY(debugger().breakpoints().empty()); // dropped at the stop
    }

    void steppingToAnAddressWhenNoDebugRegisterIsFree() {
        // Fill DR0-DR3 with breakpoints the guest never reaches, so the next software
        // breakpoint (where int3 cannot be used) falls back to stepping with an address check.
        // Where debug registers never fire, software breakpoints step from the start.
        if (!nextSoftwareBreakpointSteps())
            return;
        debugger().runTo(symbol("kernel_main"));
        const debug::DebugStop atMain = expectStop();
        QCOMPARE(atMain.pc, symbol("kernel_main"));
        const int id = debugger().addBreakpoint(symbol("paging_ready"));
        QCOMPARE(debugger().breakpoints().back().mechanism, debug::BreakMechanism::SteppingCheck);
        debugger().continueAll();
        const debug::DebugStop stop = expectStop();
        QCOMPARE(stop.reason, debug::DebugStopReason::Breakpoint);
        QCOMPARE(stop.breakpointId, id);
        QCOMPARE(stop.pc, symbol("paging_ready"));
        QCOMPARE(state(0).regs.rip, symbol("paging_ready"));
    }

    void stepsFollowTheDisassemblersLengths() {
        debugger().runTo(symbol("kernel_main"));
        QCOMPARE(expectStop().pc, symbol("kernel_main"));
        // 40 steps through kernel_main into console_puts and console_putc (calls, a port read
        // loop, conditional branches): each step lands where the decoded instruction says.
        for (int i = 0; i < 40; ++i) {
            const cpu::CpuState before = state();
            const uint64_t pc = before.regs.rip;
            const auto code = debugger().guest().disassemble(0, pc, 1);
            QVERIFY2(!code.empty(), qPrintable(QString::number(pc, 16)));
            const debug::Instruction& instruction = code.front();
            debugger().stepInstruction(0);
            const debug::DebugStop stop = *debugger().lastStop();
            QCOMPARE(stop.reason, debug::DebugStopReason::Step);
            const uint64_t after = state().regs.rip;
            QCOMPARE(stop.pc, after);
            const uint64_t next = pc + instruction.length;
            if (instruction.text.starts_with("ret")) {
                QCOMPARE(after, machine().memory().readValue<uint64_t>(before.regs.rsp));
            } else if (instruction.target) {
                QVERIFY2(after == next || after == *instruction.target,
                         qPrintable(QString::fromStdString(instruction.text)));
                if (instruction.isCall || instruction.text.starts_with("jmp"))
                    QCOMPARE(after, *instruction.target);
            } else {
                QVERIFY2(after == next,
                         qPrintable(QStringLiteral("%1 at %2: %3, expected %4")
                                        .arg(QString::fromStdString(instruction.text))
                                        .arg(pc, 0, 16)
                                        .arg(after, 0, 16)
                                        .arg(next, 0, 16)));
            }
        }
    }

    void manyStepsAtOnceMatchOneAtATime() {
        // The same 60 instructions from kernel_main (calls, the UART's polling loop, branches):
        // stepped one request each, then in a fresh machine as one request of 60 run on the
        // vcpu thread. The guest is deterministic, so the two address lists must be equal.
        debugger().runTo(symbol("kernel_main"));
        QCOMPARE(expectStop().pc, symbol("kernel_main"));
        std::vector<uint64_t> oneByOne;
        for (int i = 0; i < 60; ++i) {
            debugger().stepInstruction(0);
            oneByOne.push_back(debugger().lastStop()->pc);
        }
        cleanup();
        init();
        debugger().runTo(symbol("kernel_main"));
        QCOMPARE(expectStop().pc, symbol("kernel_main"));
        std::vector<uint64_t> atOnce;
        QCOMPARE(debugger().stepInstructions(0, 60, kTimeoutMs, &atOnce), uint64_t{60});
        QCOMPARE(atOnce, oneByOne);
        const debug::DebugStop stop = *debugger().lastStop();
        QCOMPARE(stop.reason, debug::DebugStopReason::Step);
        QCOMPARE(stop.pc, oneByOne.back());
        QCOMPARE(state().regs.rip, oneByOne.back());
        QVERIFY(stop.description.find("stepped 60 instructions") != std::string::npos);
    }

    void manyStepsEndAtABreakpointOnTheWay() {
        debugger().runTo(symbol("kernel_main"));
        QCOMPARE(expectStop().pc, symbol("kernel_main"));
        // add_step is called after kernel_main has printed its banner and set up paging.
        const int id = debugger().addHardwareBreakpoint(symbol("add_step"));
        QElapsedTimer timer;
        timer.start();
        const uint64_t done = debugger().stepInstructions(0, 100000, kTimeoutMs);
        QVERIFY2(done > 0 && done < 100000, qPrintable(QString::number(done)));
        qInfo("kernel_main to add_step: %llu steps in %lld ms",
              static_cast<unsigned long long>(done), static_cast<long long>(timer.elapsed()));
        const debug::DebugStop stop = *debugger().lastStop();
        QVERIFY2(stop.reason == debug::DebugStopReason::Breakpoint,
                 qPrintable(QString::fromStdString(stop.description)));
        QCOMPARE(stop.breakpointId, id);
        QCOMPARE(stop.pc, symbol("add_step"));
        QCOMPARE(state().regs.rip, symbol("add_step"));
        // Stepping on from the breakpoint leaves it first (an instruction breakpoint is a fault).
        QCOMPARE(debugger().stepInstructions(0, 3, kTimeoutMs), uint64_t{3});
        QCOMPARE(debugger().lastStop()->reason, debug::DebugStopReason::Step);
    }

    void manyStepsEndAtASteppingCheckBreakpoint() {
        if (!nextSoftwareBreakpointSteps())
            return;
        debugger().runTo(symbol("kernel_main"));
        QCOMPARE(expectStop().pc, symbol("kernel_main"));
        const int id = debugger().addBreakpoint(symbol("add_step"));
        QCOMPARE(debugger().breakpoints().back().mechanism, debug::BreakMechanism::SteppingCheck);
        const uint64_t done = debugger().stepInstructions(0, 100000, kTimeoutMs);
        QVERIFY(done > 0 && done < 100000);
        const debug::DebugStop stop = *debugger().lastStop();
        QCOMPARE(stop.reason, debug::DebugStopReason::Breakpoint);
        QCOMPARE(stop.breakpointId, id);
        QCOMPARE(state().regs.rip, symbol("add_step"));
    }

    void rangeStepRunsUntilThePcLeavesTheRange() {
        debugger().runTo(symbol("kernel_main"));
        QCOMPARE(expectStop().pc, symbol("kernel_main"));
        // The range ends after kernel_main's first call (console_puts): stepping through it stops
        // at the callee's first instruction, as gdb's range stepping over a line would.
        uint64_t pc = symbol("kernel_main");
        std::optional<debug::Instruction> call;
        for (int i = 0; i < 20 && !call; ++i) {
            const auto code = debugger().guest().disassemble(0, pc, 1);
            QVERIFY(!code.empty());
            if (code.front().isCall)
                call = code.front();
            pc += code.front().length;
        }
        QVERIFY(call);
        QCOMPARE(*call->target, symbol("console_puts"));
        debugger().stepRange(0, symbol("kernel_main"), call->address + call->length);
        const debug::DebugStop stop = expectStop();
        QCOMPARE(stop.reason, debug::DebugStopReason::Step);
        QCOMPARE(stop.pc, symbol("console_puts"));
        QCOMPARE(state().regs.rip, symbol("console_puts"));
        QVERIFY(sink().text().isEmpty()); // stopped before the callee printed anything
    }

    void pauseEndsARangeStepThatDoesNotEnd() {
        debugger().runTo(symbol("kernel_main"));
        QCOMPARE(expectStop().pc, symbol("kernel_main"));
        debugger().stepRange(0, 0, ~0ull); // the whole address space: it would step forever
        QTest::qWait(300);
        machine().pause();
        QVERIFY(machine().waitUntilPaused(kTimeoutMs));
        QVERIFY(machine().vcpu(0).stepsDone() > 10);
        QVERIFY(!debugger().waitForStop(0)); // a pause is not a stop of the debugger's
        QCOMPARE(debugger().stepInstructions(0, 1), uint64_t{1}); // and stepping goes on
    }

    void stepOverACallRunsTheCallee() {
        debugger().runTo(symbol("kernel_main"));
        QCOMPARE(expectStop().pc, symbol("kernel_main"));
        // Step until the first call (console_puts("debug-target\n")), then over it.
        for (int i = 0; i < 10; ++i) {
            const auto code = debugger().guest().disassemble(0, state().regs.rip, 1);
            QVERIFY(!code.empty());
            if (code.front().isCall) {
                QCOMPARE(*code.front().target, symbol("console_puts"));
                QVERIFY(code.front().text.find("<console_puts>") != std::string::npos);
                const uint64_t returnAddress = code.front().address + code.front().length;
                QVERIFY(sink().text().isEmpty());
                debugger().stepOver(0);
                const debug::DebugStop stop = expectStop();
                QCOMPARE(stop.pc, returnAddress);
                QCOMPARE(state().regs.rip, returnAddress);
                QCOMPARE(sink().text(), QByteArray("debug-target\r\n"));
                QVERIFY(debugger().breakpoints().empty()); // the temporary breakpoint is gone
                return;
            }
            debugger().stepOver(0);
        }
        QFAIL("no call in kernel_main's first 10 instructions");
    }

    void disassemblyAroundThePc() {
        // add_step: mov rax, [rip+...] (7 bytes); add rax, rsi (3); mov [rip+...], rax (7) ...
        debugger().runTo(symbol("add_step") + 0xa); // its third instruction
        QCOMPARE(expectStop().pc, symbol("add_step") + 0xa);
        const auto code = debugger().guest().disassembleAroundPc(0, 2, 2);
        QCOMPARE(code.size(), size_t{5});
        QCOMPARE(code[0].address, symbol("add_step"));
        QCOMPARE(code[0].symbol, std::string("add_step"));
        QCOMPARE(code[1].address, symbol("add_step") + 7);
        QCOMPARE(code[2].address, symbol("add_step") + 0xa);
        QCOMPARE(code[2].symbol, std::string("add_step+0xa"));
        QCOMPARE(code[3].address, code[2].address + code[2].length);
    }

    void watchpointIsRefusedWhereTheHostCannotFireIt() {
        const debug::HostDebugSupport& host = debugger().hostSupport();
        const uint64_t counter = symbol("watched_counter");
        for (const bool readWrite : {false, true}) {
            const debug::ProbeFinding& finding = readWrite ? host.readWriteWatch : host.writeWatch;
            if (finding.works)
                continue;
            try {
                debugger().addWatchpoint(counter, 8, readWrite);
                QFAIL("a watchpoint the host never fires was armed");
            } catch (const InputError& error) {
                // The refusal names what the probe saw.
                QVERIFY2(std::string(error.what()).find(finding.detail) != std::string::npos,
                         error.what());
            }
            QVERIFY(debugger().breakpoints().empty());
        }
        if (host.writeWatch.works && host.readWriteWatch.works)
            QSKIP("data watchpoints fire on this host: none is refused");
    }

    void watchpointStopsOnAWriteToTheVariable() {
        const auto& host = debugger().hostSupport();
        if (!host.writeWatch.works)
            QSKIP(qPrintable("data watchpoints do not fire on this host: " +
                             QString::fromStdString(host.writeWatch.detail)));
        const uint64_t counter = symbol("watched_counter");
        const int id = debugger().addWatchpoint(counter, 8, false);
        debugger().continueAll();
        const debug::DebugStop stop = expectStop();
        QCOMPARE(stop.reason, debug::DebugStopReason::Watchpoint);
        QCOMPARE(stop.breakpointId, id);
        QCOMPARE(stop.dataAddress, counter);
        // A data breakpoint is a trap: the store is done, the pc is inside add_step after it.
        QCOMPARE(symbols().containing(stop.pc)->name, std::string("add_step"));
        QCOMPARE(machine().memory().readValue<uint64_t>(counter), uint64_t{1});
    }

    void exitBreakpointOnThrStopsBeforeTheFirstCharacter() {
        debug::ExitBreakpoint breakpoint;
        breakpoint.kind = debug::ExitBreakKind::PortWrite;
        breakpoint.address = kCom1Thr;
        const int id = debugger().addExitBreakpoint(breakpoint);
        debugger().continueAll();
        const debug::DebugStop stop = expectStop();
        QCOMPARE(stop.reason, debug::DebugStopReason::ExitBreakpoint);
        QCOMPARE(stop.breakpointId, id);
        QCOMPARE(stop.dataAddress, kCom1Thr);
        QCOMPARE(stop.value, uint64_t{'d'});
        QVERIFY(machine().waitUntilPaused(kTimeoutMs));
        QVERIFY(sink().text().isEmpty()); // the UART has not seen the write
        // The vcpu stopped at its `out dx, al` (EE). Until the next KVM_RUN completes the access
        // KVM may show RIP at the instruction or already past it (an emulating host does).
        const uint64_t rip = state().regs.rip;
        QVERIFY(machine().memory().readValue<uint8_t>(rip) == 0xEE ||
                machine().memory().readValue<uint8_t>(rip - 1) == 0xEE);
        // Continuing performs the access once: no character lost, none doubled.
        QVERIFY(debugger().removeExitBreakpoint(id));
        debugger().continueAll();
        QVERIFY(machine().waitForStop(kTimeoutMs).has_value());
        QVERIFY2(sink().text().startsWith("debug-target\r\ntotal 36"), sink().text().constData());
    }

    void exitBreakpointOnAPortWriteWithAValue() {
        debug::ExitBreakpoint breakpoint;
        breakpoint.kind = debug::ExitBreakKind::PortWrite;
        breakpoint.address = kCom1Thr;
        breakpoint.value = 'g';
        debugger().addExitBreakpoint(breakpoint);
        debugger().continueAll();
        const debug::DebugStop stop = expectStop();
        QCOMPARE(stop.value, uint64_t{'g'});
        QCOMPARE(sink().text(), QByteArray("debu")); // stopped before the 'g' reached the UART
        debugger().continueAll();
        const debug::DebugStop second = expectStop(); // the 'g' of "target"
        QCOMPARE(second.value, uint64_t{'g'});
        QCOMPARE(sink().text(), QByteArray("debug-tar"));
    }

    void pageWalkerMatchesKvmTranslate() {
        debugger().runTo(symbol("paging_ready"));
        QCOMPARE(expectStop().pc, symbol("paging_ready"));
        const uint64_t counter = symbol("watched_counter");
        struct Case {
            uint64_t linear;
            uint64_t pageSize; // 0: not mapped
        };
        const Case cases[] = {
            {symbol("add_step") + 3, 4ull << 10},         // kernel code, 4 KiB page
            {counter, 4ull << 10},                        // data, 4 KiB page
            {0x00600123, 2ull << 20},                     // 2 MiB page
            {0x3fe00010, 2ull << 20},                     // last 2 MiB page of the first GiB
            {kAliasPage + (counter & 0xfff), 4ull << 10}, // 4 KiB alias, read-only
            {kUnmapped + 0x1234, 0},
        };
        for (const Case& c : cases) {
            const debug::Translation walk = debugger().guest().translate(0, c.linear);
            const kvm_translation kvm =
                machine().vcpu(0).call([&](kvm::Vcpu& vcpu) { return vcpu.translate(c.linear); });
            const QByteArray what = QStringLiteral("linear %1").arg(c.linear, 0, 16).toUtf8();
            QVERIFY2(walk.valid == (kvm.valid != 0), what.constData());
            QVERIFY2(walk.valid == (c.pageSize != 0), what.constData());
            if (!walk.valid) {
                QVERIFY(!walk.fault.empty());
                continue;
            }
            QVERIFY2(walk.physical == kvm.physical_address, what.constData());
            // KVM_TRANSLATE's writeable/usermode are constants on x86 (1 and 0 whatever the
            // tables say: arch/x86/kvm/x86.c), so the permissions are checked against the
            // guest's tables instead: everything is writable except the alias page, nothing
            // is user-accessible.
            QVERIFY2(walk.writable == (c.linear < kAliasPage), what.constData());
            QVERIFY2(!walk.user, what.constData());
            QCOMPARE(walk.pageSize, c.pageSize);
            QCOMPARE(walk.mode, debug::PagingMode::Level4);
            QCOMPARE(walk.steps.size(), c.pageSize == (4ull << 10) ? size_t{4} : size_t{3});
        }
        // The alias page maps watched_counter's page read-only; reading through it is reading
        // the variable.
        const debug::Translation alias = debugger().guest().translate(0, kAliasPage);
        QVERIFY(!alias.writable);
        QCOMPARE(alias.physical, counter & ~0xfffull);
        machine().memory().writeValue<uint64_t>(counter, 0x1122334455667788ull);
        uint64_t viaAlias = 0;
        QCOMPARE(debugger().guest().readLinear(0, kAliasPage + (counter & 0xfff), &viaAlias, 8), size_t{8});
        QCOMPARE(viaAlias, 0x1122334455667788ull);
    }

    void pageWalkerMatchesKvmTranslateOnAGibPage() {
        debugger().runTo(symbol("paging_ready"));
        QCOMPARE(expectStop().pc, symbol("paging_ready"));
        if (machine().memory().readValue<uint32_t>(symbol("guest_has_1gib_pages")) == 0)
            QSKIP("the guest's CPUID.80000001H:EDX.Page1GB is 0: this host offers no 1 GiB pages, "
                  "so the guest mapped its alias GiB with 2 MiB pages");
        const uint64_t linear = kAliasGib + 0x1234567;
        const debug::Translation walk = debugger().guest().translate(0, linear);
        const kvm_translation kvm =
            machine().vcpu(0).call([&](kvm::Vcpu& vcpu) { return vcpu.translate(linear); });
        QVERIFY(walk.valid && kvm.valid);
        QCOMPARE(walk.pageSize, 1ull << 30);
        QCOMPARE(walk.physical, kvm.physical_address);
        QCOMPARE(walk.physical, uint64_t{0x1234567});
        QVERIFY(!walk.executable);
    }
};

QTEST_GUILESS_MAIN(DebuggerTest)
#include "DebuggerTest.moc"
