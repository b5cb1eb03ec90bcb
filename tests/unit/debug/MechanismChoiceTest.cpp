// chooseMechanism (debug/HostDebugSupport.h) as a pure function of the host probe's findings:
// each host kind kvmscope meets (hardware VMX/SVM, a KVM that emulates ring 0, nested SVM under
// QEMU TCG, one where nothing works) gives each breakpoint kind the best mechanism that works
// there, and a refusal naming the finding where none does. No KVM needed.
#include "debug/HostDebugSupport.h"

#include <QTest>

using namespace kvmscope::debug;

namespace {

ProbeFinding works() {
    return {true, "stopped where expected"};
}
ProbeFinding fails(const char* detail) {
    return {false, detail};
}

HostDebugSupport hardwareHost() {
    HostDebugSupport host;
    host.int3Ring0 = host.int3Ring3 = works();
    host.executionRing0 = host.executionRing3 = works();
    host.writeWatch = host.readWriteWatch = works();
    host.stepRing0 = host.stepRing3 = works();
    return host;
}

// HOST-NOTES' kind (1): ring 0 emulated; int3 there is an internal error, data watchpoints never
// fire, single-step works in ring 0 only.
HostDebugSupport emulatingHost() {
    HostDebugSupport host = hardwareHost();
    host.int3Ring0 = fails("int3 in ring 0 gave KVM_EXIT_INTERNAL_ERROR");
    host.writeWatch = fails("a DR0 write watchpoint on a ring-0 store gave KVM_EXIT_HLT");
    host.readWriteWatch = fails("a DR0 read/write watchpoint on a ring-0 load gave KVM_EXIT_HLT");
    host.stepRing3 = fails("single-stepping two nops in ring 3 gave KVM_EXIT_SHUTDOWN");
    return host;
}

// Nested SVM under QEMU TCG: only single-step is delivered.
HostDebugSupport steppingOnlyHost() {
    HostDebugSupport host;
    host.int3Ring0 = fails("int3 in ring 0 gave KVM_EXIT_SHUTDOWN");
    host.int3Ring3 = fails("int3 in ring 3 gave KVM_EXIT_SHUTDOWN");
    host.executionRing0 = fails("a DR0 execution breakpoint in ring 0 gave KVM_EXIT_HLT");
    host.executionRing3 = fails("a DR0 execution breakpoint in ring 3 gave KVM_EXIT_IO");
    host.writeWatch = fails("a DR0 write watchpoint on a ring-0 store gave KVM_EXIT_HLT");
    host.readWriteWatch = fails("a DR0 read/write watchpoint on a ring-0 load gave KVM_EXIT_HLT");
    host.stepRing0 = host.stepRing3 = works();
    return host;
}

// What a choice gave, readable in a failure message.
QString named(const MechanismChoice& choice) {
    return choice.mechanism ? QString::fromLatin1(toString(*choice.mechanism))
                            : QStringLiteral("refused: ") + QString::fromStdString(choice.note);
}
QString named(BreakMechanism mechanism) {
    return QString::fromLatin1(toString(mechanism));
}

bool mentions(const MechanismChoice& choice, const char* text) {
    return choice.note.find(text) != std::string::npos;
}

} // namespace

class MechanismChoiceTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void hardwareHostGivesInt3AndDebugRegisters() {
        const HostDebugSupport host = hardwareHost();
        const auto software = chooseMechanism(BreakpointKind::Software, false, host, 4);
        QCOMPARE(named(software), named(BreakMechanism::Int3));
        QVERIFY(!software.fallback);
        QVERIFY(software.note.empty());
        QCOMPARE(named(chooseMechanism(BreakpointKind::Hardware, false, host, 4)),
                 named(BreakMechanism::DebugRegister));
        QCOMPARE(named(chooseMechanism(BreakpointKind::WriteWatch, false, host, 1)),
                 named(BreakMechanism::DebugRegister));
        QCOMPARE(named(chooseMechanism(BreakpointKind::ReadWriteWatch, false, host, 1)),
                 named(BreakMechanism::DebugRegister));
    }

    void temporaryBreakpointsNeverPatchMemory() {
        const auto choice = chooseMechanism(BreakpointKind::Software, true, hardwareHost(), 4);
        QCOMPARE(named(choice), named(BreakMechanism::DebugRegister));
        QVERIFY(!choice.fallback);
        // All four registers taken: a run-to or step-over still stops, by stepping.
        QCOMPARE(named(chooseMechanism(BreakpointKind::Software, true, hardwareHost(), 0)),
                 named(BreakMechanism::SteppingCheck));
    }

    void softwareBreakpointFallsBackToStepsWhenRegistersAreTaken() {
        const auto choice = chooseMechanism(BreakpointKind::Software, false, emulatingHost(), 0);
        QCOMPARE(named(choice), named(BreakMechanism::SteppingCheck));
        QVERIFY(choice.fallback);
        QVERIFY(mentions(choice, "KVM_EXIT_INTERNAL_ERROR")); // why not int3
        QVERIFY(mentions(choice, "DR0-DR3 are taken"));       // why not a register
    }

    void emulatingHostGivesDebugRegistersForSoftwareBreakpoints() {
        const auto choice = chooseMechanism(BreakpointKind::Software, false, emulatingHost(), 4);
        QCOMPARE(named(choice), named(BreakMechanism::DebugRegister));
        QVERIFY(choice.fallback);
        QVERIFY2(mentions(choice, "int3 in ring 0 gave KVM_EXIT_INTERNAL_ERROR"),
                 choice.note.c_str());
    }

    void int3IsUsedOnlyWhenBothRingsDeliverIt() {
        HostDebugSupport host = hardwareHost();
        host.int3Ring3 = fails("int3 in ring 3 gave KVM_EXIT_SHUTDOWN");
        const auto choice = chooseMechanism(BreakpointKind::Software, false, host, 4);
        QCOMPARE(named(choice), named(BreakMechanism::DebugRegister));
        QVERIFY(mentions(choice, "ring 3"));
    }

    void watchpointsAreRefusedWhereTheyNeverFire() {
        const HostDebugSupport host = emulatingHost();
        const auto write = chooseMechanism(BreakpointKind::WriteWatch, false, host, 4);
        QVERIFY(!write.mechanism);
        QVERIFY2(mentions(write, "data write watchpoints do not fire on this host"),
                 write.note.c_str());
        QVERIFY(mentions(write, "KVM_EXIT_HLT"));
        const auto readWrite = chooseMechanism(BreakpointKind::ReadWriteWatch, false, host, 4);
        QVERIFY(!readWrite.mechanism);
        QVERIFY(mentions(readWrite, "data read/write watchpoints do not fire"));
    }

    void readWriteAndWriteWatchpointsAreJudgedApart() {
        HostDebugSupport host = hardwareHost();
        host.readWriteWatch =
            fails("a DR0 read/write watchpoint on a ring-0 load gave KVM_EXIT_HLT");
        QCOMPARE(named(chooseMechanism(BreakpointKind::WriteWatch, false, host, 4)),
                 named(BreakMechanism::DebugRegister));
        QVERIFY(!chooseMechanism(BreakpointKind::ReadWriteWatch, false, host, 4).mechanism);
    }

    void watchpointWithoutAFreeRegisterIsRefused() {
        const auto choice = chooseMechanism(BreakpointKind::WriteWatch, false, hardwareHost(), 0);
        QVERIFY(!choice.mechanism);
        QVERIFY(mentions(choice, "no free debug register"));
    }

    void steppingOnlyHostStepsForEveryExecutionBreakpoint() {
        const HostDebugSupport host = steppingOnlyHost();
        for (const BreakpointKind kind : {BreakpointKind::Software, BreakpointKind::Hardware}) {
            for (const bool temporary : {false, true}) {
                const auto choice = chooseMechanism(kind, temporary, host, 4);
                QCOMPARE(named(choice), named(BreakMechanism::SteppingCheck));
                QVERIFY(choice.fallback);
                QVERIFY2(mentions(choice, "debug-register execution breakpoints do not fire"),
                         choice.note.c_str());
            }
        }
        QVERIFY(!chooseMechanism(BreakpointKind::WriteWatch, false, host, 4).mechanism);
    }

    void hardwareBreakpointWithoutAFreeRegisterIsRefusedWhereRegistersWork() {
        const auto choice = chooseMechanism(BreakpointKind::Hardware, false, hardwareHost(), 0);
        QVERIFY(!choice.mechanism);
        QVERIFY(mentions(choice, "no free debug register"));
    }

    void nothingWorksRefusesEveryBreakpointNamingEachFinding() {
        HostDebugSupport host = steppingOnlyHost();
        host.stepRing0 = fails("single-stepping two nops in ring 0 gave KVM_EXIT_HLT");
        for (const BreakpointKind kind : {BreakpointKind::Software, BreakpointKind::Hardware}) {
            const auto choice = chooseMechanism(kind, false, host, 4);
            QVERIFY(!choice.mechanism);
            QVERIFY(mentions(choice, "single-stepping does not work on this host"));
            QVERIFY(mentions(choice, "execution breakpoint in ring 0 gave KVM_EXIT_HLT"));
        }
    }

    void everyFindingIsListedOnceByName() {
        const auto& entries = HostDebugSupport::entries();
        QCOMPARE(entries.size(), size_t{8});
        HostDebugSupport host;
        for (const auto& entry : entries) {
            QVERIFY(!(host.*entry.finding).works);
            (host.*entry.finding).works = true;
        }
        QVERIFY(host.int3() && host.executionBreakpoints() && host.stepping());
        QVERIFY(host.writeWatch.works && host.readWriteWatch.works && host.stepRing3.works);
    }
};

QTEST_GUILESS_MAIN(MechanismChoiceTest)
#include "MechanismChoiceTest.moc"
