// The per-address exit counters on real guests: io-loop's `out`s to its port are counted exactly
// (the round count is read from the image, after its "IOLN" tag), hello's COM1 rows carry the
// UART's name and one exit per byte it printed, the MMIO sweep fills the table and spills into the
// "other addresses" row without losing an exit, and the Exits view's table sorts on numbers.
#include "exits/ExitAddressCountersModel.h"

#include "GuiTestSupport.h"
#include "exits/ExitsView.h"
#include "machine/Machine.h"
#include "session/MachineSession.h"

#include <QAbstractItemModelTester>
#include <QFile>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QtEndian>

using namespace kvmscope;
using namespace kvmscope::ui;
using namespace kvmscope::testing;
using trace::AccessKind;

namespace {

// io-loop (resources/guests/io-loop): `out %al, %dx` to this port once per round.
constexpr uint64_t kIoLoopPort = 0x500;
constexpr uint64_t kDebugExitPort = 0xf4;
constexpr uint64_t kCom1Thr = 0x3f8;
constexpr uint64_t kCom1Lsr = 0x3fd;

// The round count io-loop will run: the 32-bit word after its "IOLN" tag; 0 when unreadable.
quint32 ioLoopRounds() {
    QFile image(QString::fromStdString(guestImage("io-loop")));
    if (!image.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray head = image.read(12);
    if (head.size() < 12 || head.mid(4, 4) != "IOLN")
        return 0;
    return qFromLittleEndian<quint32>(head.constData() + 8);
}

// Exits of every vcpu for `reason`, straight from the core.
quint64 traceCount(Machine& machine, uint32_t reason) {
    quint64 total = 0;
    for (size_t vcpu = 0; vcpu < machine.vcpuCount(); ++vcpu)
        total += machine.vcpu(vcpu).trace().count(reason);
    return total;
}

QString cell(const QAbstractItemModel& model, int row, int column) {
    return model.index(row, column).data().toString();
}

} // namespace

class ExitAddressCountersModelTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<kvm::System> system_;

    std::unique_ptr<MachineSession> runToStop(const char* guest) {
        KVMSCOPE_GUI_GUEST_CONFIG(config, guest);
        auto session = std::make_unique<MachineSession>(config, *system_);
        session->run();
        if (!QTest::qWaitFor([&] { return session->state() == MachineSession::State::Stopped; },
                             kGuestTimeoutMs))
            return nullptr;
        return session;
    }

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_GUI_REQUIRE_KVM();
        system_ = std::make_unique<kvm::System>();
    }

    void ioLoopPortIsCountedOncePerRound() {
        const quint32 rounds = ioLoopRounds();
        QVERIFY2(rounds > 0, "io-loop's image has no round count after its IOLN tag");
        ExitAddressCountersModel model;
        new QAbstractItemModelTester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest,
                                     &model);
        auto session = runToStop("io-loop");
        QVERIFY(session);
        model.setSession(session.get());

        const int loop = model.rowOf(AccessKind::PortOut, kIoLoopPort);
        QVERIFY(loop >= 0);
        QCOMPARE(model.exits(loop), quint64(rounds));
        QCOMPARE(model.bytes(loop), quint64(rounds)); // `out %al`: one byte each
        QCOMPARE(cell(model, loop, ExitAddressCountersModel::AddressColumn),
                 QStringLiteral("0x500"));
        QCOMPARE(cell(model, loop, ExitAddressCountersModel::KindColumn), QStringLiteral("PIO"));
        QCOMPARE(cell(model, loop, ExitAddressCountersModel::DirectionColumn),
                 QStringLiteral("out"));
        // Nothing decodes port 0x500 (that is why the guest uses it).
        QCOMPARE(cell(model, loop, ExitAddressCountersModel::DeviceColumn), QString());
        QCOMPARE(model.index(loop, ExitAddressCountersModel::ExitsColumn).data().toULongLong(),
                 quint64(rounds));

        // The final write to the debug-exit port, and nothing else: every exit is accounted for.
        const int exit = model.rowOf(AccessKind::PortOut, kDebugExitPort);
        QVERIFY(exit >= 0);
        QCOMPARE(model.exits(exit), quint64(1));
        QVERIFY(!cell(model, exit, ExitAddressCountersModel::DeviceColumn).isEmpty());
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.exits(loop) + model.exits(exit),
                 traceCount(session->machine(), KVM_EXIT_IO));
    }

    void helloUartRowsFollowTheSerialOutput() {
        auto session = runToStop("hello");
        QVERIFY(session);
        ExitAddressCountersModel model;
        model.setSession(session.get());

        // One THR write per byte the guest printed, and one LSR read at least before each (the
        // guest polls THRE before every byte). The bytes reach the session's transcript through
        // queued signals, possibly after the stop: wait for them.
        const int thr = model.rowOf(AccessKind::PortOut, kCom1Thr);
        const int lsr = model.rowOf(AccessKind::PortIn, kCom1Lsr);
        QVERIFY(thr >= 0);
        QVERIFY(lsr >= 0);
        QVERIFY(model.exits(thr) > 0);
        QTRY_COMPARE_WITH_TIMEOUT(quint64(session->serialTranscript().size()), model.exits(thr),
                                  kGuestTimeoutMs);
        QCOMPARE(model.bytes(thr), model.exits(thr));
        QVERIFY(model.exits(lsr) >= model.exits(thr));
        QCOMPARE(cell(model, lsr, ExitAddressCountersModel::DirectionColumn), QStringLiteral("in"));

        // The device column is the owner the machine's port bus names.
        const AddressBus::Range* com1 = session->machine().ioBus().find(kCom1Thr);
        QVERIFY(com1);
        QCOMPARE(cell(model, thr, ExitAddressCountersModel::DeviceColumn),
                 QString::fromStdString(com1->owner));
        QCOMPARE(cell(model, lsr, ExitAddressCountersModel::DeviceColumn),
                 QString::fromStdString(com1->owner));
    }

    void fullTableSpillsIntoOtherAddresses() {
        // The MMIO sweep touches thousands of addresses: more than one vcpu's table holds.
        auto session = runToStop("hostile-mmio-sweep");
        QVERIFY(session);
        ExitAddressCountersModel model;
        new QAbstractItemModelTester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest,
                                     &model);
        model.setSession(session.get());

        const int other = model.rowOf(AccessKind::None, 0);
        QVERIFY(other >= 0);
        QVERIFY(model.exits(other) > 0);
        QCOMPARE(cell(model, other, ExitAddressCountersModel::AddressColumn),
                 QStringLiteral("other addresses"));
        QVERIFY(model.index(other, 0)
                    .data(Qt::ToolTipRole)
                    .toString()
                    .contains(QString::number(ExitAddressCountersModel::kMaxAddressesPerVcpu)));
        QVERIFY(model.rowCount() > int(ExitAddressCountersModel::kMaxAddressesPerVcpu));

        bool sawRead = false, sawWrite = false;
        quint64 total = 0;
        for (int row = 0; row < model.rowCount(); ++row) {
            total += model.exits(row);
            const QString direction = cell(model, row, ExitAddressCountersModel::DirectionColumn);
            if (cell(model, row, ExitAddressCountersModel::KindColumn) == QStringLiteral("MMIO")) {
                sawRead |= direction == QStringLiteral("read");
                sawWrite |= direction == QStringLiteral("write");
            }
        }
        QVERIFY(sawRead && sawWrite);
        // Not one exit lost between the table and the overflow row.
        QCOMPARE(total, traceCount(session->machine(), KVM_EXIT_IO) +
                            traceCount(session->machine(), KVM_EXIT_MMIO));
    }

    void ratesFollowARunningGuestWhileLive() {
        // io-loop patched to loop for as long as the test needs (the round count after "IOLN").
        QFile original(QString::fromStdString(guestImage("io-loop")));
        QVERIFY(original.open(QIODevice::ReadOnly));
        QByteArray image = original.readAll();
        QVERIFY(image.size() >= 12 && image.mid(4, 4) == "IOLN");
        qToLittleEndian(quint32(0xffffffffu), image.data() + 8);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("io-loop-long"));
        QFile patched(path);
        QVERIFY(patched.open(QIODevice::WriteOnly) && patched.write(image) == image.size());
        patched.close();

        KVMSCOPE_GUI_GUEST_CONFIG(config, "io-loop");
        config.boot.imagePath = path.toStdString();
        MachineSession session(config, *system_);
        ExitAddressCountersModel model;
        model.setSession(&session);
        session.run();
        // The rate is over the last statistics interval, as the per-reason counters' is: all the
        // guest's port exits go to 0x500, so the two agree.
        QTRY_VERIFY_WITH_TIMEOUT(model.rowOf(AccessKind::PortOut, kIoLoopPort) >= 0 &&
                                     model.index(model.rowOf(AccessKind::PortOut, kIoLoopPort),
                                                 ExitAddressCountersModel::RateColumn)
                                             .data(ExitAddressCountersModel::SortRole)
                                             .toDouble() > 0,
                                 kGuestTimeoutMs);
        const int loop = model.rowOf(AccessKind::PortOut, kIoLoopPort);
        const double rate = model.index(loop, ExitAddressCountersModel::RateColumn)
                                .data(ExitAddressCountersModel::SortRole)
                                .toDouble();
        const double ioRate = session.exitRates()[KVM_EXIT_IO];
        QVERIFY2(
            rate > 0.8 * ioRate && rate < 1.2 * ioRate,
            qPrintable(QStringLiteral("0x500 at %1/s, IO exits at %2/s").arg(rate).arg(ioRate)));

        // Not live: samples no longer reach the model.
        model.setLive(false);
        const quint64 frozen = model.exits(loop);
        QSignalSpy sampled(&session, &MachineSession::statisticsUpdated);
        QVERIFY(sampled.wait(MachineSession::kStatisticsIntervalMs * 4));
        QCOMPARE(model.exits(loop), frozen);
        model.setLive(true);
        QVERIFY(model.exits(loop) > frozen);
        session.stop();
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MachineSession::State::Stopped, kGuestTimeoutMs);
    }

    void viewSortsByNumbersAndSamplesOnlyWhileShown() {
        auto session = runToStop("hello");
        QVERIFY(session);
        ExitsView view;
        view.setSession(session.get());
        ExitAddressCountersModel* model = view.addressModel();
        // Hidden: the model ignores the samples.
        QVERIFY(!model->live());
        QCOMPARE(model->rowCount(), 0);
        view.show();
        QVERIFY(model->live());
        QVERIFY(model->rowCount() > 2);

        // Busiest first by default; by address, addresses ascend as numbers, not as text.
        QTableView* table = view.addressTable();
        const QAbstractItemModel* sorted = table->model();
        for (int row = 1; row < sorted->rowCount(); ++row)
            QVERIFY(sorted->index(row - 1, ExitAddressCountersModel::ExitsColumn)
                        .data()
                        .toULongLong() >=
                    sorted->index(row, ExitAddressCountersModel::ExitsColumn).data().toULongLong());
        table->sortByColumn(ExitAddressCountersModel::AddressColumn, Qt::AscendingOrder);
        for (int row = 1; row < sorted->rowCount(); ++row)
            QVERIFY(
                sorted->index(row - 1, 0).data(ExitAddressCountersModel::SortRole).toULongLong() <=
                sorted->index(row, 0).data(ExitAddressCountersModel::SortRole).toULongLong());

        view.hide();
        QVERIFY(!model->live());
    }
};

QTEST_MAIN(ExitAddressCountersModelTest)
#include "ExitAddressCountersModelTest.moc"
