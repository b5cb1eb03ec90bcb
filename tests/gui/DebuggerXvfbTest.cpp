// The Debugger dock in the real window on a real X server (Xvfb, via xvfb-run; see
// tests/gui/CMakeLists.txt): the debug-target guest stopped at a breakpoint on add_step, the
// dock raised and given room, the memory view at watched_counter and the call stack in view. The
// screenshot comes from the X server's framebuffer and is checked to show the dock's content:
// its listing, breakpoint list and memory areas are not one flat colour.
#include "GuiTestSupport.h"
#include "debug/Debugger.h"
#include "debugger/BreakpointsModel.h"
#include "debugger/DebuggerView.h"
#include "debugger/DisassemblyModel.h"
#include "machine/Machine.h"
#include "session/MachineSession.h"
#include "window/MainWindow.h"

#include <QAction>
#include <QDockWidget>
#include <QGuiApplication>
#include <QImage>
#include <QLineEdit>
#include <QScreen>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <unordered_set>

using namespace kvmscope;
using namespace kvmscope::ui;
using namespace kvmscope::testing;

namespace {

size_t distinctColours(const QImage& image, const QRect& area) {
    std::unordered_set<QRgb> colours;
    for (int y = area.top(); y <= area.bottom(); ++y)
        for (int x = area.left(); x <= area.right(); ++x)
            colours.insert(image.pixel(x, y));
    return colours.size();
}

QRect areaOf(const QWidget* widget, const QWidget* window) {
    return QRect(widget->mapTo(window, QPoint(0, 0)), widget->size());
}

} // namespace

class DebuggerXvfbTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() {
        if (QGuiApplication::platformName() != QLatin1String("xcb"))
            QSKIP(qPrintable("needs an X server (run under xvfb-run); platform is " +
                             QGuiApplication::platformName()));
        KVMSCOPE_GUI_REQUIRE_KVM();
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("kvmscope-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("DebuggerXvfbTest"));
        QSettings().clear();
    }

    void debuggerDockAtABreakpointOnARealXServer() {
        // As a bundled demo, so the overview names it rather than its path on this machine.
        const std::vector<DemoImage> demos = {
            {QStringLiteral("debug-target"), QString::fromStdString(guestImage("debug-target")),
             QStringLiteral("The debugger's test guest"), boot::ImageFormat::Auto, 1}};
        MainWindow window(demos);
        window.resize(1580, 980);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QString error;
        MachineSession* session = window.openDemo(demos.front(), &error);
        QVERIFY2(session, qPrintable(error));

        auto* dock = window.findChild<QDockWidget*>(QStringLiteral("debuggerDock"));
        QVERIFY(dock);
        dock->raise();
        window.resizeDocks({dock}, {640}, Qt::Vertical);
        DebuggerView* view = window.debuggerView();
        const uint64_t addStep = *session->machine().debugger().guest().symbols().addressOf("add_step");
        view->breakpoints()->addBreakpoint(addStep);
        // Stop at the third call: the counter holds 1 + 2 by then.
        QSignalSpy stops(session, &MachineSession::debugStopped);
        for (int call = 1; call <= 3; ++call) {
            view->action(DebuggerView::Action::Continue)->trigger();
            QTRY_COMPARE_WITH_TIMEOUT(stops.count(), call, kGuestTimeoutMs);
            QTRY_COMPARE_WITH_TIMEOUT(session->state(), MachineSession::State::Paused,
                                      kGuestTimeoutMs);
            QTRY_VERIFY(!view->disassembly()->stale() && view->disassembly()->pc() == addStep);
            QTRY_COMPARE(view->breakpoints()->entries().front().hits, unsigned(call));
        }
        view->memoryGoTo()->setText(QStringLiteral("watched_counter"));
        QVERIFY(view->goToMemory(view->memoryGoTo()->text()));
        view->disassemblyView()->setFocus();
        QTest::qWait(400);

        QScreen* screen = window.screen();
        QVERIFY(screen);
        const QImage shot = screen->grabWindow(window.winId()).toImage();
        const QString path = QStringLiteral(KVMSCOPE_GUI_TEST_OUTPUT_DIR "/xvfb-debugger.png");
        QVERIFY(shot.save(path));
        qInfo("screenshot from the X server: %s (%dx%d)", qPrintable(path), shot.width(),
              shot.height());
        QCOMPARE(shot.size(), window.size() * window.devicePixelRatio());
        // The listing, the breakpoint list and the memory view show text on screen.
        for (const QWidget* part : {static_cast<const QWidget*>(view->disassemblyView()),
                                    static_cast<const QWidget*>(view->memoryView())}) {
            QVERIFY(part->isVisible());
            const QRect area = areaOf(part, &window).intersected(shot.rect());
            QVERIFY2(area.height() > 60, qPrintable(part->objectName()));
            const size_t colours = distinctColours(shot, area);
            QVERIFY2(
                colours >= 8,
                qPrintable(QStringLiteral("%1: %2 colours").arg(part->objectName()).arg(colours)));
        }
    }
};

QTEST_MAIN(DebuggerXvfbTest)
#include "DebuggerXvfbTest.moc"
