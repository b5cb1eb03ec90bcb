// The main window without a machine (no /dev/kvm needed): it opens with its docks, menus and
// demos, machine actions are disabled until there is a machine, the dock layout survives a
// restart through QSettings, and the new-machine dialog reports bad input in place.
#include "window/MainWindow.h"

#include "console/SerialConsoleView.h"
#include "debugger/DebuggerView.h"
#include "session/MachineListModel.h"
#include "session/MachineSession.h"
#include "window/NewMachineDialog.h"

#include <QAction>
#include <QApplication>
#include <QDockWidget>
#include <QDropEvent>
#include <QFile>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QUrl>

using namespace kvmscope;
using namespace kvmscope::ui;

class MainWindowTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("kvmscope-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("MainWindowTest"));
        QSettings().clear();
    }

    void opensWithEveryDock() {
        MainWindow window;
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        for (const char* name : {"machinesDock", "registersDock", "devicesDock", "serialDock",
                                 "exitsDock", "hostDock"}) {
            auto* dock = window.findChild<QDockWidget*>(QString::fromLatin1(name));
            QVERIFY2(dock, name);
        }
        QCOMPARE(window.statusStateText(), QStringLiteral("No machine"));
        QVERIFY(window.serialConsole()->text().trimmed().isEmpty());
    }

    void machineActionsAreDisabledWithoutAMachine() {
        MainWindow window;
        QVERIFY(window.action(MainWindow::Action::NewMachine)->isEnabled());
        QVERIFY(window.action(MainWindow::Action::OpenImage)->isEnabled());
        QVERIFY(window.action(MainWindow::Action::Quit)->isEnabled());
        for (auto action :
             {MainWindow::Action::Run, MainWindow::Action::Pause, MainWindow::Action::Step,
              MainWindow::Action::PowerOff, MainWindow::Action::Remove})
            QVERIFY(!window.action(action)->isEnabled());
        QCOMPARE(window.action(MainWindow::Action::Run)->shortcut(), QKeySequence(Qt::Key_F5));
        // A disabled tool button looks plainly different from an enabled one: its icon is faint.
        const QIcon run = window.action(MainWindow::Action::Run)->icon();
        const QImage normal =
            run.pixmap(24, QIcon::Normal).toImage().convertToFormat(QImage::Format_ARGB32);
        const QImage disabled =
            run.pixmap(24, QIcon::Disabled).toImage().convertToFormat(QImage::Format_ARGB32);
        auto opacity = [](const QImage& image) {
            qint64 sum = 0;
            for (int y = 0; y < image.height(); ++y)
                for (int x = 0; x < image.width(); ++x)
                    sum += qAlpha(image.pixel(x, y));
            return sum;
        };
        QVERIFY(opacity(normal) > 0);
        QVERIFY2(
            opacity(disabled) * 2 < opacity(normal),
            qPrintable(QStringLiteral("%1 vs %2").arg(opacity(disabled)).arg(opacity(normal))));
        QCOMPARE(window.action(MainWindow::Action::Pause)->shortcut(), QKeySequence(Qt::Key_F6));
        QCOMPARE(window.action(MainWindow::Action::Step)->shortcut(), QKeySequence(Qt::Key_F10));
    }

    void demosMenuListsTheCatalog() {
        MainWindow window({{QStringLiteral("hello"), QStringLiteral("/nonexistent/hello"),
                            QStringLiteral("greets"), boot::ImageFormat::Multiboot, 1},
                           {QStringLiteral("smp"), QStringLiteral("/nonexistent/smp"),
                            QStringLiteral("four cpus"), boot::ImageFormat::Multiboot, 4}});
        auto* menu = window.findChild<QMenu*>(QStringLiteral("demosMenu"));
        QVERIFY(menu);
        QVERIFY(menu->isEnabled());
        QStringList names;
        for (QAction* action : menu->actions())
            names << action->text();
        QCOMPARE(names, (QStringList{QStringLiteral("hello"), QStringLiteral("smp")}));
        // A demo whose image is missing fails with a message instead of a machine.
        QString error;
        QVERIFY(!window.openDemo(window.demos().front(), &error));
        QVERIFY(!error.isEmpty());
        QCOMPARE(window.machines()->rowCount(), 0);
    }

    void dockLayoutIsRestored() {
        {
            MainWindow window;
            window.show();
            QVERIFY(QTest::qWaitForWindowExposed(&window));
            window.findChild<QDockWidget*>(QStringLiteral("devicesDock"))->hide();
            window.close();
        }
        MainWindow restored;
        restored.show();
        QVERIFY(QTest::qWaitForWindowExposed(&restored));
        QVERIFY(restored.findChild<QDockWidget*>(QStringLiteral("devicesDock"))->isHidden());
        QVERIFY(!restored.findChild<QDockWidget*>(QStringLiteral("registersDock"))->isHidden());
    }

    // The default layout gives the room to the docks, in proportion to the window: the screen
    // and the registers side by side (not a tab apart), the screen the widest, the devices tall
    // enough for a device tree, and at 1920x1080 a dozen code rows in the Debugger.
    void defaultLayoutScalesWithTheWindow_data() {
        QTest::addColumn<QSize>("size");
        QTest::addColumn<int>("minimumCodeRows");
        QTest::addColumn<int>("minimumDevicesHeight"); // 8 rows and more from 1280x800 on
        QTest::newRow("1280x720") << QSize(1280, 720) << 4 << 100;
        QTest::newRow("1280x800") << QSize(1280, 800) << 6 << 180;
        QTest::newRow("1920x1080") << QSize(1920, 1080) << 12 << 300;
    }

    void defaultLayoutScalesWithTheWindow() {
        QFETCH(QSize, size);
        QFETCH(int, minimumCodeRows);
        QFETCH(int, minimumDevicesHeight);
        MainWindow window;
        window.resize(size);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto* reset = window.findChild<QAction*>(QStringLiteral("resetLayoutAction"));
        QVERIFY(reset);
        reset->trigger();
        auto dockNamed = [&window](const char* name) {
            return window.findChild<QDockWidget*>(QString::fromLatin1(name));
        };
        QTRY_VERIFY(dockNamed("displayDock")->width() > 0);
        QTest::qWait(50); // the layout's deferred sizing
        QDockWidget* display = dockNamed("displayDock");
        QDockWidget* registers = dockNamed("registersDock");
        QDockWidget* devices = dockNamed("devicesDock");
        QDockWidget* machines = dockNamed("machinesDock");
        // Side by side, both visible.
        QVERIFY(window.tabifiedDockWidgets(display).isEmpty());
        QVERIFY(display->isVisible() && !display->visibleRegion().isEmpty());
        QVERIFY(registers->isVisible() && !registers->visibleRegion().isEmpty());
        const QString sizes =
            QStringLiteral("display %1x%2, registers %3, devices %4x%5, machines %6")
                .arg(display->width())
                .arg(display->height())
                .arg(registers->width())
                .arg(devices->width())
                .arg(devices->height())
                .arg(machines->width());
        QVERIFY2(display->width() >= size.width() * 40 / 100, qPrintable(sizes));
        QVERIFY2(display->width() > registers->width(), qPrintable(sizes));
        QVERIFY2(registers->width() >= 300, qPrintable(sizes));
        QVERIFY2(devices->height() >= minimumDevicesHeight, qPrintable(sizes));
        QVERIFY2(machines->width() <= size.width() / 4, qPrintable(sizes));
        // A bigger window: a bigger screen, not a blank centre.
        QVERIFY2(display->height() >= size.height() * 35 / 100, qPrintable(sizes));
        if (size.width() >= 1920)
            QVERIFY2(display->width() >= 900 && display->height() >= 450, qPrintable(sizes));

        // The Debugger, brought to the front of its tab group.
        QDockWidget* debugger = dockNamed("debuggerDock");
        debugger->raise();
        QTRY_VERIFY(debugger->isVisible() && !debugger->visibleRegion().isEmpty());
        QApplication::processEvents();
        if (const QByteArray dir = qgetenv("KVMSCOPE_LAYOUT_GRABS"); !dir.isEmpty())
            window.grab().save(
                QString::fromUtf8(dir) +
                QStringLiteral("/layout-%1x%2.png").arg(size.width()).arg(size.height()));
        QTableView* code = window.debuggerView()->disassemblyView();
        const int rowHeight = code->verticalHeader()->defaultSectionSize();
        const int rows = code->viewport()->height() / std::max(rowHeight, 1);
        QVERIFY2(rows >= minimumCodeRows, qPrintable(QStringLiteral("%1 code rows of %2 px in a "
                                                                    "%3 px debugger")
                                                         .arg(rows)
                                                         .arg(rowHeight)
                                                         .arg(debugger->height())));
    }

    // A dock the person moved comes back in place with View > Reset layout, and one that was
    // floating is docked again.
    void resetLayoutDocksEverythingAgain() {
        MainWindow window;
        window.resize(1280, 800);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto* registers = window.findChild<QDockWidget*>(QStringLiteral("registersDock"));
        auto* devices = window.findChild<QDockWidget*>(QStringLiteral("devicesDock"));
        registers->setFloating(true);
        devices->hide();
        window.findChild<QAction*>(QStringLiteral("resetLayoutAction"))->trigger();
        QVERIFY(!registers->isFloating());
        QVERIFY(devices->isVisible());
        QCOMPARE(window.dockWidgetArea(registers), Qt::RightDockWidgetArea);
        QCOMPARE(window.dockWidgetArea(devices), Qt::LeftDockWidgetArea);
        QCOMPARE(
            window.dockWidgetArea(window.findChild<QDockWidget*>(QStringLiteral("serialDock"))),
            Qt::BottomDockWidgetArea);
    }

    void newMachineDialogShowsValidationErrorsAndStaysOpen() {
        int created = 0;
        QString failure;
        std::string imagePath;
        NewMachineDialog dialog([&](const MachineConfig& config) {
            ++created;
            imagePath = config.boot.imagePath;
            return failure;
        });
        dialog.show();
        dialog.accept();
        QVERIFY(dialog.errorText().contains(QStringLiteral("image")));
        QCOMPARE(dialog.result(), int(QDialog::Rejected));

        dialog.imageEdit()->setText(QStringLiteral("/images/kernel.elf"));
        dialog.memoryEdit()->setText(QStringLiteral("lots"));
        dialog.accept();
        QVERIFY2(dialog.errorText().contains(QStringLiteral("lots")),
                 qPrintable(dialog.errorText()));
        QCOMPARE(created, 0);

        dialog.memoryEdit()->setText(QStringLiteral("64M"));
        dialog.cpusSpin()->setValue(0);
        dialog.accept();
        QVERIFY(!dialog.errorText().isEmpty()); // MachineConfig::validate's text
        QCOMPARE(created, 0);
        QVERIFY(dialog.isVisible());

        dialog.cpusSpin()->setValue(2);
        failure = QStringLiteral("/images/kernel.elf: e_machine 0x28: not an x86 image");
        dialog.accept();
        QCOMPARE(created, 1);
        QCOMPARE(imagePath, std::string("/images/kernel.elf"));
        QCOMPARE(dialog.errorText(), failure);
        QVERIFY(dialog.isVisible());

        failure.clear();
        dialog.accept();
        QCOMPARE(created, 2);
        QCOMPARE(dialog.result(), int(QDialog::Accepted));
        QCOMPARE(dialog.config().cpus, 2u);
        QCOMPARE(dialog.config().memorySize, 64ull << 20);
    }

    void droppingAFileOpensTheNewMachineDialogWithItsPath() {
        MainWindow window;
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("kernel.elf"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("not booted by this test");
        file.close();

        // Text without a file is refused at drag-enter and ignored at drop.
        QMimeData text;
        text.setText(QStringLiteral("hello"));
        QDragEnterEvent refused(QPoint(10, 10), Qt::CopyAction, &text, Qt::LeftButton,
                                Qt::NoModifier);
        QApplication::sendEvent(&window, &refused);
        QVERIFY(!refused.isAccepted());
        QDropEvent textDrop(QPointF(10, 10), Qt::CopyAction, &text, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&window, &textDrop);
        QVERIFY(!window.newMachineDialog());

        QMimeData files;
        files.setUrls({QUrl::fromLocalFile(path)});
        QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &files, Qt::LeftButton,
                              Qt::NoModifier);
        QApplication::sendEvent(&window, &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &files, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&window, &drop);
        QVERIFY(drop.isAccepted());
        NewMachineDialog* dialog = window.newMachineDialog();
        QVERIFY(dialog);
        QVERIFY(dialog->isVisible());
        QCOMPARE(dialog->imageEdit()->text(), path);
        QCOMPARE(dialog->config().boot.imagePath, path.toStdString());
        dialog->reject();
        QTRY_VERIFY(!window.newMachineDialog()); // deleted on close
    }

    void recentMachinesMenuListsTheSavedImages() {
        QStringList images;
        for (int i = 0; i < MainWindow::kRecentCapacity; ++i)
            images << QStringLiteral("/images/guest%1.elf").arg(i);
        QSettings().setValue(QStringLiteral("recentImages"), images);
        MainWindow window;
        QMenu* recent = window.recentMenu();
        QVERIFY(recent);
        QCOMPARE(recent->objectName(), QStringLiteral("recentMenu"));
        QCOMPARE(window.recentImages(), images);
        QStringList listed;
        for (QAction* action : recent->actions())
            listed << action->data().toString();
        QCOMPARE(listed, images);
        QCOMPARE(recent->actions().front()->text(), QStringLiteral("guest0.elf"));
        // A missing image fails with the loader's message and adds no machine.
        QString error;
        QVERIFY(!window.openImagePath(images.front(), &error));
        QVERIFY(!error.isEmpty());
        QSettings().remove(QStringLiteral("recentImages"));
        MainWindow empty;
        QCOMPARE(empty.recentMenu()->actions().size(), 1);
        QVERIFY(!empty.recentMenu()->actions().front()->isEnabled());
    }

    // Help > About names kvmscope's version, where its documentation is, and the licences:
    // kvmscope's own (not chosen yet, said plainly) and those of the libraries it uses.
    void aboutNamesVersionDocumentationAndLicences() {
        QCoreApplication::setApplicationVersion(QStringLiteral("9.8.7"));
        MainWindow window;
        QString text;
        QTimer::singleShot(0, this, [&text] {
            if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
                text = box->text();
                box->accept();
            }
        });
        window.findChild<QAction*>(QStringLiteral("actionAbout"))->trigger();
        QVERIFY2(text.contains(QStringLiteral("kvmscope 9.8.7")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("ocumentation")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("Licences")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("LGPL-3.0")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("MIT")), qPrintable(text));
    }

    void screenshotOfTheEmptyWindow() {
        QSettings().clear(); // the default layout, not the one an earlier test left
        MainWindow window;
        window.resize(1200, 800);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        const QString path = QStringLiteral(KVMSCOPE_GUI_TEST_OUTPUT_DIR "/main-window-empty.png");
        QVERIFY(window.grab().save(path));
        qInfo("screenshot: %s", qPrintable(path));
    }
};

QTEST_MAIN(MainWindowTest)
#include "MainWindowTest.moc"
