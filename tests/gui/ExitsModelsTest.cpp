// The exit counters and recent-exits models on the `hello` guest, whose COM1 output is one port
// exit per byte: counters per reason, recent exits with port, size and data, freeze, row cap,
// CSV export.
#include "GuiTestSupport.h"
#include "exits/ExitCountersModel.h"
#include "exits/RecentExitsModel.h"
#include "machine/Machine.h"
#include "session/MachineSession.h"

#include <QAbstractItemModelTester>
#include <QBuffer>
#include <QSignalSpy>
#include <QTemporaryDir>

using namespace kvmscope;
using namespace kvmscope::ui;
using namespace kvmscope::testing;

class ExitsModelsTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<kvm::System> system_;
    std::unique_ptr<MachineSession> session_;

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_GUI_REQUIRE_KVM();
        system_ = std::make_unique<kvm::System>();
        KVMSCOPE_GUI_GUEST_CONFIG(config, "hello");
        session_ = std::make_unique<MachineSession>(config, *system_);
    }

    void cleanupTestCase() { session_.reset(); }

    void countersAndRecentExitsFollowTheGuest() {
        ExitCountersModel counters;
        RecentExitsModel recent;
        new QAbstractItemModelTester(
            &counters, QAbstractItemModelTester::FailureReportingMode::QtTest, &counters);
        new QAbstractItemModelTester(
            &recent, QAbstractItemModelTester::FailureReportingMode::QtTest, &recent);
        counters.setSession(session_.get());
        recent.setSession(session_.get());
        QCOMPARE(recent.rowCount(), 0);
        session_->run();
        QTRY_COMPARE_WITH_TIMEOUT(session_->state(), MachineSession::State::Stopped,
                                  kGuestTimeoutMs);
        QSignalSpy sampled(session_.get(), &MachineSession::statisticsUpdated);
        QVERIFY(sampled.wait(MachineSession::kStatisticsIntervalMs * 4));

        const int ioRow = counters.rowOfReason(KVM_EXIT_IO);
        QVERIFY(ioRow >= 0);
        QCOMPARE(counters.index(ioRow, ExitCountersModel::ReasonColumn).data().toString(),
                 QStringLiteral("IO"));
        QCOMPARE(counters.index(ioRow, ExitCountersModel::CountColumn).data().toULongLong(),
                 session_->exitCounts()[KVM_EXIT_IO]);

        QVERIFY(recent.rowCount() > 0);
        bool sawComOutput = false;
        for (int row = 0; row < recent.rowCount(); ++row) {
            const auto& record = recent.record(row);
            if (record.reason == KVM_EXIT_IO && record.address == 0x3f8 &&
                record.access == trace::AccessKind::PortOut) {
                sawComOutput = true;
                QCOMPARE(recent.index(row, RecentExitsModel::AddressColumn).data().toString(),
                         QStringLiteral("0x3f8"));
                QCOMPARE(recent.index(row, RecentExitsModel::SizeColumn).data().toString(),
                         QStringLiteral("1"));
            }
        }
        QVERIFY(sawComOutput);
        // Oldest first.
        for (int row = 1; row < recent.rowCount(); ++row)
            QVERIFY(recent.record(row - 1).timestampNs <= recent.record(row).timestampNs);
    }

    void rowsAreCappedOldestFirst() {
        RecentExitsModel recent;
        recent.setMaxRows(5);
        recent.setSession(session_.get());
        QCOMPARE(recent.rowCount(), 5);
        const auto records = session_->machine().vcpu(0).trace().drain(0);
        QCOMPARE(recent.record(4).sequence, records.back().sequence);
    }

    void frozenModelTakesNothingNew() {
        RecentExitsModel recent;
        recent.setFrozen(true);
        recent.setSession(session_.get());
        QCOMPARE(recent.rowCount(), 0);
        recent.drain();
        QCOMPARE(recent.rowCount(), 0);
        recent.setFrozen(false);
        QVERIFY(recent.rowCount() > 0);
    }

    void csvHasAHeaderAndOneLinePerRow() {
        RecentExitsModel recent;
        recent.setMaxRows(10);
        recent.setSession(session_.get());
        QBuffer buffer;
        buffer.open(QIODevice::WriteOnly);
        QVERIFY(recent.writeCsv(buffer));
        const QList<QByteArray> lines = buffer.data().trimmed().split('\n');
        QCOMPARE(lines.size(), recent.rowCount() + 1);
        QCOMPARE(lines.front(),
                 QByteArray("Time (s),vcpu,Reason,Access,Port/address,Size,Data,RIP"));
        QCOMPARE(lines.at(1).split(',').size(), int(RecentExitsModel::ColumnCount));

        QTemporaryDir dir;
        QString error;
        QVERIFY(recent.exportCsv(dir.filePath(QStringLiteral("exits.csv")), &error));
        QVERIFY(!recent.exportCsv(dir.filePath(QStringLiteral("missing/dir/exits.csv")), &error));
        QVERIFY(error.contains(QStringLiteral("missing/dir/exits.csv")));
    }
};

QTEST_GUILESS_MAIN(ExitsModelsTest)
#include "ExitsModelsTest.moc"
