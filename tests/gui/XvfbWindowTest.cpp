// The real window on a real X server (Xvfb, started by xvfb-run; see tests/gui/CMakeLists.txt):
// the main window is mapped by the xcb platform plugin, a demo is started from the Demos menu as a
// person would, and the screenshot is taken from the X server's framebuffer (not Qt's own
// rendering of the widget), saved, and checked to show a real window: window-sized, many colours,
// no colour covering almost everything, and the console's area not uniform.
#include "GuiTestSupport.h"
#include "console/SerialConsoleView.h"
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
#include <unordered_map>

using namespace kvmscope;
using namespace kvmscope::ui;
using namespace kvmscope::testing;

namespace {

struct ColourStats {
    size_t distinct = 0;
    double largestShare = 0; // of the most common colour
};

ColourStats colourStats(const QImage& image, const QRect& area) {
    std::unordered_map<QRgb, size_t> counts;
    for (int y = area.top(); y <= area.bottom(); ++y)
        for (int x = area.left(); x <= area.right(); ++x)
            ++counts[image.pixel(x, y)];
    size_t largest = 0;
    for (const auto& [colour, count] : counts)
        largest = std::max(largest, count);
    return {counts.size(),
            static_cast<double>(largest) / static_cast<double>(area.width() * area.height())};
}

} // namespace

class XvfbWindowTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() {
        if (QGuiApplication::platformName() != QLatin1String("xcb"))
            QSKIP(qPrintable("needs an X server (run under xvfb-run); platform is " +
                             QGuiApplication::platformName()));
        KVMSCOPE_GUI_REQUIRE_KVM();
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("kvmscope-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("XvfbWindowTest"));
        QSettings().clear();
    }

    // At the two sizes the README's screenshots show: the first start's layout, in proportion
    // to each window.
    void demoFromTheMenuOnARealXServer_data() {
        QTest::addColumn<QSize>("size");
        QTest::newRow("1280x800") << QSize(1280, 800);
        QTest::newRow("1920x1080") << QSize(1920, 1080);
    }

    void demoFromTheMenuOnARealXServer() {
        QFETCH(QSize, size);
        QSettings().clear(); // a first start each time
        std::vector<DemoImage> demos = {
            {QStringLiteral("hello"), QString::fromStdString(guestImage("hello")),
             QStringLiteral("Multiboot hello"), boot::ImageFormat::Auto, 1}};
        MainWindow window(demos);
        window.resize(size);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));

        // Machine ▸ Demos ▸ hello, as a person clicks it: creates the machine and runs it.
        auto* demosMenu = window.findChild<QMenu*>(QStringLiteral("demosMenu"));
        QVERIFY(demosMenu);
        QCOMPARE(demosMenu->actions().size(), 1);
        demosMenu->actions().front()->trigger();
        MachineSession* session = window.currentSession();
        QVERIFY(session);
        QTRY_VERIFY_WITH_TIMEOUT(
            session->serialTranscript().contains("Hello from the kvmscope hello demo"),
            kGuestTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(session->state(), MachineSession::State::Stopped,
                                  kGuestTimeoutMs);
        QTest::qWait(300); // the console repaints on its timer

        QScreen* screen = window.screen();
        QVERIFY(screen);
        const QImage shot = screen->grabWindow(window.winId()).toImage();
        const QString suffix = QStringLiteral("-%1x%2").arg(size.width()).arg(size.height());
        const QString path =
            QStringLiteral(KVMSCOPE_GUI_TEST_OUTPUT_DIR "/xvfb-main-window%1.png").arg(suffix);
        QVERIFY(shot.save(path));
        qInfo("screenshot from the X server: %s (%dx%d)", qPrintable(path), shot.width(),
              shot.height());

        QCOMPARE(shot.size(), window.size() * window.devicePixelRatio());
        const ColourStats whole = colourStats(shot, shot.rect());
        QVERIFY2(whole.distinct >= 32, qPrintable(QString("%1 colours").arg(whole.distinct)));
        QVERIFY2(whole.largestShare < 0.9,
                 qPrintable(QString("one colour covers %1 of the window").arg(whole.largestShare)));
        // The serial console shows the greeting: its area on screen is not one flat colour.
        SerialConsoleView* console = window.serialConsole();
        QVERIFY(console->isVisible());
        const QRect consoleArea(console->mapTo(&window, QPoint(0, 0)), console->size());
        const ColourStats text = colourStats(shot, consoleArea.intersected(shot.rect()));
        QVERIFY2(text.distinct >= 2 && text.largestShare < 0.995,
                 qPrintable(QString("console: %1 colours, largest share %2")
                                .arg(text.distinct)
                                .arg(text.largestShare)));

        // The exits of the same run, in the dock that shares the console's place.
        auto* exitsDock = window.findChild<QDockWidget*>(QStringLiteral("exitsDock"));
        QVERIFY(exitsDock);
        exitsDock->raise();
        QTest::qWait(300);
        const QImage exits = screen->grabWindow(window.winId()).toImage();
        const QString exitsPath =
            QStringLiteral(KVMSCOPE_GUI_TEST_OUTPUT_DIR "/xvfb-main-window-exits%1.png")
                .arg(suffix);
        QVERIFY(exits.save(exitsPath));
        qInfo("screenshot from the X server: %s", qPrintable(exitsPath));
        QVERIFY(exits != shot); // the raised dock is on screen
    }
};

QTEST_MAIN(XvfbWindowTest)
#include "XvfbWindowTest.moc"
