// Exit-breakpoint matching on hand-made kvm_run exits, without /dev/kvm.
#include "debug/ExitBreakpoints.h"

#include <QTest>
#include <cstring>
#include <memory>

using namespace kvmscope::debug;

namespace {

// A kvm_run with room after it for the I/O data, as the kernel's shared page has.
struct RunPage {
    alignas(kvm_run) uint8_t bytes[4096] = {};
    kvm_run& run() { return *reinterpret_cast<kvm_run*>(bytes); }
};

void portExit(RunPage& page, uint16_t port, bool out, uint8_t value) {
    kvm_run& run = page.run();
    run.exit_reason = KVM_EXIT_IO;
    run.io.direction = out ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
    run.io.port = port;
    run.io.size = 1;
    run.io.count = 1;
    run.io.data_offset = 1024;
    page.bytes[1024] = value;
}

} // namespace

class ExitBreakpointsTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void emptySetIsNotArmed() {
        ExitBreakpoints breakpoints;
        QVERIFY(!breakpoints.armed());
        const int id = breakpoints.add({0, ExitBreakKind::PortWrite, 0x3f8, 1, {}, 0});
        QVERIFY(breakpoints.armed());
        QVERIFY(breakpoints.remove(id));
        QVERIFY(!breakpoints.armed());
        QVERIFY(!breakpoints.remove(id));
    }

    void portWriteMatchesDirectionRangeAndValue() {
        ExitBreakpoints breakpoints;
        const int any = breakpoints.add({0, ExitBreakKind::PortWrite, 0x3f8, 8, {}, 0});
        auto page = std::make_unique<RunPage>();
        portExit(*page, 0x3fd, false, 0); // a read of LSR: not a write
        QVERIFY(!breakpoints.match(page->run()));
        portExit(*page, 0x3f8, true, 'A');
        const auto hit = breakpoints.match(page->run());
        QVERIFY(hit);
        QCOMPARE(hit->id, any);
        QCOMPARE(hit->address, uint64_t{0x3f8});
        QCOMPARE(hit->value, uint64_t{'A'});
        portExit(*page, 0x400, true, 'A');
        QVERIFY(!breakpoints.match(page->run()));

        breakpoints.remove(any);
        breakpoints.add({0, ExitBreakKind::PortWrite, 0xf4, 1, uint64_t{0x31}, 0});
        portExit(*page, 0xf4, true, 0x30);
        QVERIFY(!breakpoints.match(page->run()));
        portExit(*page, 0xf4, true, 0x31);
        QVERIFY(breakpoints.match(page->run()));
    }

    void mmioAccessOverlapsTheRange() {
        ExitBreakpoints breakpoints;
        breakpoints.add({0, ExitBreakKind::MmioRead, 0xfec00000, 0x20, {}, 0});
        auto page = std::make_unique<RunPage>();
        kvm_run& run = page->run();
        run.exit_reason = KVM_EXIT_MMIO;
        run.mmio.phys_addr = 0xfebffffe; // a 4-byte read straddling the start
        run.mmio.len = 4;
        run.mmio.is_write = 0;
        QVERIFY(breakpoints.match(run));
        run.mmio.is_write = 1;
        QVERIFY(!breakpoints.match(run));
        run.mmio.is_write = 0;
        run.mmio.phys_addr = 0xfec00020;
        QVERIFY(!breakpoints.match(run));
    }

    void exitReasonMatchesAnyExitOfThatKind() {
        ExitBreakpoints breakpoints;
        const int id = breakpoints.add({0, ExitBreakKind::ExitReason, 0, 1, {}, KVM_EXIT_SHUTDOWN});
        auto page = std::make_unique<RunPage>();
        page->run().exit_reason = KVM_EXIT_SHUTDOWN;
        const auto hit = breakpoints.match(page->run());
        QVERIFY(hit);
        QCOMPARE(hit->id, id);
        QVERIFY(hit->description.find("SHUTDOWN") != std::string::npos);
        page->run().exit_reason = KVM_EXIT_HLT;
        QVERIFY(!breakpoints.match(page->run()));
    }
};

QTEST_GUILESS_MAIN(ExitBreakpointsTest)
#include "ExitBreakpointsTest.moc"
