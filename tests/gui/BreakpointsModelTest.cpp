// The Debugger dock's breakpoint list and add-breakpoint dialog against the debug-target guest
// (resources/guests/debug-target) on /dev/kvm, offscreen: the Enabled check column toggles the
// engine's flag (same id, not hit while unchecked), the Hits column follows every stop, an exit
// breakpoint unchecked lets the UART write through, and the dialog's watchpoints: 1/2/4/8 bytes,
// write or read/write, the engine's refusal text (misaligned, no free debug register) and the
// mechanism line.
#include "debugger/BreakpointsModel.h"

#include "DebuggerViewFixture.h"
#include "debug/Debugger.h"
#include "debugger/AddBreakpointDialog.h"
#include "debugger/DebuggerView.h"
#include "machine/Machine.h"
#include "session/MachineSession.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QComboBox>
#include <QLineEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>

using namespace kvmscope;
using namespace kvmscope::ui;
using namespace kvmscope::testing;

class BreakpointsModelTest : public QObject, private DebuggerViewFixture {
    Q_OBJECT
private:
    BreakpointsModel& list() { return *view_->breakpoints(); }

    // Continue from the dock and wait until the view has the next stop.
    std::optional<debug::DebugStop> continueToStop() {
        QSignalSpy stops(session_.get(), &MachineSession::debugStopped);
        view_->action(DebuggerView::Action::Continue)->trigger();
        if (!QTest::qWaitFor([&] { return !stops.isEmpty(); }, kGuestTimeoutMs))
            return std::nullopt;
        if (!QTest::qWaitFor([&] { return session_->state() == MachineSession::State::Paused; },
                             kGuestTimeoutMs))
            return std::nullopt;
        QCoreApplication::processEvents(); // the view's queued refresh
        return view_->lastStop();
    }

    QVariant cell(int row, int column, int role = Qt::DisplayRole) {
        return list().index(row, column).data(role);
    }

    bool setChecked(int row, bool checked) {
        return list().setData(list().index(row, BreakpointsModel::EnabledColumn),
                              checked ? Qt::Checked : Qt::Unchecked, Qt::CheckStateRole);
    }

    int addWatchFromDialog(AddBreakpointDialog::Kind kind, const QString& address, unsigned length,
                           QString* error) {
        AddBreakpointDialog dialog(list(), {}, &debugger().guest().symbols());
        dialog.setKind(kind);
        dialog.addressEdit()->setText(address);
        dialog.watchLengthBox()->setCurrentIndex(dialog.watchLengthBox()->findData(length));
        dialog.accept();
        *error = dialog.errorText();
        return dialog.result() == QDialog::Accepted ? dialog.addedId() : 0;
    }

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_GUI_REQUIRE_KVM();
        useCleanSettings("BreakpointsModelTest");
    }

    void init() { openSession(false); }

    void cleanup() { closeSession(); }

    void checkColumnTogglesTheEngineAndHitsFollowStops() {
        const uint64_t addStep = symbol("add_step");
        const int id = list().addBreakpoint(addStep);
        QCOMPARE(list().rowCount(), 1);
        const QModelIndex check = list().index(0, BreakpointsModel::EnabledColumn);
        QVERIFY(list().flags(check) & Qt::ItemIsUserCheckable);
        QVERIFY(
            !(list().flags(list().index(0, BreakpointsModel::IdColumn)) & Qt::ItemIsUserCheckable));
        QCOMPARE(cell(0, BreakpointsModel::EnabledColumn, Qt::CheckStateRole).toInt(),
                 int(Qt::Checked));
        QCOMPARE(list().headerData(BreakpointsModel::EnabledColumn, Qt::Horizontal).toString(),
                 QStringLiteral("Enabled"));

        // Three stops on add_step: the Hits column says 1, 2, 3 at each.
        for (unsigned n = 1; n <= 3; ++n) {
            const auto stop = continueToStop();
            QVERIFY(stop);
            QCOMPARE(stop->breakpointId, id);
            QCOMPARE(cell(0, BreakpointsModel::HitsColumn).toUInt(), n);
        }

        // Unchecked: the engine's flag, same id; the row stays, greyed, with its hits.
        QSignalSpy changed(&list(), &BreakpointsModel::breakpointsChanged);
        QVERIFY(setChecked(0, false));
        QCOMPARE(changed.count(), 1);
        QCOMPARE(debugger().breakpoints().size(), size_t(1));
        QCOMPARE(debugger().breakpoints().front().id, id);
        QVERIFY(!debugger().breakpoints().front().enabled);
        QCOMPARE(cell(0, BreakpointsModel::EnabledColumn, Qt::CheckStateRole).toInt(),
                 int(Qt::Unchecked));
        QCOMPARE(cell(0, BreakpointsModel::IdColumn).toInt(), id);
        QVERIFY(cell(0, BreakpointsModel::KindColumn, Qt::ForegroundRole).isValid());
        QCOMPARE(list().markerAt(addStep), BreakpointsModel::Marker::Disabled);

        // The remaining calls pass it: the next stop is frame_outer's, after the loop.
        const int outer = list().addBreakpoint(symbol("frame_outer"));
        const auto atOuter = continueToStop();
        QVERIFY(atOuter);
        QCOMPARE(atOuter->breakpointId, outer);
        QCOMPARE(cell(0, BreakpointsModel::HitsColumn).toUInt(), 3u);
        QCOMPARE(cell(1, BreakpointsModel::HitsColumn).toUInt(), 1u);

        // Checked again: armed under the same id.
        QVERIFY(setChecked(0, true));
        QCOMPARE(debugger().breakpoints().front().id, id);
        QVERIFY(debugger().breakpoints().front().enabled);
        QCOMPARE(list().markerAt(addStep), BreakpointsModel::Marker::Enabled);
        QCOMPARE(list().rowCount(), 2);
    }

    void uncheckedExitBreakpointLetsTheUartWriteThrough() {
        AddBreakpointDialog dialog(list(), {}, &debugger().guest().symbols());
        dialog.setKind(AddBreakpointDialog::Kind::PortWrite);
        dialog.addressEdit()->setText(QStringLiteral("0x3f8"));
        QVERIFY(dialog.mechanismText().contains(QLatin1String("exit")));
        dialog.accept();
        QVERIFY2(dialog.errorText().isEmpty(), qPrintable(dialog.errorText()));
        const auto stop = continueToStop();
        QVERIFY(stop);
        QCOMPARE(stop->reason, debug::DebugStopReason::ExitBreakpoint);
        QCOMPARE(stop->value, uint64_t('d'));
        QCOMPARE(cell(0, BreakpointsModel::HitsColumn).toUInt(), 1u);
        QVERIFY(session_->serialTranscript().isEmpty());

        QVERIFY(setChecked(0, false));
        QVERIFY(!debugger().exitBreakpoints().front().enabled);
        view_->action(DebuggerView::Action::Continue)->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(
            session_->serialTranscript().contains("debug-target\r\ntotal 36, counter 36"),
            kGuestTimeoutMs);
        QCOMPARE(debugger().exitBreakpoints().front().hits, uint64_t(1));
        QCOMPARE(cell(0, BreakpointsModel::HitsColumn).toUInt(), 1u);
    }

    void dialogCreatesWatchpointsAndShowsTheEnginesRefusals() {
        const uint64_t counter = symbol("watched_counter");
        const auto& support = debugger().hostSupport();
        {
            AddBreakpointDialog dialog(list(), {}, &debugger().guest().symbols());
            dialog.setKind(AddBreakpointDialog::Kind::WriteWatchpoint);
            QVERIFY(dialog.watchLengthBox()->isEnabled());
            QVERIFY(!dialog.lengthBox()->isEnabled());
            QCOMPARE(dialog.watchLengthBox()->count(), 4);
            const QString mechanism = dialog.mechanismText();
            // Where data watchpoints never fire, the dialog says so before one is set.
            if (support.writeWatch.works)
                QVERIFY2(mechanism.contains(QLatin1String("4 of DR0-DR3 free")),
                         qPrintable(mechanism));
            else
                QVERIFY2(mechanism.contains(QLatin1String("will be refused")) &&
                             mechanism.contains(QString::fromStdString(support.writeWatch.detail)),
                         qPrintable(mechanism));
            dialog.setKind(AddBreakpointDialog::Kind::PortWrite);
            QVERIFY(!dialog.watchLengthBox()->isEnabled());
        }
        if (!support.writeWatch.works || !support.readWriteWatch.works) {
            // Refused by the engine with the probe's finding, and nothing listed as armed.
            QString error;
            const bool write = !support.writeWatch.works;
            QCOMPARE(addWatchFromDialog(write ? AddBreakpointDialog::Kind::WriteWatchpoint
                                              : AddBreakpointDialog::Kind::ReadWriteWatchpoint,
                                        QStringLiteral("watched_counter"), 8, &error),
                     0);
            const debug::ProbeFinding& finding =
                write ? support.writeWatch : support.readWriteWatch;
            QVERIFY2(error.contains(QString::fromStdString(finding.detail)), qPrintable(error));
            QCOMPARE(list().rowCount(), 0);
            QSKIP(qPrintable("data watchpoints do not fire on this host: " +
                             QString::fromStdString(finding.detail)));
        }

        // A write watchpoint of 8 bytes on the counter.
        QString error;
        const int write = addWatchFromDialog(AddBreakpointDialog::Kind::WriteWatchpoint,
                                             QStringLiteral("watched_counter"), 8, &error);
        QVERIFY2(write > 0, qPrintable(error));
        QCOMPARE(list().rowCount(), 1);
        QCOMPARE(cell(0, BreakpointsModel::KindColumn).toString(),
                 QStringLiteral("write watchpoint"));
        QVERIFY(cell(0, BreakpointsModel::MechanismColumn)
                    .toString()
                    .startsWith(QLatin1String("debug register DR")));
        QCOMPARE(cell(0, BreakpointsModel::WhereColumn).toString(),
                 QStringLiteral("0x%1 (8 bytes)").arg(counter, 0, 16));

        // Misaligned: the engine's message, the dialog stays open, nothing added.
        const int misaligned = addWatchFromDialog(AddBreakpointDialog::Kind::WriteWatchpoint,
                                                  QStringLiteral("watched_counter+2"), 4, &error);
        QCOMPARE(misaligned, 0);
        QVERIFY2(error.contains(QLatin1String("aligned to 4")), qPrintable(error));
        QCOMPARE(list().rowCount(), 1);

        // Read/write watchpoints of 1, 2 and 4 bytes take the other three debug registers.
        for (const unsigned length : {1u, 2u, 4u}) {
            const int id =
                addWatchFromDialog(AddBreakpointDialog::Kind::ReadWriteWatchpoint,
                                   QStringLiteral("0x%1").arg(counter, 0, 16), length, &error);
            QVERIFY2(id > 0, qPrintable(error));
        }
        QCOMPARE(list().rowCount(), 4);
        for (int row = 1; row < 4; ++row)
            QCOMPARE(cell(row, BreakpointsModel::KindColumn).toString(),
                     QStringLiteral("read/write watchpoint"));
        QCOMPARE(debugger().breakpoints().back().length, 4u);
        QCOMPARE(list().freeDebugRegisters(), 0u);

        // No slot left: the mechanism line says so, and the engine's refusal is shown.
        {
            AddBreakpointDialog dialog(list(), {}, &debugger().guest().symbols());
            dialog.setKind(AddBreakpointDialog::Kind::WriteWatchpoint);
            QVERIFY2(dialog.mechanismText().contains(QLatin1String("DR0-DR3 are taken")),
                     qPrintable(dialog.mechanismText()));
        }
        QCOMPARE(addWatchFromDialog(AddBreakpointDialog::Kind::WriteWatchpoint,
                                    QStringLiteral("watched_counter"), 8, &error),
                 0);
        QVERIFY2(error.contains(QLatin1String("no free debug register")), qPrintable(error));

        // Unchecking one frees its register: the list says so, and the dialog's request fits.
        QVERIFY(setChecked(0, false));
        QCOMPARE(cell(0, BreakpointsModel::MechanismColumn).toString(),
                 QStringLiteral("debug register (none held while disabled)"));
        QCOMPARE(list().freeDebugRegisters(), 1u);
        const int taker = addWatchFromDialog(AddBreakpointDialog::Kind::WriteWatchpoint,
                                             QStringLiteral("watched_counter"), 2, &error);
        QVERIFY2(taker > 0, qPrintable(error));

        // Checking the first one again now fails: the engine's reason goes out, it stays off.
        QSignalSpy errors(&list(), &BreakpointsModel::errorOccurred);
        QVERIFY(!setChecked(0, true));
        QCOMPARE(errors.count(), 1);
        QVERIFY(
            errors.front().front().toString().contains(QLatin1String("no free debug register")));
        QCOMPARE(cell(0, BreakpointsModel::EnabledColumn, Qt::CheckStateRole).toInt(),
                 int(Qt::Unchecked));
    }
};

QTEST_MAIN(BreakpointsModelTest)
#include "BreakpointsModelTest.moc"
