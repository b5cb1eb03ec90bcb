// MachineSession against real guests: serial output reaches the GUI thread coalesced, the state
// follows run/pause/step/stop without blocking, and exit statistics are sampled.
#include "session/MachineSession.h"

#include "GuiTestSupport.h"
#include "machine/Machine.h"

#include <QSignalSpy>

using namespace kvmscope;
using namespace kvmscope::ui;
using namespace kvmscope::testing;

class MachineSessionTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<kvm::System> system_;

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_GUI_REQUIRE_KVM();
        system_ = std::make_unique<kvm::System>();
    }

    void helloGreetsOnTheSerialConsoleAndPowersOff() {
        KVMSCOPE_GUI_GUEST_CONFIG(config, "hello");
        MachineSession session(config, *system_);
        QCOMPARE(session.state(), MachineSession::State::Created);
        QVERIFY(session.canRun());
        QVERIFY(!session.canPause());
        QSignalSpy output(&session, &MachineSession::serialOutput);
        session.run();
        QTRY_VERIFY_WITH_TIMEOUT(
            session.serialTranscript().contains("Hello from the kvmscope hello demo"),
            kGuestTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MachineSession::State::Stopped, kGuestTimeoutMs);
        QCOMPARE(session.stopReason()->kind, StopKind::PowerOff);
        QVERIFY(session.statusText().startsWith("Stopped: "));
        // Coalesced: far fewer deliveries than bytes (the UART hands them over one at a time).
        QByteArray delivered;
        for (const auto& arguments : output)
            delivered += arguments.at(0).toByteArray();
        QCOMPARE(delivered, session.serialTranscript());
        QVERIFY2(output.count() < delivered.size() / 4,
                 qPrintable(
                     QString("%1 signals for %2 bytes").arg(output.count()).arg(delivered.size())));
        QVERIFY(!session.canRun());
        QVERIFY(!session.canStop());
    }

    void resetBootsTheImageAgainOnAFreshMachine() {
        KVMSCOPE_GUI_GUEST_CONFIG(config, "spin");
        MachineSession session(config, *system_);
        QSignalSpy before(&session, &MachineSession::machineAboutToBeReplaced);
        QSignalSpy after(&session, &MachineSession::machineReplaced);
        session.run();
        QTRY_VERIFY_WITH_TIMEOUT(session.serialTranscript().count("spin") == 1, kGuestTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(session.totalExits() > 0, kGuestTimeoutMs);
        const Machine* old = &session.machine();

        session.reset(true);
        QCOMPARE(before.count(), 1);
        QCOMPARE(after.count(), 1);
        QCOMPARE(session.resetCount(), 1u);
        QVERIFY(&session.machine() != old);
        QCOMPARE(session.state(), MachineSession::State::Running);
        // The image ran again from its first instruction: its banner is printed a second time.
        QTRY_VERIFY_WITH_TIMEOUT(session.serialTranscript().count("spin") == 2, kGuestTimeoutMs);

        // Reset also brings a stopped machine back, without running it when asked not to.
        session.stop();
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MachineSession::State::Stopped, kGuestTimeoutMs);
        session.reset(false);
        QCOMPARE(session.state(), MachineSession::State::Created);
        QVERIFY(!session.stopReason());
        QVERIFY(session.canRun());
        QCOMPARE(session.uptimeMs(), 0);
    }

    void aGuestThatResetsItselfBootsAgain() {
        KVMSCOPE_GUI_GUEST_CONFIG(config, "reset");
        MachineSession session(config, *system_);
        session.run();
        // Each boot prints "reset" and resets through port 0xCF9: the session boots it again.
        QTRY_VERIFY_WITH_TIMEOUT(session.resetCount() >= 2, kGuestTimeoutMs);
        // (The console's bytes arrive on their own throttled timer.)
        QTRY_VERIFY_WITH_TIMEOUT(session.serialTranscript().count("reset") >= 2, kGuestTimeoutMs);
        QVERIFY(session.state() != MachineSession::State::Stopped);
        session.stop();
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MachineSession::State::Stopped, kGuestTimeoutMs);
    }

    void withoutRebootAGuestResetStopsTheMachine() {
        KVMSCOPE_GUI_GUEST_CONFIG(config, "reset");
        MachineSession session(config, *system_);
        session.setRebootOnGuestReset(false);
        session.run();
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MachineSession::State::Stopped, kGuestTimeoutMs);
        QCOMPARE(session.stopReason()->kind, StopKind::Reset);
        QCOMPARE(session.resetCount(), 0u);
    }

    void pauseStepAndStopFollowTheRunners() {
        KVMSCOPE_GUI_GUEST_CONFIG(config, "spin");
        MachineSession session(config, *system_);
        QSignalSpy parked(&session, &MachineSession::vcpuParkedChanged);
        session.run();
        QCOMPARE(session.state(), MachineSession::State::Running);
        QTRY_VERIFY_WITH_TIMEOUT(session.serialTranscript().contains("spin"), kGuestTimeoutMs);
        session.pause();
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MachineSession::State::Paused, kGuestTimeoutMs);
        QVERIFY(session.vcpuParked(0));
        QVERIFY(session.canStep());
        QTRY_VERIFY_WITH_TIMEOUT(parked.count() >= 1, kGuestTimeoutMs);
        const qint64 uptime = session.uptimeMs();
        QVERIFY(uptime > 0);

        parked.clear();
        session.step(0);
        QTRY_VERIFY_WITH_TIMEOUT(parked.count() >= 1, kGuestTimeoutMs);
        QCOMPARE(parked.at(0).at(0).toUInt(), 0u);
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MachineSession::State::Paused, kGuestTimeoutMs);

        session.stop();
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MachineSession::State::Stopped, kGuestTimeoutMs);
        QCOMPARE(session.stopReason()->kind, StopKind::UserStop);
        QVERIFY(session.uptimeMs() >= uptime);
    }

    // One snapshot per park, taken by the session in one call on the vcpu thread: the boot
    // state at once, a pause's and a step's, none while running; an edit takes it again without
    // making a new stop; a machine powered off while paused says so without another read.
    void eachParkTakesOneSnapshot() {
        KVMSCOPE_GUI_GUEST_CONFIG(config, "spin");
        MachineSession session(config, *system_);
        const auto boot = session.snapshot(0);
        QVERIFY(boot);
        QCOMPARE(boot->runState, inspect::ParkedState::Created);
        QCOMPARE(boot->pc, uint64_t(0x7c00)); // the flat image's entry, real mode
        QVERIFY(boot->pcTranslation() && boot->pcTranslation()->valid);
        QCOMPARE(boot->pcTranslation()->physical, uint64_t(0x7c00));

        QSignalSpy snapshots(&session, &MachineSession::snapshotTaken);
        session.run();
        QTRY_VERIFY_WITH_TIMEOUT(session.serialTranscript().contains("spin"), kGuestTimeoutMs);
        // (The boot's park, when it was announced after the session listened, is read again.)
        snapshots.clear();
        session.pause();
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MachineSession::State::Paused, kGuestTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(snapshots.count(), 1, kGuestTimeoutMs);
        const auto paused = snapshots.at(0).at(0).value<inspect::VcpuSnapshot>();
        QVERIFY(paused.stop > boot->stop);
        QCOMPARE(paused.runState, inspect::ParkedState::Paused);
        const cpu::CpuState now = session.machine().vcpu(0).readState(1000);
        QCOMPARE(paused.cpu.regs.rip, now.regs.rip);
        QCOMPARE(paused.pc, now.sregs.cs.base + now.regs.rip);

        // A step is quick: its park may be heard before its run; either way it is read after it.
        snapshots.clear();
        session.step(0);
        QTRY_COMPARE_WITH_TIMEOUT(snapshots.count(), 1, kGuestTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MachineSession::State::Paused, kGuestTimeoutMs);
        const auto stepped = session.snapshot(0);
        QCOMPARE(stepped->stop, paused.stop + 1);
        QVERIFY(stepped->cpu.regs.rip != paused.cpu.regs.rip); // inc eax / jmp: RIP moves
        QCOMPARE(stepped->cpu.regs.rip, session.machine().vcpu(0).readState(1000).regs.rip);

        snapshots.clear();
        QString error;
        QVERIFY2(session.writeRegister(0, {&kvm_regs::rax, 0x1000}, &error), qPrintable(error));
        QCOMPARE(snapshots.count(), 1);
        QCOMPARE(session.snapshot(0)->stop, stepped->stop);
        QCOMPARE(session.snapshot(0)->cpu.regs.rax, uint64_t(0x1000));
        QCOMPARE(session.machine().vcpu(0).readState(1000).regs.rax, uint64_t(0x1000));

        // KVM's answer for another address: asked once, then part of the snapshot.
        const auto translated = session.kvmTranslation(0, 0x7c10);
        QVERIFY(translated && translated->valid);
        QCOMPARE(translated->physical, uint64_t(0x7c10));
        QVERIFY(session.snapshot(0)->translation(0x7c10));

        snapshots.clear();
        session.stop();
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MachineSession::State::Stopped, kGuestTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(snapshots.count(), 1, kGuestTimeoutMs);
        QCOMPARE(session.snapshot(0)->runState, inspect::ParkedState::Stopped);
        QCOMPARE(session.snapshot(0)->stop, stepped->stop);
    }

    void exitStatisticsAreSampled() {
        KVMSCOPE_GUI_GUEST_CONFIG(config, "hello");
        MachineSession session(config, *system_);
        QSignalSpy statistics(&session, &MachineSession::statisticsUpdated);
        session.run();
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MachineSession::State::Stopped, kGuestTimeoutMs);
        QVERIFY(statistics.wait(MachineSession::kStatisticsIntervalMs * 4));
        QVERIFY(session.exitCounts()[KVM_EXIT_IO] > 0);
        QCOMPARE(session.totalExits(), session.machine().vcpu(0).trace().totalExits());
    }

    void keyboardBytesReachTheGuest() {
        KVMSCOPE_GUI_GUEST_CONFIG(config, "uart-echo");
        MachineSession session(config, *system_);
        session.run();
        QTRY_VERIFY_WITH_TIMEOUT(session.serialTranscript().contains("ready"), kGuestTimeoutMs);
        session.sendSerialInput("kvm");
        QTRY_VERIFY_WITH_TIMEOUT(session.serialTranscript().contains("KVM"), kGuestTimeoutMs);
        session.sendSerialInput("q");
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MachineSession::State::Stopped, kGuestTimeoutMs);
    }
};

QTEST_GUILESS_MAIN(MachineSessionTest)
#include "MachineSessionTest.moc"
