// The Display dock in the real window on a real X server (Xvfb, started by xvfb-run; see
// tests/gui/CMakeLists.txt): the plasma demo is started from the Demos menu as a person would,
// and two screenshots of the view, taken from the X server's framebuffer 250 ms apart, must each
// show a picture (not one flat colour) and differ, since the plasma moves. A click grabs the
// keyboard, the status bar says how to let go, and Ctrl+Alt+G does.
#include "GuiTestSupport.h"
#include "display/DisplayView.h"
#include "session/MachineSession.h"
#include "window/MainWindow.h"

#include <QAction>
#include <QDockWidget>
#include <QGuiApplication>
#include <QImage>
#include <QMenu>
#include <QPixmap>
#include <QScreen>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <unordered_map>

using namespace kvmscope;
using namespace kvmscope::ui;
using namespace kvmscope::testing;

namespace {

// The share of `area` the most common colour covers.
double largestColourShare(const QImage& image) {
    std::unordered_map<QRgb, size_t> counts;
    size_t largest = 0;
    for (int y = 0; y < image.height(); ++y)
        for (int x = 0; x < image.width(); ++x)
            largest = std::max(largest, ++counts[image.pixel(x, y)]);
    return double(largest) / double(image.width() * image.height());
}

} // namespace

class XvfbDisplayTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() {
        if (QGuiApplication::platformName() != QLatin1String("xcb"))
            QSKIP(qPrintable("needs an X server (run under xvfb-run); platform is " +
                             QGuiApplication::platformName()));
        KVMSCOPE_GUI_REQUIRE_KVM();
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("kvmscope-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("XvfbDisplayTest"));
        QSettings().clear();
    }

    void plasmaDemoMovesInTheDisplayDock() {
        std::vector<DemoImage> demos = {
            {QStringLiteral("plasma"), QString::fromStdString(guestImage("plasma")),
             QStringLiteral("Graphics demo"), boot::ImageFormat::Auto, 1}};
        MainWindow window(demos);
        window.resize(1440, 900);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));

        auto* demosMenu = window.findChild<QMenu*>(QStringLiteral("demosMenu"));
        QVERIFY(demosMenu);
        demosMenu->actions().front()->trigger();
        MachineSession* session = window.currentSession();
        QVERIFY(session);
        QTRY_VERIFY_WITH_TIMEOUT(session->serialTranscript().contains("drawing in ring 3"),
                                 kGuestTimeoutMs);
        auto* dock = window.findChild<QDockWidget*>(QStringLiteral("displayDock"));
        QVERIFY(dock);
        dock->raise();
        DisplayView* view = window.displayView();
        QTRY_VERIFY_WITH_TIMEOUT(view->isVisible(), kGuestTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(view->screenImage().size(), QSize(640, 480), kGuestTimeoutMs);
        QTest::qWait(500); // a few refreshes and paints

        QScreen* screen = window.screen();
        QVERIFY(screen);
        const QRect area(view->mapTo(&window, view->screenRect().topLeft()),
                         view->screenRect().size());
        QVERIFY(!area.isEmpty());
        const QImage first = screen->grabWindow(window.winId()).toImage().copy(area);
        QTest::qWait(250);
        const QImage second = screen->grabWindow(window.winId()).toImage().copy(area);
        for (const QImage* shot : {&first, &second}) {
            const double share = largestColourShare(*shot);
            QVERIFY2(share < 0.5,
                     qPrintable(QString("one colour covers %1 of the view").arg(share)));
        }
        QVERIFY(first != second);

        // The status bar counts frames while the view is on screen.
        QTRY_VERIFY_WITH_TIMEOUT(view->framesPerSecond() > 0, 3000);
        QVERIFY(view->statusLabel()->isVisible());
        QVERIFY(view->statusLabel()->text().contains(QStringLiteral("fps")));
        // The saved screenshot: the bottom docks closed, as a person watching the screen would,
        // so that the display gets the right-hand column's height.
        for (const char* name : {"serialDock", "exitsDock", "debuggerDock"})
            if (auto* bottom = window.findChild<QDockWidget*>(QString::fromLatin1(name)))
                bottom->hide();
        window.resizeDocks({dock}, {760}, Qt::Horizontal);
        QTest::qWait(1200); // a status sample with the new size
        QTRY_VERIFY(!view->statusLabel()->text().contains(QStringLiteral(" 0 fps")));
        const QString path = QStringLiteral(KVMSCOPE_GUI_TEST_OUTPUT_DIR "/xvfb-display.png");
        QVERIFY(screen->grabWindow(window.winId()).save(path));
        qInfo("screenshot from the X server: %s", qPrintable(path));

        // A click grabs input; the status bar shows how to let go; Ctrl+Alt+G lets go.
        QTest::mouseClick(view, Qt::LeftButton, {}, view->rect().center());
        QVERIFY(view->inputGrabbed());
        QTRY_VERIFY(view->statusLabel()->text().contains(DisplayView::releaseHint()));
        QTest::keyClick(view, Qt::Key_G, Qt::ControlModifier | Qt::AltModifier);
        QVERIFY(!view->inputGrabbed());
        session->stop();
    }
};

QTEST_MAIN(XvfbDisplayTest)
#include "XvfbDisplayTest.moc"
