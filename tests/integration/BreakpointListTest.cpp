// The debug engine's breakpoint list against the debug-target guest
// (resources/guests/debug-target): breakpoints and exit breakpoints that are disabled (not hit,
// nothing left in guest memory or the debug registers) and enabled again (hit again, same id),
// a debug register given away while its breakpoint was disabled, and hit counts through the
// guest's add_step loop.
#include "DebugTargetMachine.h"
#include "common/Error.h"
#include "debug/Debugger.h"
#include "machine/Machine.h"

#include <algorithm>

using namespace kvmscope;
using namespace kvmscope::testing;

namespace {

constexpr int kTimeoutMs = DebugTargetMachine::kTimeoutMs;
constexpr uint64_t kCom1Thr = 0x3f8;
constexpr uint64_t kAddStepCalls = 8; // kernel_main: total = add_step(total, n), n = 1..8

} // namespace

class BreakpointListTest : public QObject, private DebugTargetMachine {
    Q_OBJECT
private:
    debug::Breakpoint breakpoint(int id) {
        for (const debug::Breakpoint& b : debugger().breakpoints())
            if (b.id == id)
                return b;
        qFatal("no breakpoint %d", id);
    }
    debug::ExitBreakpoint exitBreakpoint(int id) {
        for (const debug::ExitBreakpoint& b : debugger().exitBreakpoints())
            if (b.id == id)
                return b;
        qFatal("no exit breakpoint %d", id);
    }
    // The address right after kernel_main's one call to add_step (the loop's return site).
    uint64_t addStepReturnSite() {
        const auto code = debugger().guest().disassemble(0, symbol("kernel_main"), 200);
        std::vector<uint64_t> sites;
        for (const debug::Instruction& instruction : code)
            if (instruction.isCall && instruction.target == symbol("add_step"))
                sites.push_back(instruction.address + instruction.length);
        if (sites.size() != 1)
            qFatal("kernel_main calls add_step from %zu places, expected the loop's one",
                   sites.size());
        return sites.front();
    }
    void finishGuest() {
        debugger().continueAll();
        QVERIFY(machine().waitForStop(kTimeoutMs).has_value());
        QVERIFY2(sink().text().contains("total 36, counter 36"), sink().text().constData());
    }

private Q_SLOTS:
    void initTestCase() { KVMSCOPE_REQUIRE_KVM(); }

    void init() { boot(1); }

    void cleanup() { shutDown(); }

    void hitCountAfterNContinuesThroughTheLoopIsN() {
        const uint64_t addStep = symbol("add_step");
        const int id = debugger().addBreakpoint(addStep);
        QCOMPARE(breakpoint(id).hits, uint64_t(0));
        for (uint64_t n = 1; n <= kAddStepCalls; ++n) {
            debugger().continueAll();
            const debug::DebugStop stop = expectStop();
            QCOMPARE(stop.reason, debug::DebugStopReason::Breakpoint);
            QCOMPARE(stop.breakpointId, id);
            QCOMPARE(machine().vcpu(0).readState().regs.rsi, n); // add_step(total, n)
            // Counted before the stop was announced: waitForStop already sees it.
            QCOMPARE(breakpoint(id).hits, n);
        }
        // A step is no hit, and neither is a stop at another breakpoint.
        debugger().stepInstruction(0);
        QCOMPARE(debugger().lastStop()->reason, debug::DebugStopReason::Step);
        const int other = debugger().addBreakpoint(symbol("frame_outer"));
        debugger().continueAll();
        QCOMPARE(expectStop().breakpointId, other);
        QCOMPARE(breakpoint(id).hits, kAddStepCalls);
        QCOMPARE(breakpoint(other).hits, uint64_t(1));
        QVERIFY(debugger().removeBreakpoint(id));
        QVERIFY(debugger().removeBreakpoint(other));
        finishGuest();
    }

    void disabledBreakpointIsNotHitAndReenabledOneIs() {
        const uint64_t addStep = symbol("add_step");
        const uint64_t returnSite = addStepReturnSite();
        const int id = debugger().addBreakpoint(addStep);
        const debug::Breakpoint armed = breakpoint(id);
        debugger().continueAll();
        QCOMPARE(expectStop().breakpointId, id); // add_step(0, 1)

        // Disabled: still listed with its id, mechanism and hit, but nothing of it is armed.
        QVERIFY(debugger().setBreakpointEnabled(id, false));
        const debug::Breakpoint disabled = breakpoint(id);
        QVERIFY(!disabled.enabled);
        QCOMPARE(disabled.mechanism, armed.mechanism);
        QCOMPARE(disabled.hits, uint64_t(1));
        QCOMPARE(disabled.slot, -1); // a debug register, if it had one, is free again
        if (armed.mechanism == debug::BreakMechanism::Int3)
            QCOMPARE(machine().memory().readValue<uint8_t>(armed.physical), armed.originalByte);
        QVERIFY(!debugger().setBreakpointEnabled(id + 100, false)); // no such breakpoint

        // Two returns from add_step: the call for n = 2 in between passes the disabled one.
        const int back = debugger().addBreakpoint(returnSite);
        for (uint64_t total : {uint64_t(1), uint64_t(3)}) {
            debugger().continueAll();
            const debug::DebugStop stop = expectStop();
            QCOMPARE(stop.breakpointId, back);
            QCOMPARE(stop.pc, returnSite);
            QCOMPARE(machine().vcpu(0).readState().regs.rax, total); // add_step's result
        }
        QCOMPARE(breakpoint(id).hits, uint64_t(1));
        QCOMPARE(breakpoint(back).hits, uint64_t(2));

        // Enabled again: same id and mechanism, and the next call (n = 3) stops there.
        QVERIFY(debugger().setBreakpointEnabled(back, false));
        QVERIFY(debugger().setBreakpointEnabled(id, true));
        const debug::Breakpoint reenabled = breakpoint(id);
        QVERIFY(reenabled.enabled);
        QCOMPARE(reenabled.mechanism, armed.mechanism);
        if (armed.mechanism == debug::BreakMechanism::DebugRegister)
            QVERIFY(reenabled.slot >= 0);
        debugger().continueAll();
        const debug::DebugStop stop = expectStop();
        QCOMPARE(stop.reason, debug::DebugStopReason::Breakpoint);
        QCOMPARE(stop.breakpointId, id);
        QCOMPARE(stop.pc, addStep);
        QCOMPARE(machine().vcpu(0).readState().regs.rsi, uint64_t(3));
        QCOMPARE(breakpoint(id).hits, uint64_t(2));
        QCOMPARE(breakpoint(back).hits, uint64_t(2)); // disabled meanwhile: not hit

        // Everything disabled: the guest runs to its end, its code intact.
        QVERIFY(debugger().setBreakpointEnabled(id, false));
        finishGuest();
        QCOMPARE(debugger().breakpoints().size(), size_t(2));
    }

    void reenablingFailsWhenItsDebugRegisterWasTaken() {
        // Hardware breakpoints and watchpoints hold a debug register where the host fires them
        // (the guest is never run here). The fourth register goes to a watchpoint where data
        // watchpoints fire, else to one more hardware breakpoint.
        const debug::HostDebugSupport& host = debugger().hostSupport();
        if (!host.executionBreakpoints())
            QSKIP(qPrintable("debug registers are not used on this host: " +
                             QString::fromStdString(host.executionRing0.detail)));
        std::vector<int> ids;
        for (int i = 0; i < 3; ++i)
            ids.push_back(debugger().addHardwareBreakpoint(symbol("memcpy") + i));
        const bool watchpoints = host.writeWatch.works;
        const int watch = watchpoints
                              ? debugger().addWatchpoint(symbol("watched_counter"), 8, false)
                              : debugger().addHardwareBreakpoint(symbol("watched_counter"));
        const debug::Breakpoint held = breakpoint(watch);
        QVERIFY_THROWS_EXCEPTION(InputError, debugger().addHardwareBreakpoint(symbol("memcpy")));

        // Disabling frees the slot for another breakpoint ...
        QVERIFY(debugger().setBreakpointEnabled(watch, false));
        QCOMPARE(breakpoint(watch).slot, -1);
        const int taker = debugger().addHardwareBreakpoint(symbol("memcpy") + 8);
        QVERIFY(breakpoint(taker).slot >= 0);
        // ... so enabling the watchpoint again fails, with the reason, and leaves it disabled.
        try {
            debugger().setBreakpointEnabled(watch, true);
            QFAIL("enabled a watchpoint with DR0-DR3 taken");
        } catch (const InputError& error) {
            QVERIFY2(std::string(error.what()).find("no free debug register") != std::string::npos,
                     error.what());
        }
        QVERIFY(!breakpoint(watch).enabled);
        QCOMPARE(breakpoint(watch).kind, held.kind);
        QCOMPARE(breakpoint(watch).length, held.length);

        // Once a slot is free again it comes back as it was (a write watchpoint of 8 bytes).
        QVERIFY(debugger().removeBreakpoint(taker));
        QVERIFY(debugger().setBreakpointEnabled(watch, true));
        const debug::Breakpoint back = breakpoint(watch);
        QVERIFY(back.enabled);
        QVERIFY(back.slot >= 0);
        QCOMPARE(back.mechanism, debug::BreakMechanism::DebugRegister);
        QCOMPARE(back.address, symbol("watched_counter"));
        std::vector<int> slots;
        for (const debug::Breakpoint& b : debugger().breakpoints())
            slots.push_back(b.slot);
        std::sort(slots.begin(), slots.end());
        QCOMPARE(slots, (std::vector<int>{0, 1, 2, 3})); // no slot given twice
        // Enabling an enabled one changes nothing: it keeps its slot.
        const int slot = breakpoint(ids.front()).slot;
        QVERIFY(debugger().setBreakpointEnabled(ids.front(), true));
        QCOMPARE(breakpoint(ids.front()).slot, slot);
    }

    void disabledExitBreakpointLetsTheUartWriteThrough() {
        debug::ExitBreakpoint onT;
        onT.kind = debug::ExitBreakKind::PortWrite;
        onT.address = kCom1Thr;
        onT.value = 't';
        const int t = debugger().addExitBreakpoint(onT);
        debugger().continueAll();
        QCOMPARE(expectStop().breakpointId, t);
        QCOMPARE(sink().text(), QByteArray("debug-")); // before the first 't'
        QCOMPARE(exitBreakpoint(t).hits, uint64_t(1));

        // Disabled, it lets every 't' through until the first 'c' ("counter").
        QVERIFY(debugger().setExitBreakpointEnabled(t, false));
        QVERIFY(!exitBreakpoint(t).enabled);
        debug::ExitBreakpoint onC = onT;
        onC.value = 'c';
        const int c = debugger().addExitBreakpoint(onC);
        debugger().continueAll();
        const debug::DebugStop atC = expectStop();
        QCOMPARE(atC.breakpointId, c);
        QCOMPARE(sink().text(), QByteArray("debug-target\r\ntotal 36, "));
        QCOMPARE(exitBreakpoint(t).hits, uint64_t(1));
        QCOMPARE(exitBreakpoint(c).hits, uint64_t(1));

        // Enabled again: it stops at the next 't', in "counter".
        QVERIFY(debugger().setExitBreakpointEnabled(t, true));
        debugger().continueAll();
        QCOMPARE(expectStop().breakpointId, t);
        QCOMPARE(sink().text(), QByteArray("debug-target\r\ntotal 36, coun"));
        QCOMPARE(exitBreakpoint(t).hits, uint64_t(2));

        // All disabled: the rest reaches the UART, each character once.
        QVERIFY(debugger().setExitBreakpointEnabled(t, false));
        QVERIFY(debugger().setExitBreakpointEnabled(c, false));
        QVERIFY(!debugger().setExitBreakpointEnabled(c + 100, false));
        finishGuest();
        QVERIFY2(sink().text().startsWith("debug-target\r\ntotal 36, counter 36"),
                 sink().text().constData());
        QCOMPARE(exitBreakpoint(t).hits, uint64_t(2));
        QCOMPARE(exitBreakpoint(c).hits, uint64_t(1));
    }
};

QTEST_MAIN(BreakpointListTest)
#include "BreakpointListTest.moc"
