// The crash report on made-up states: KVM's state after the stop, a note when that is the
// processor's reset state (as an AMD host leaves a vcpu after a triple fault), and the registers
// at the last exit with its reason and age.
#include "cpu/CrashState.h"

#include <QTest>

using namespace kvmscope::cpu;

namespace {

CpuState stateAt(uint64_t csBase, uint64_t rip) {
    CpuState state;
    state.sregs.cs.base = csBase;
    state.regs.rip = rip;
    return state;
}

} // namespace

class CrashStateTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void resetStateIsRecognised() {
        QVERIFY(isResetState(stateAt(0xffff0000, 0xfff0)));
        QVERIFY(!isResetState(stateAt(0, 0xfff0)));        // real mode at 0xfff0: a guest's own
        QVERIFY(!isResetState(stateAt(0xffff0000, 0x10))); // left the reset vector already
    }

    void reportSaysWhichStateIsWhich() {
        CrashState state;
        state.vcpu = 1;
        state.now = stateAt(0xffff0000, 0xfff0);
        state.now->regs.rdx = 0x60fb1;
        VcpuRunner::LastExit last;
        last.regs.rip = 0x100234;
        last.regs.rax = 0xdead;
        last.reason = KVM_EXIT_IO;
        last.timestampNs = 1'000'000'000;
        state.lastExit = last;
        QVERIFY(state.resetByKvm());
        const QString text = QString::fromStdString(formatCrashState(state, 1'002'500'000));
        QVERIFY2(text.contains("vcpu 1 as KVM reports it after the stop"), qPrintable(text));
        QVERIFY2(text.contains("RDX=0000000000060fb1"), qPrintable(text));
        QVERIFY2(text.contains("KVM reset this vcpu"), qPrintable(text));
        QVERIFY2(text.contains("last exit to kvmscope before the stop (IO, 2.5 ms"),
                 qPrintable(text));
        QVERIFY2(text.contains("RIP=0000000000100234"), qPrintable(text));
        QVERIFY2(text.contains("RAX=000000000000dead"), qPrintable(text));
        // KVM's state comes first, the last exit after it.
        QVERIFY(text.indexOf("after the stop") < text.indexOf("last exit"));
    }

    void aStateThatIsTheCrashHasNoNote() {
        CrashState state;
        state.now = stateAt(0, 0x7c10);
        const QString text = QString::fromStdString(formatCrashState(state, 0));
        QVERIFY(!state.resetByKvm());
        QVERIFY(!text.contains("KVM reset"));
        QVERIFY(!text.contains("last exit")); // none was seen (no sync regs)
    }

    void unreadableRegistersAreSaid() {
        CrashState state;
        state.error = "the vcpu did not park";
        const QString text = QString::fromStdString(formatCrashState(state, 0));
        QVERIFY2(text.contains("registers unavailable: the vcpu did not park"), qPrintable(text));
    }
};

QTEST_GUILESS_MAIN(CrashStateTest)
#include "CrashStateTest.moc"
