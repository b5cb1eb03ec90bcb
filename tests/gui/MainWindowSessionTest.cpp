// The main window with real machines: a demo's greeting in the serial console, actions enabled
// by the current machine's state, several machines at once, a bad image reported by the
// new-machine dialog, and a screenshot for a person to look at.
#include "GuiTestSupport.h"
#include "console/SerialConsoleView.h"
#include "debug/Debugger.h"
#include "debugger/DebuggerView.h"
#include "devices/DeviceTreeModel.h"
#include "devices/DevicesView.h"
#include "exits/ExitCountersModel.h"
#include "exits/ExitRateHistory.h"
#include "exits/ExitsView.h"
#include "exits/RecentExitsModel.h"
#include "host/HostInfoModel.h"
#include "host/HostView.h"
#include "machine/Machine.h"
#include "registers/RegistersModel.h"
#include "registers/RegistersView.h"
#include "session/MachineListModel.h"
#include "session/MachineSession.h"
#include "window/MainWindow.h"
#include "window/NewMachineDialog.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QDockWidget>
#include <QFile>
#include <QFileInfo>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTimer>

using namespace kvmscope;
using namespace kvmscope::ui;
using namespace kvmscope::testing;

namespace {

DemoImage demo(const char* name) {
    return {QString::fromLatin1(name),
            QString::fromStdString(guestImage(name)),
            {},
            boot::ImageFormat::Auto,
            1};
}

bool enabled(const MainWindow& window, MainWindow::Action action) {
    return window.action(action)->isEnabled();
}

} // namespace

class MainWindowSessionTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_GUI_REQUIRE_KVM();
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("kvmscope-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("MainWindowSessionTest"));
        QSettings().clear();
    }

    void helloGreetsInTheSerialConsole() {
        MainWindow window({demo("hello")});
        window.show();
        QString error;
        MachineSession* session = window.openDemo(window.demos().front(), &error);
        QVERIFY2(session, qPrintable(error));
        QCOMPARE(window.currentSession(), session);
        session->run();
        QTRY_VERIFY_WITH_TIMEOUT(window.serialConsole()->text().contains(
                                     QStringLiteral("Hello from the kvmscope hello demo")),
                                 kGuestTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(session->state(), MachineSession::State::Stopped,
                                  kGuestTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(window.statusStateText().contains(QStringLiteral("Stopped")),
                                 kGuestTimeoutMs);

        // Save log: the whole transcript lands in the file; a path that cannot be written is
        // reported by name and leaves nothing behind.
        QTemporaryDir directory;
        QVERIFY(directory.isValid());
        const QString path = directory.filePath(QStringLiteral("serial.log"));
        QVERIFY2(window.serialConsole()->saveLog(path, &error), qPrintable(error));
        QFile saved(path);
        QVERIFY(saved.open(QIODevice::ReadOnly));
        QVERIFY(saved.readAll().contains("Hello from the kvmscope hello demo"));
        const QString badPath = directory.filePath(QStringLiteral("missing-dir/serial.log"));
        QVERIFY(!window.serialConsole()->saveLog(badPath, &error));
        QVERIFY2(error.contains(badPath), qPrintable(error));
        QVERIFY(!QFile::exists(badPath));
    }

    void actionsFollowTheMachinesState() {
        MainWindow window({demo("spin")});
        window.show();
        MachineSession* session = window.openDemo(window.demos().front());
        QVERIFY(session);
        // Created: can run, step, power off; nothing to pause.
        QVERIFY(enabled(window, MainWindow::Action::Run));
        QVERIFY(enabled(window, MainWindow::Action::Step));
        QVERIFY(enabled(window, MainWindow::Action::PowerOff));
        QVERIFY(!enabled(window, MainWindow::Action::Pause));

        window.action(MainWindow::Action::Run)->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(session->state(), MachineSession::State::Running,
                                  kGuestTimeoutMs);
        QVERIFY(enabled(window, MainWindow::Action::Pause));
        QVERIFY(!enabled(window, MainWindow::Action::Run));
        QVERIFY(!enabled(window, MainWindow::Action::Step));

        window.action(MainWindow::Action::Pause)->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(session->state(), MachineSession::State::Paused, kGuestTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(enabled(window, MainWindow::Action::Run), kGuestTimeoutMs);
        QVERIFY(enabled(window, MainWindow::Action::Step));
        QVERIFY(!enabled(window, MainWindow::Action::Pause));
        // The register view shows the paused vcpu's RIP inside the spin loop.
        QTRY_VERIFY_WITH_TIMEOUT(
            window.registersView()->model()->indexOfRegister(QStringLiteral("RIP")).isValid(),
            kGuestTimeoutMs);

        window.action(MainWindow::Action::PowerOff)->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(session->state(), MachineSession::State::Stopped,
                                  kGuestTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(!enabled(window, MainWindow::Action::PowerOff), kGuestTimeoutMs);
        QVERIFY(!enabled(window, MainWindow::Action::Run));
        QVERIFY(!enabled(window, MainWindow::Action::Pause));
        QVERIFY(!enabled(window, MainWindow::Action::Step));
        QVERIFY(enabled(window, MainWindow::Action::Remove));
        window.action(MainWindow::Action::Remove)->trigger();
        QCOMPARE(window.machines()->rowCount(), 0);
        QVERIFY(!window.currentSession());
    }

    // Machine ▸ Reset boots the image again on a fresh machine; every view follows the new one
    // (the device tree lists its devices, the registers come from its vcpu).
    void resetRebindsEveryView() {
        MainWindow window({demo("spin")});
        window.show();
        MachineSession* session = window.openDemo(window.demos().front());
        QVERIFY(session);
        QVERIFY(enabled(window, MainWindow::Action::Reset));
        QVERIFY(!window.action(MainWindow::Action::Reset)->shortcut().isEmpty());
        session->run();
        QTRY_VERIFY_WITH_TIMEOUT(session->serialTranscript().count("spin") == 1, kGuestTimeoutMs);
        const int devices = window.devicesView()->model()->rowCount();
        QVERIFY(devices > 0);

        window.action(MainWindow::Action::Reset)->trigger();
        QCOMPARE(session->resetCount(), 1u);
        QCOMPARE(window.currentSession(), session);
        QTRY_VERIFY_WITH_TIMEOUT(session->serialTranscript().count("spin") == 2, kGuestTimeoutMs);
        QCOMPARE(window.devicesView()->model()->rowCount(), devices);
        session->pause();
        QTRY_COMPARE_WITH_TIMEOUT(session->state(), MachineSession::State::Paused, kGuestTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(
            window.registersView()->model()->indexOfRegister(QStringLiteral("RIP")).isValid(),
            kGuestTimeoutMs);
        // The status bar's uptime restarted with the new machine.
        QVERIFY(session->uptimeMs() < 60000);
    }

    // Every action of the Machine menu and the toolbar has a keyboard shortcut.
    void everyActionHasAShortcut() {
        MainWindow window({demo("spin")});
        for (auto action :
             {MainWindow::Action::NewMachine, MainWindow::Action::OpenImage,
              MainWindow::Action::Run, MainWindow::Action::Pause, MainWindow::Action::Step,
              MainWindow::Action::Reset, MainWindow::Action::PowerOff,
              MainWindow::Action::AddKernelDevice, MainWindow::Action::Remove,
              MainWindow::Action::Quit, MainWindow::Action::About}) {
            QAction* qaction = window.action(action);
            QVERIFY2(!qaction->shortcut().isEmpty(), qPrintable(qaction->objectName()));
            QVERIFY2(
                qaction->toolTip().contains(qaction->shortcut().toString(QKeySequence::NativeText)),
                qPrintable(qaction->toolTip()));
        }
    }

    // A crashed guest (triple fault) stops only its machine; the window reports the reason in a
    // non-modal box and shows the registers, and another machine keeps running.
    void crashIsReportedWithItsReason() {
        MainWindow window({demo("hello")});
        window.show();
        KVMSCOPE_GUI_GUEST_CONFIG(spinConfig, "spin");
        QString error;
        MachineSession* spin = window.openMachine(spinConfig, &error);
        QVERIFY2(spin, qPrintable(error));
        spin->run();
        KVMSCOPE_GUI_GUEST_CONFIG(crashConfig, "triple-fault");
        MachineSession* crashing = window.openMachine(crashConfig, &error);
        QVERIFY2(crashing, qPrintable(error));
        crashing->run();
        QTRY_COMPARE_WITH_TIMEOUT(crashing->state(), MachineSession::State::Stopped,
                                  kGuestTimeoutMs);
        QMessageBox* report = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT(
            (report = window.findChild<QMessageBox*>(QStringLiteral("crashReport"))) != nullptr,
            kGuestTimeoutMs);
        QVERIFY2(report->text().contains(QStringLiteral("triple fault")),
                 qPrintable(report->text()));
        // Which state the Registers view shows is said, and the last exit's registers are there.
        QVERIFY2(report->text().contains(QStringLiteral("Registers view")),
                 qPrintable(report->text()));
        QVERIFY2(report->detailedText().contains(QStringLiteral("at its last exit")),
                 qPrintable(report->detailedText()));
        // The chain that led to the shutdown: the guest's ud2 under an IDT of limit 0.
        QVERIFY2(report->text().contains(QStringLiteral("Triple-fault autopsy: #UD")) &&
                     report->text().contains(QStringLiteral("triple fault (")),
                 qPrintable(report->text()));
        QVERIFY2(report->detailedText().contains(QStringLiteral("lies beyond the IDT limit 0x0")),
                 qPrintable(report->detailedText()));
        QCOMPARE(report->windowModality(), Qt::NonModal); // the window stays usable
        QCOMPARE(window.currentSession(), crashing);
        QCOMPARE(spin->state(), MachineSession::State::Running);
        report->close();
        spin->stop();
    }

    // One rule from every entry point: a new machine runs at once unless started paused
    // (Machine > Start new machines paused for Open image, Recent and Demos; the New... dialog's
    // own box; --paused on the command line goes through launchMachine as well).
    void startPausedFromEveryEntryPoint() {
        MainWindow window({demo("spin")});
        const QString spinPath = QString::fromStdString(guestImage("spin"));
        // Running by default.
        QVERIFY(!window.startPausedDefault());
        MachineSession* running = window.launchImagePath(spinPath);
        QVERIFY(running);
        QTRY_COMPARE_WITH_TIMEOUT(running->state(), MachineSession::State::Running,
                                  kGuestTimeoutMs);
        running->stop();
        // Paused by the Machine menu's setting: Open image / Recent ...
        window.startPausedAction()->trigger();
        QVERIFY(window.startPausedDefault());
        MachineSession* opened = window.launchImagePath(spinPath);
        QVERIFY(opened);
        QTest::qWait(200);
        QCOMPARE(opened->state(), MachineSession::State::Created);
        QCOMPARE(opened->totalExits(), quint64{0});
        // ... and Demos.
        auto* demos = window.findChild<QMenu*>(QStringLiteral("demosMenu"));
        QVERIFY(demos);
        demos->actions().front()->trigger();
        MachineSession* fromDemo = window.currentSession();
        QVERIFY(fromDemo && fromDemo != opened);
        QTest::qWait(200);
        QCOMPARE(fromDemo->state(), MachineSession::State::Created);
        // The New... dialog starts with the setting and has its own box.
        NewMachineDialog* dialog = window.showNewMachineDialog(spinPath);
        QVERIFY(dialog->startPausedBox()->isChecked());
        dialog->startPausedBox()->setChecked(false);
        dialog->accept();
        MachineSession* fromDialog = window.currentSession();
        QVERIFY(fromDialog && fromDialog != fromDemo);
        QTRY_COMPARE_WITH_TIMEOUT(fromDialog->state(), MachineSession::State::Running,
                                  kGuestTimeoutMs);
        fromDialog->stop();
        window.startPausedAction()->trigger(); // the setting is kept: leave it as found
        QVERIFY(!window.startPausedDefault());
    }

    // The state texts follow the machine: a machine stepped by the debugger is no longer
    // "Created", and after a power-off the debugger's line says so instead of the last step.
    void stateTextsAreCurrentAfterStepsAndPowerOff() {
        MainWindow window({demo("spin")});
        KVMSCOPE_GUI_GUEST_CONFIG(config, "spin");
        MachineSession* session = window.launchMachine(config, true);
        QVERIFY(session);
        QCOMPARE(session->state(), MachineSession::State::Created);
        for (int step = 0; step < 3; ++step) {
            session->machine().debugger().stepInstruction(0);
            QTRY_COMPARE_WITH_TIMEOUT(session->state(), MachineSession::State::Paused,
                                      kGuestTimeoutMs);
        }
        QTRY_VERIFY_WITH_TIMEOUT(!window.statusStateText().contains(QStringLiteral("Created")),
                                 kGuestTimeoutMs);
        const QModelIndex row = window.machines()->index(0);
        QVERIFY2(!row.data().toString().contains(QStringLiteral("Created")),
                 qPrintable(row.data().toString()));
        QTRY_VERIFY_WITH_TIMEOUT(
            window.debuggerView()->statusText().contains(QStringLiteral("step")), kGuestTimeoutMs);
        session->stop();
        QTRY_COMPARE_WITH_TIMEOUT(session->state(), MachineSession::State::Stopped,
                                  kGuestTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(
            window.debuggerView()->statusText().contains(QStringLiteral("powered off")),
            kGuestTimeoutMs);
        QVERIFY(!window.debuggerView()->statusText().contains(QStringLiteral("step")));
        // Run is off now, and says what brings the machine back.
        QAction* run = window.action(MainWindow::Action::Run);
        QVERIFY(!run->isEnabled());
        QVERIFY2(run->toolTip().contains(QStringLiteral("Reset")), qPrintable(run->toolTip()));
    }

    // A guest that resets itself keeps its statistics: totals over all boots, the counters'
    // "All boots" column, recent exits that keep coming, the boot in the status bar, and the
    // console with a line where each boot begins.
    void statisticsSurviveAGuestReboot() {
        MainWindow window({demo("reset")});
        KVMSCOPE_GUI_GUEST_CONFIG(config, "reset");
        MachineSession* session = window.launchMachine(config, false);
        QVERIFY(session);
        QTRY_VERIFY_WITH_TIMEOUT(session->resetCount() >= 3, kGuestTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(session->totalExitsOfAllBoots() > session->totalExits(),
                                 kGuestTimeoutMs);
        QCOMPARE(session->state(), MachineSession::State::Running);
        QTRY_VERIFY_WITH_TIMEOUT(window.statusExitsText().contains(QStringLiteral("boot")),
                                 kGuestTimeoutMs);
        QVERIFY(!window.statusStateText().contains(QStringLiteral("Created")));
        ExitsView* exits = window.findChild<ExitsView*>();
        QVERIFY(exits);
        const ExitCountersModel* counters = exits->countersModel();
        QTRY_VERIFY_WITH_TIMEOUT(counters->rowOfReason(KVM_EXIT_IO) >= 0, kGuestTimeoutMs);
        const int io = counters->rowOfReason(KVM_EXIT_IO);
        QTRY_VERIFY_WITH_TIMEOUT(
            counters->index(io, ExitCountersModel::AllBootsColumn).data().toULongLong() >
                counters->index(io, ExitCountersModel::CountColumn).data().toULongLong(),
            kGuestTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(exits->recentModel()->rowCount() > 0, kGuestTimeoutMs);
        QVERIFY(session->serialTranscript().contains("-- kvmscope: boot 2 --"));
        session->stop();
    }

    // Machine → Save state… of a running machine and Load state… of the file: the saved machine
    // runs on, and the loaded one continues from the save (no "ticks: start", a later tick
    // first) to the guest's end.
    void savedStateLoadsAndContinues() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(QStringLiteral("ticks.kvmsnap"));
        MainWindow window({demo("hello")});
        KVMSCOPE_GUI_GUEST_CONFIG(config, "ticks");
        // Started paused and run once the window's event loop turns: ticks takes 2-3 s on a fast
        // host, less than a busy machine may spend laying out a new window.
        MachineSession* session = window.launchMachine(config, true);
        QVERIFY(session);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        session->run();
        QTRY_VERIFY_WITH_TIMEOUT(session->serialTranscript().contains("tick 3 "), kGuestTimeoutMs);
        QVERIFY2(session->state() != MachineSession::State::Stopped,
                 "ticks ran to its end before the save: the window's event loop was held up");
        QVERIFY(window.saveStateTo(path));
        QVERIFY(QFileInfo(path).size() > 0);
        QCOMPARE(session->state(), MachineSession::State::Running); // it runs on
        QVERIFY(window.statusBar()->currentMessage().contains(QStringLiteral("Saved")));
        session->stop();

        MachineSession* loaded = window.loadStateFrom(path);
        QVERIFY(loaded);
        if (loaded->state() != MachineSession::State::Running)
            loaded->run();
        QTRY_VERIFY_WITH_TIMEOUT(loaded->serialTranscript().contains("ticks: done"),
                                 kGuestTimeoutMs * 3);
        const QByteArray restored = loaded->serialTranscript();
        QVERIFY2(!restored.contains("ticks: start") && !restored.contains("tick 0 "),
                 restored.constData());
        QVERIFY(restored.contains("tick 99 "));
        // A file that is not a snapshot is refused before any machine is made.
        QFile junk(dir.filePath(QStringLiteral("junk.kvmsnap")));
        QVERIFY(junk.open(QIODevice::WriteOnly) && junk.write("not a snapshot") > 0);
        junk.close();
        QTimer::singleShot(0, [] {
            for (QWidget* widget : QApplication::topLevelWidgets())
                if (auto* box = qobject_cast<QMessageBox*>(widget))
                    box->accept();
        });
        QVERIFY(!window.loadStateFrom(junk.fileName()));
    }

    void severalMachinesAtOnce() {
        MainWindow window({demo("hang"), demo("spin")});
        MachineSession* hang = window.openDemo(window.demos().at(0));
        MachineSession* spin = window.openDemo(window.demos().at(1));
        QVERIFY(hang && spin);
        QCOMPARE(window.machines()->rowCount(), 2);
        QCOMPARE(window.currentSession(), spin);
        hang->run();
        spin->run();
        QTRY_VERIFY_WITH_TIMEOUT(hang->serialTranscript().contains("hang"), kGuestTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(window.serialConsole()->text().contains(QStringLiteral("spin")),
                                 kGuestTimeoutMs);
        window.setCurrentSession(hang);
        QVERIFY(window.serialConsole()->text().contains(QStringLiteral("hang")));
        QVERIFY(!window.serialConsole()->text().contains(QStringLiteral("spin")));
        QVERIFY(window.devicesView()->model()->findDevice(QStringLiteral("UART")).isValid());
        const QModelIndex row = window.machines()->index(0);
        QCOMPARE(row.data(MachineListModel::NameRole).toString(), QStringLiteral("hang"));
        QVERIFY(row.data().toString().contains(QStringLiteral("Running")));
        // Stopping one leaves the other running.
        hang->stop();
        QTRY_COMPARE_WITH_TIMEOUT(hang->state(), MachineSession::State::Stopped, kGuestTimeoutMs);
        QCOMPARE(spin->state(), MachineSession::State::Running);
    }

    void badImageIsReportedInTheDialog() {
        MainWindow window;
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("garbage.elf"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("\x7f"
                   "ELF this is not a kernel");
        file.close();
        NewMachineDialog dialog([&window](const MachineConfig& config) {
            QString error;
            return window.openMachine(config, &error) ? QString() : error;
        });
        dialog.show();
        dialog.imageEdit()->setText(path);
        dialog.accept();
        QVERIFY2(dialog.errorText().contains(path), qPrintable(dialog.errorText()));
        QVERIFY(dialog.isVisible());
        QCOMPARE(window.machines()->rowCount(), 0);
    }

    void openedImagesBecomeRecentMachines() {
        // The recent list lives in the settings file: where it cannot be written (seen inside the
        // nested test VM, docs/testing-without-kvm.md), say so instead of failing on the list.
        {
            QSettings probe;
            probe.setValue(QStringLiteral("settingsProbe"), 1);
            probe.sync();
            const bool written = probe.status() == QSettings::NoError &&
                                 QFile::exists(probe.fileName()) && probe.isWritable();
            probe.remove(QStringLiteral("settingsProbe"));
            if (!written)
                QSKIP(qPrintable(QStringLiteral("settings cannot be saved here: %1 (status %2)")
                                     .arg(probe.fileName())
                                     .arg(static_cast<int>(probe.status()))));
        }
        QSettings().remove(QStringLiteral("recentImages"));
        MainWindow window({demo("hello"), demo("spin")});
        QVERIFY(window.openDemo(window.demos().at(0)));
        QVERIFY(window.openDemo(window.demos().at(1)));
        QVERIFY(window.openDemo(window.demos().at(0))); // moves to the front, no duplicate
        const QStringList expected{QString::fromStdString(guestImage("hello")),
                                   QString::fromStdString(guestImage("spin"))};
        QCOMPARE(window.recentImages(), expected);
        QCOMPARE(window.recentMenu()->actions().size(), 2);
        // Reopening from the menu adds a machine.
        const int before = window.machines()->rowCount();
        window.recentMenu()->actions().at(1)->trigger();
        QCOMPARE(window.machines()->rowCount(), before + 1);
        QCOMPARE(window.currentSession()->imagePath(), expected.at(1));
    }

    void hostDockLoadsWhenShown() {
        MainWindow window;
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto* host = window.findChild<QDockWidget*>(QStringLiteral("hostDock"));
        QVERIFY(host);
        QVERIFY(!window.hostView()->model()->loaded()); // behind the Devices tab: not probed yet
        host->raise();
        QTRY_VERIFY(window.hostView()->model()->loaded());
        QCOMPARE(window.hostView()->model()->valueText(HostInfoModel::SummarySection,
                                                       QStringLiteral("API version")),
                 QStringLiteral("12"));
    }

    void screenshotWithTheNewDocks() {
        QSettings().remove(QStringLiteral("MainWindow"));
        MainWindow window({demo("spin")});
        window.resize(1600, 1000);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        MachineSession* spin = window.openDemo(window.demos().front());
        QVERIFY(spin);
        spin->run();
        QTRY_VERIFY_WITH_TIMEOUT(spin->serialTranscript().contains("spin"), kGuestTimeoutMs);
        QTest::qWait(MachineSession::kStatisticsIntervalMs * 3); // a few rate samples
        spin->pause();
        QTRY_COMPARE_WITH_TIMEOUT(spin->state(), MachineSession::State::Paused, kGuestTimeoutMs);
        window.findChild<QDockWidget*>(QStringLiteral("hostDock"))->raise();
        window.findChild<QDockWidget*>(QStringLiteral("exitsDock"))->raise();
        QTRY_VERIFY(window.hostView()->model()->loaded());
        QVERIFY(!window.exitsView()->rateHistory()->points().empty());
        QTest::qWait(100);
        const QString path = QStringLiteral(KVMSCOPE_GUI_TEST_OUTPUT_DIR "/main-window-docks.png");
        QVERIFY(window.grab().save(path));
        qInfo("screenshot: %s", qPrintable(path));
    }

    void screenshotOfARunningMachine() {
        MainWindow window({demo("hello"), demo("spin")});
        window.resize(1400, 900);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        MachineSession* hello = window.openDemo(window.demos().at(0));
        QVERIFY(hello);
        hello->run();
        QTRY_COMPARE_WITH_TIMEOUT(hello->state(), MachineSession::State::Stopped, kGuestTimeoutMs);
        MachineSession* spin = window.openDemo(window.demos().at(1));
        QVERIFY(spin);
        spin->run();
        QTRY_VERIFY_WITH_TIMEOUT(spin->serialTranscript().contains("spin"), kGuestTimeoutMs);
        spin->pause();
        QTRY_COMPARE_WITH_TIMEOUT(spin->state(), MachineSession::State::Paused, kGuestTimeoutMs);
        spin->step(0);
        QTest::qWait(MachineSession::kStatisticsIntervalMs * 2); // let the status bar sample
        window.setCurrentSession(hello);
        window.setCurrentSession(spin);
        spin->step(0);
        QTest::qWait(200);
        const QString path = QStringLiteral(KVMSCOPE_GUI_TEST_OUTPUT_DIR "/main-window.png");
        QVERIFY(window.grab().save(path));
        qInfo("screenshot: %s", qPrintable(path));
    }
};

QTEST_MAIN(MainWindowSessionTest)
#include "MainWindowSessionTest.moc"
