// Exit breakpoints that are disabled and re-enabled, and their hit counts, on hand-made kvm_run
// exits without /dev/kvm: a disabled one never matches, and armed() (the one relaxed load the
// exit path pays) is false when every breakpoint is disabled.
#include "debug/ExitBreakpoints.h"

#include <QTest>
#include <memory>

using namespace kvmscope::debug;

namespace {

// A kvm_run with room after it for the I/O data, as the kernel's shared page has.
struct RunPage {
    alignas(kvm_run) uint8_t bytes[4096] = {};
    kvm_run& run() { return *reinterpret_cast<kvm_run*>(bytes); }
};

void portWrite(RunPage& page, uint16_t port, uint8_t value) {
    kvm_run& run = page.run();
    run.exit_reason = KVM_EXIT_IO;
    run.io.direction = KVM_EXIT_IO_OUT;
    run.io.port = port;
    run.io.size = 1;
    run.io.count = 1;
    run.io.data_offset = 1024;
    page.bytes[1024] = value;
}

ExitBreakpoint thrWrite() {
    ExitBreakpoint breakpoint;
    breakpoint.kind = ExitBreakKind::PortWrite;
    breakpoint.address = 0x3f8;
    return breakpoint;
}

const ExitBreakpoint* find(const std::vector<ExitBreakpoint>& list, int id) {
    for (const ExitBreakpoint& b : list)
        if (b.id == id)
            return &b;
    return nullptr;
}

} // namespace

class ExitBreakpointsEnableTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void allDisabledIsNotArmed() {
        ExitBreakpoints breakpoints;
        const int first = breakpoints.add(thrWrite());
        const int second = breakpoints.add(thrWrite());
        QVERIFY(breakpoints.armed());
        QVERIFY(breakpoints.setEnabled(first, false));
        QVERIFY(breakpoints.armed()); // the second still is
        QVERIFY(breakpoints.setEnabled(second, false));
        QVERIFY(!breakpoints.armed());
        QCOMPARE(breakpoints.list().size(), size_t(2)); // still listed
        QVERIFY(breakpoints.setEnabled(second, true));
        QVERIFY(breakpoints.armed());
        // Removing the enabled one leaves only a disabled one: not armed.
        QVERIFY(breakpoints.remove(second));
        QVERIFY(!breakpoints.armed());
        QVERIFY(!breakpoints.setEnabled(second, true)); // no such id any more
        QVERIFY(!breakpoints.armed());
    }

    void addedDisabledIsNotArmed() {
        ExitBreakpoints breakpoints;
        ExitBreakpoint breakpoint = thrWrite();
        breakpoint.enabled = false;
        const int id = breakpoints.add(breakpoint);
        QVERIFY(!breakpoints.armed());
        QVERIFY(!find(breakpoints.list(), id)->enabled);
    }

    void disabledOneNeverMatchesAndTheNextDoes() {
        ExitBreakpoints breakpoints;
        const int any = breakpoints.add(thrWrite());
        ExitBreakpoint onlyA = thrWrite();
        onlyA.value = 'A';
        const int valued = breakpoints.add(onlyA);
        auto page = std::make_unique<RunPage>();
        portWrite(*page, 0x3f8, 'A');
        QCOMPARE(breakpoints.match(page->run())->id, any); // the first that matches
        QVERIFY(breakpoints.setEnabled(any, false));
        QCOMPARE(breakpoints.match(page->run())->id, valued); // the disabled one is skipped
        portWrite(*page, 0x3f8, 'B');
        QVERIFY(!breakpoints.match(page->run())); // only the disabled one would match 'B'
        QVERIFY(breakpoints.setEnabled(any, true));
        QCOMPARE(breakpoints.match(page->run())->id, any);
    }

    void hitsCountPerBreakpointAndSurviveDisabling() {
        ExitBreakpoints breakpoints;
        const int first = breakpoints.add(thrWrite());
        const int second = breakpoints.add(thrWrite());
        for (int i = 0; i < 3; ++i)
            breakpoints.countHit(first);
        breakpoints.countHit(second);
        breakpoints.countHit(999); // no such id: nothing counts
        QCOMPARE(find(breakpoints.list(), first)->hits, uint64_t(3));
        QCOMPARE(find(breakpoints.list(), second)->hits, uint64_t(1));
        QVERIFY(breakpoints.setEnabled(first, false));
        QCOMPARE(find(breakpoints.list(), first)->hits, uint64_t(3));
        QVERIFY(breakpoints.setEnabled(first, true));
        QCOMPARE(find(breakpoints.list(), first)->hits, uint64_t(3));
        // A new breakpoint starts at zero whatever the caller filled in.
        ExitBreakpoint copied = *find(breakpoints.list(), first);
        const int third = breakpoints.add(copied);
        QVERIFY(third != first);
        QCOMPARE(find(breakpoints.list(), third)->hits, uint64_t(0));
    }
};

QTEST_MAIN(ExitBreakpointsEnableTest)
#include "ExitBreakpointsEnableTest.moc"
