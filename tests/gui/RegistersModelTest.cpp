// RegistersModel on the `spin` guest (docs/guests.md: `inc eax` at 0x7C02, `jmp` at 0x7C04):
// RIP after a pause, the registers a single step changed highlighted, edits written back while
// paused and refused while running, and the "state at last stop" label while running.
#include "registers/RegistersModel.h"

#include "GuiTestSupport.h"
#include "machine/Machine.h"
#include "registers/DebugFpuDecoding.h"
#include "session/MachineSession.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>

using namespace kvmscope;
using namespace kvmscope::ui;
using namespace kvmscope::testing;

namespace {

constexpr uint64_t kIncAddress = 0x7c02;
constexpr uint64_t kJmpAddress = 0x7c04;

uint64_t rawValue(const RegistersModel& model, const char* name) {
    return model.indexOfRegister(QString::fromLatin1(name))
        .data(RegistersModel::RawValueRole)
        .toULongLong();
}

bool highlighted(const RegistersModel& model, const char* name) {
    return model.indexOfRegister(QString::fromLatin1(name))
        .data(RegistersModel::ChangedRole)
        .toBool();
}

} // namespace

class RegistersModelTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<kvm::System> system_;
    std::unique_ptr<MachineSession> session_;
    std::unique_ptr<RegistersModel> model_;

    void pauseAndWait() {
        session_->pause();
        QTRY_COMPARE_WITH_TIMEOUT(session_->state(), MachineSession::State::Paused,
                                  kGuestTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(!model_->stale(), kGuestTimeoutMs);
    }

    // The guest prints "spin" before it enters its loop: a pause can land in the print routine.
    // Pause until the vcpu is in the loop (a few tries; it spends nearly all its time there).
    void pauseInLoop() {
        for (int attempt = 0; attempt < 20; ++attempt) {
            pauseAndWait();
            const uint64_t rip = rawValue(*model_, "RIP");
            if (rip == kIncAddress || rip == kJmpAddress)
                return;
            session_->run();
            QTest::qWait(20);
        }
        QFAIL("the spin guest never paused inside its loop");
    }

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_GUI_REQUIRE_KVM();
        system_ = std::make_unique<kvm::System>();
    }

    void init() {
        KVMSCOPE_GUI_GUEST_CONFIG(config, "spin");
        session_ = std::make_unique<MachineSession>(config, *system_);
        model_ = std::make_unique<RegistersModel>();
        new QAbstractItemModelTester(
            model_.get(), QAbstractItemModelTester::FailureReportingMode::QtTest, model_.get());
        model_->setSession(session_.get());
        session_->run();
        QTRY_VERIFY_WITH_TIMEOUT(session_->serialTranscript().contains("spin"), kGuestTimeoutMs);
    }

    void cleanup() {
        model_.reset();
        session_.reset();
    }

    void bootStateIsShownBeforeTheFirstRun() {
        KVMSCOPE_GUI_GUEST_CONFIG(config, "spin");
        MachineSession fresh(config, *system_);
        RegistersModel model;
        model.setSession(&fresh);
        QVERIFY(!model.stale());
        QCOMPARE(rawValue(model, "RIP"), uint64_t(0x7c00)); // the flat image's entry
        QVERIFY(
            model.indexOfRegister(QStringLiteral("CR0"), RegistersModel::DecodedColumn).isValid());
    }

    void ripIsShownAfterPause() {
        pauseInLoop();
        const uint64_t rip = rawValue(*model_, "RIP");
        QCOMPARE(rip, session_->machine().vcpu(0).readState(1000).regs.rip);
        QCOMPARE(model_->indexOfRegister(QStringLiteral("RIP")).data().toString(),
                 formatRegisterText(rip));
        QVERIFY(model_->statusText().contains(QStringLiteral("paused")));
        // Segments and control registers are decoded.
        QVERIFY(model_->indexOfRegister(QStringLiteral("CS"), RegistersModel::DecodedColumn)
                    .data()
                    .toString()
                    .startsWith(QStringLiteral("base=0x0 ")));
    }

    void stepHighlightsWhatChanged() {
        pauseInLoop();
        const uint64_t ripBefore = rawValue(*model_, "RIP");
        const uint64_t raxBefore = rawValue(*model_, "RAX");
        session_->step(0);
        QTRY_VERIFY_WITH_TIMEOUT(rawValue(*model_, "RIP") != ripBefore, kGuestTimeoutMs);
        QVERIFY(highlighted(*model_, "RIP"));
        QVERIFY(!highlighted(*model_, "RBX"));
        QVERIFY(!highlighted(*model_, "CR0"));
        const QModelIndex rip = model_->indexOfRegister(QStringLiteral("RIP"));
        QVERIFY(rip.data(Qt::BackgroundRole).isValid());
        QVERIFY(!model_->indexOfRegister(QStringLiteral("RBX")).data(Qt::BackgroundRole).isValid());
        // `inc eax` changes RAX; `jmp` does not.
        const bool executedInc = ripBefore == kIncAddress;
        QCOMPARE(highlighted(*model_, "RAX"), executedInc);
        QCOMPARE(rawValue(*model_, "RAX") != raxBefore, executedInc);
    }

    void editingRaxWritesThroughTheRunner() {
        pauseAndWait();
        const QModelIndex rax = model_->indexOfRegister(QStringLiteral("RAX"));
        QVERIFY(model_->flags(rax) & Qt::ItemIsEditable);
        QVERIFY(
            !(model_->flags(model_->indexOfRegister(QStringLiteral("CR0"))) & Qt::ItemIsEditable));
        QVERIFY(model_->setData(rax, QStringLiteral("0x1000")));
        QCOMPARE(session_->machine().vcpu(0).readState(1000).regs.rax, uint64_t(0x1000));
        QCOMPARE(rawValue(*model_, "RAX"), uint64_t(0x1000));
        QSignalSpy errors(model_.get(), &RegistersModel::errorOccurred);
        QVERIFY(!model_->setData(rax, QStringLiteral("nonsense")));
        QCOMPARE(errors.count(), 1);
    }

    void whileRunningTheLastStopIsShownAndEditsAreRefused() {
        pauseAndWait();
        const uint64_t rip = rawValue(*model_, "RIP");
        session_->run();
        QTRY_VERIFY_WITH_TIMEOUT(model_->stale(), kGuestTimeoutMs);
        QVERIFY(model_->statusText().contains(QStringLiteral("running — state at last stop")));
        QCOMPARE(rawValue(*model_, "RIP"), rip);
        const QModelIndex rax = model_->indexOfRegister(QStringLiteral("RAX"));
        QVERIFY(!(model_->flags(rax) & Qt::ItemIsEditable));
        QSignalSpy errors(model_.get(), &RegistersModel::errorOccurred);
        QVERIFY(!model_->setData(rax, QStringLiteral("0x1")));
        QCOMPARE(errors.count(), 1);
    }

    void debugFpuAndMsrGroupsMatchTheState() {
        pauseAndWait();
        const cpu::CpuState state = session_->machine().vcpu(0).readState(1000);
        QStringList groups;
        for (int row = 0; row < model_->rowCount(); ++row)
            groups << model_->index(row, 0).data().toString();
        for (const char* group : {"Debug", "FPU / SSE", "MSRs"})
            QVERIFY2(groups.contains(QString::fromLatin1(group)), group);
        QCOMPARE(rawValue(*model_, "DR7"), uint64_t(state.debugRegs.dr7));
        QCOMPARE(rawValue(*model_, "DR6"), uint64_t(state.debugRegs.dr6));
        QCOMPARE(rawValue(*model_, "MXCSR"), uint64_t(state.fpu.mxcsr));
        QCOMPARE(rawValue(*model_, "FCW"), uint64_t(state.fpu.fcw));
        QCOMPARE(model_->indexOfRegister(QStringLiteral("DR7"), RegistersModel::DecodedColumn)
                     .data()
                     .toString(),
                 QStringLiteral("no breakpoint"));
        // Decoded from the state read (SDM vol. 3B 17.2.4 for DR7, vol. 1 10.2.3 for MXCSR).
        QCOMPARE(model_->indexOfRegister(QStringLiteral("DR7"), RegistersModel::DecodedColumn)
                     .data()
                     .toString(),
                 decodeDr7(state.debugRegs.dr7));
        QCOMPARE(model_->indexOfRegister(QStringLiteral("MXCSR"), RegistersModel::DecodedColumn)
                     .data()
                     .toString(),
                 decodeMxcsr(state.fpu.mxcsr));
        QCOMPARE(model_->indexOfRegister(QStringLiteral("XMM15")).data().toString().size(), 2 + 32);
        // One row per MSR the vcpu read, the well-known ones by name (IA32_LSTAR is in every
        // x86-64 host's KVM_GET_MSR_INDEX_LIST; EFER and FS/GS base come with the sregs).
        const QModelIndex lstar = model_->indexOfRegister(QStringLiteral("IA32_LSTAR"));
        QVERIFY(lstar.isValid());
        QCOMPARE(model_->data(lstar.parent()).toString(), QStringLiteral("MSRs"));
        QCOMPARE(model_->rowCount(lstar.parent()), int(state.msrs.size()));
        for (const kvm_msr_entry& msr : state.msrs)
            if (msr.index == 0xc0000082)
                QCOMPARE(lstar.data(RegistersModel::RawValueRole).toULongLong(),
                         qulonglong(msr.data));
    }

private:
    static QString formatRegisterText(uint64_t value) {
        return QStringLiteral("0x%1").arg(value, 16, 16, QLatin1Char('0'));
    }
};

QTEST_MAIN(RegistersModelTest)
#include "RegistersModelTest.moc"
