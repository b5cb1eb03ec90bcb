// The Display view: where the scale modes put the guest's screen, the hello demo's VGA text
// rendered in its colours, the plasma demo's graphics copied and animated, screenshots, the
// status text, and the framebuffer's attributes as the device tree shows them.
#include "display/DisplayView.h"

#include "GuiTestSupport.h"
#include "devices/Framebuffer.h"
#include "display/TextScreenRenderer.h"
#include "machine/Machine.h"
#include "session/MachineSession.h"
#include "window/MainWindow.h"

#include <QStatusBar>
#include <QTemporaryDir>
#include <QThread>
#include <set>

using namespace kvmscope;
using namespace kvmscope::ui;
using namespace kvmscope::testing;

namespace {

using Mode = DisplayView::ScaleMode;

// The distinct colours in a text cell of a 720 x 400 rendering.
std::set<QRgb> cellColours(const QImage& image, int row, int column) {
    std::set<QRgb> colours;
    for (int y = 0; y < TextScreenRenderer::kCellHeight; ++y)
        for (int x = 0; x < TextScreenRenderer::kCellWidth; ++x)
            colours.insert(image.pixel(column * TextScreenRenderer::kCellWidth + x,
                                       row * TextScreenRenderer::kCellHeight + y) &
                           0xFFFFFF);
    return colours;
}

// Whether one of `colours` is within `tolerance` of `wanted` in every channel: glyph edges are
// antialiased, so a letter's pixels blend its colour into the background.
bool hasColourNear(const std::set<QRgb>& colours, QRgb wanted, int tolerance = 48) {
    for (QRgb colour : colours)
        if (std::abs(qRed(colour) - qRed(wanted)) <= tolerance &&
            std::abs(qGreen(colour) - qGreen(wanted)) <= tolerance &&
            std::abs(qBlue(colour) - qBlue(wanted)) <= tolerance)
            return true;
    return false;
}

size_t distinctColours(const QImage& image) {
    std::set<QRgb> colours;
    for (int y = 0; y < image.height(); y += 3)
        for (int x = 0; x < image.width(); x += 3)
            colours.insert(image.pixel(x, y));
    return colours.size();
}

} // namespace

class DisplayViewTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<kvm::System> system_;

    bool requireKvm() {
        if (!kvmUnavailable().isEmpty())
            return false;
        if (!system_)
            system_ = std::make_unique<kvm::System>();
        return true;
    }

private Q_SLOTS:
    void scaleModesPlaceTheScreen() {
        const QSize vga(640, 480);
        // 1:1: the screen's own size, centred.
        QCOMPARE(DisplayView::placement(vga, {1000, 800}, Mode::OneToOne),
                 QRect(180, 160, 640, 480));
        // Larger than the widget: from the top left, cut off.
        QCOMPARE(DisplayView::placement(vga, {400, 300}, Mode::OneToOne), QRect(0, 0, 640, 480));
        // Fit: as large as fits, aspect ratio kept, centred along the spare axis.
        QCOMPARE(DisplayView::placement(vga, {1000, 600}, Mode::Fit), QRect(100, 0, 800, 600));
        QCOMPARE(DisplayView::placement(vga, {320, 600}, Mode::Fit), QRect(0, 180, 320, 240));
        // Integer: the largest whole factor that fits, at least 1.
        QCOMPARE(DisplayView::placement(vga, {1400, 1000}, Mode::Integer),
                 QRect(60, 20, 1280, 960));
        QCOMPARE(DisplayView::placement(vga, {1000, 600}, Mode::Integer), QRect(180, 60, 640, 480));
        QCOMPARE(DisplayView::placement(vga, {300, 200}, Mode::Integer), QRect(0, 0, 640, 480));
        QVERIFY(DisplayView::placement({}, {300, 200}, Mode::Fit).isEmpty());
    }

    void scaleActionsFollowTheMode() {
        DisplayView view;
        QCOMPARE(view.scaleMode(), Mode::Fit);
        view.scaleAction(Mode::Integer)->trigger();
        QCOMPARE(view.scaleMode(), Mode::Integer);
        view.setScaleMode(Mode::OneToOne);
        QVERIFY(view.scaleAction(Mode::OneToOne)->isChecked());
        QVERIFY(!view.scaleAction(Mode::Integer)->isChecked());
        // No machine: nothing to save, and the message says why.
        QString error;
        QVERIFY(!view.saveScreenshot(QStringLiteral("screen.png"), &error));
        QVERIFY2(error.contains(QStringLiteral("screen.png")), qPrintable(error));
        QVERIFY(!view.ctrlAltDeleteAction()->isEnabled());
    }

    void helloDemoTextIsRenderedInItsColours() {
        if (!requireKvm())
            QSKIP("needs /dev/kvm");
        KVMSCOPE_GUI_GUEST_CONFIG(config, "hello");
        MachineSession session(config, *system_);
        session.run();
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MachineSession::State::Stopped, kGuestTimeoutMs);
        DisplayView view;
        view.resize(800, 500);
        view.setSession(&session);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.refresh();
        const QImage screen = view.screenImage();
        QCOMPARE(screen.size(), QSize(720, 400));
        // Row 0 is the title bar, white on blue (attribute 0x1F): a blank cell is all blue, a
        // letter cell ('k' of "kvmscope" at column 2) blue and white.
        QCOMPARE(cellColours(screen, 0, 0), (std::set<QRgb>{0x0000AA}));
        QVERIFY(hasColourNear(cellColours(screen, 0, 2), 0xFFFFFF));
        QVERIFY(cellColours(screen, 0, 2).count(0x0000AA));
        // Row 2: the greeting, 'H' in light blue (0x09) on black.
        QVERIFY(hasColourNear(cellColours(screen, 2, 2), 0x5555FF));
        QVERIFY(cellColours(screen, 2, 2).count(0x000000));
        // Below the text: blank, light grey on black.
        QCOMPARE(cellColours(screen, 20, 40), (std::set<QRgb>{0x000000}));
        QVERIFY(view.statusText().contains(QStringLiteral("80x25 text")));

        // On the widget, fitted: the title bar's blue at the top of the screen's rectangle.
        const QRect placed = view.screenRect();
        QCOMPARE(placed, DisplayView::placement({720, 400}, view.size(), Mode::Fit));
        const QImage onWidget = view.grab().toImage();
        QCOMPARE(onWidget.pixel(placed.left() + 2, placed.top() + 2) & 0xFFFFFF, 0x0000AAu);

        // The screenshot is the guest's screen at its own resolution.
        QTemporaryDir directory;
        const QString path = directory.filePath(QStringLiteral("hello.png"));
        QString error;
        QVERIFY2(view.saveScreenshot(path, &error), qPrintable(error));
        QCOMPARE(QImage(path).convertToFormat(QImage::Format_RGB32),
                 screen.convertToFormat(QImage::Format_RGB32));
        // Kept beside the test for a person to look at.
        QVERIFY(view.saveScreenshot(
            QStringLiteral(KVMSCOPE_GUI_TEST_OUTPUT_DIR "/display-hello.png"), &error));
    }

    void plasmaDemoAnimatesInTheView() {
        if (!requireKvm())
            QSKIP("needs /dev/kvm");
        KVMSCOPE_GUI_GUEST_CONFIG(config, "plasma");
        MachineSession session(config, *system_);
        session.run();
        QTRY_VERIFY_WITH_TIMEOUT(session.serialTranscript().contains("drawing in ring 3"),
                                 kGuestTimeoutMs);
        DisplayView view;
        view.resize(700, 520);
        view.setSession(&session);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QTRY_COMPARE_WITH_TIMEOUT(view.screenImage().size(), QSize(640, 480), kGuestTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(distinctColours(view.screenImage()) > 16, kGuestTimeoutMs);
        const QImage first = view.screenImage();
        QTest::qWait(250);
        QTRY_VERIFY_WITH_TIMEOUT(view.screenImage() != first, kGuestTimeoutMs);
        // The refresh timer counts what it copies; the status bar says so once a second.
        QTRY_VERIFY_WITH_TIMEOUT(view.framesPerSecond() > 0, 3000);
        QVERIFY(view.bytesPerSecond() > 0);
        QVERIFY2(view.statusText().contains(QStringLiteral("Display 640x480")),
                 qPrintable(view.statusText()));

        // Hidden, the view stops fetching: the framebuffer's update count stands still.
        Framebuffer* framebuffer = session.machine().framebuffer();
        QVERIFY(framebuffer);
        view.hide();
        const uint64_t updates =
            framebuffer->getAttr(Framebuffer::kStatisticsGroup, attrId("updates")).scalar;
        QTest::qWait(200);
        QCOMPARE(framebuffer->getAttr(Framebuffer::kStatisticsGroup, attrId("updates")).scalar,
                 updates);
        session.stop();
    }

    // DisplaySource under the view: a screen the guest keeps redrawing is copied whole without
    // the dirty log (streamed), with one probe of the log every kStreamProbeInterval updates; a
    // static screen is never streamed and costs no copy.
    void busyScreenIsStreamedAndStaticScreenIsNot() {
        if (!requireKvm())
            QSKIP("needs /dev/kvm");
        using display::DisplaySource;
        KVMSCOPE_GUI_GUEST_CONFIG(config, "plasma");
        MachineSession session(config, *system_);
        session.run();
        QTRY_VERIFY_WITH_TIMEOUT(session.serialTranscript().contains("drawing in ring 3"),
                                 kGuestTimeoutMs);
        DisplaySource& source = session.machine().display();
        const ScanoutMode mode = source.graphicsMode();
        std::vector<uint8_t> pixels(size_t(mode.rowBytes()) * mode.height);
        const display::FrameTarget target{pixels.data(), mode.rowBytes(), mode.width, mode.height,
                                          mode.format()};
        QCOMPARE(source.update(target, true).status, display::UpdateStatus::Copied);
        unsigned streamed = 0;
        bool probed = false;
        // 30 Hz leaves the guest time for a whole frame between two updates even on a busy host.
        for (int i = 0; i < 400 && !probed; ++i) {
            QThread::msleep(33);
            const display::FrameUpdate update = source.update(target);
            if (update.streamed) {
                QVERIFY(update.full);
                QCOMPARE(update.rows, (std::vector<display::RowRange>{{0, mode.height}}));
                QCOMPARE(update.dirtyPages, 0u); // the log was not fetched
                ++streamed;
            } else if (streamed > 0) {
                // The probe: the log covers the whole streamed stretch, everything is copied.
                QCOMPARE(streamed, DisplaySource::kStreamProbeInterval);
                QVERIFY(update.full);
                QVERIFY(update.dirtyPages > 0);
                probed = true;
            }
        }
        QVERIFY2(probed, qPrintable(QString("%1 streamed updates, no probe").arg(streamed)));
        session.stop();

        KVMSCOPE_GUI_GUEST_CONFIG(staticConfig, "fb-test");
        MachineSession still(staticConfig, *system_);
        still.run();
        QTRY_VERIFY_WITH_TIMEOUT(still.serialTranscript().contains("fb-test: mode set"),
                                 kGuestTimeoutMs);
        DisplaySource& staticSource = still.machine().display();
        const ScanoutMode staticMode = staticSource.graphicsMode();
        std::vector<uint8_t> staticPixels(size_t(staticMode.rowBytes()) * staticMode.height);
        const display::FrameTarget staticTarget{staticPixels.data(), staticMode.rowBytes(),
                                                staticMode.width, staticMode.height,
                                                staticMode.format()};
        QVERIFY(staticSource.update(staticTarget, true).full);
        for (int i = 0; i < 10; ++i) {
            const display::FrameUpdate update = staticSource.update(staticTarget);
            QCOMPARE(update.status, display::UpdateStatus::Unchanged);
            QVERIFY(!update.streamed);
        }
        still.stop();
    }

    // In the window: the Display dock is in front, shows the current machine, and follows it
    // when a reset replaces the machine (the old one's memory is gone).
    void windowDockFollowsTheMachineAcrossAReset() {
        if (!requireKvm())
            QSKIP("needs /dev/kvm");
        MainWindow window({DemoImage{QStringLiteral("hello"),
                                     QString::fromStdString(guestImage("hello")),
                                     {},
                                     boot::ImageFormat::Auto,
                                     1}});
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        MachineSession* session = window.openDemo(window.demos().front());
        QVERIFY(session);
        session->run();
        QTRY_COMPARE_WITH_TIMEOUT(session->state(), MachineSession::State::Stopped,
                                  kGuestTimeoutMs);
        DisplayView* view = window.displayView();
        QVERIFY(view->isVisible());
        const std::set<QRgb> titleBlue{0x0000AA}, black{0x000000};
        QTRY_COMPARE_WITH_TIMEOUT(cellColours(view->screenImage(), 0, 0), titleBlue,
                                  kGuestTimeoutMs);
        QVERIFY(window.statusBar()->isAncestorOf(view->statusLabel()));
        QVERIFY(view->statusLabel()->text().contains(QStringLiteral("80x25 text")));

        // A fresh machine, not run yet: its text memory is zero, black on black.
        session->reset(false);
        QTRY_COMPARE_WITH_TIMEOUT(cellColours(view->screenImage(), 0, 0), black, kGuestTimeoutMs);
        session->run();
        QTRY_COMPARE_WITH_TIMEOUT(cellColours(view->screenImage(), 0, 0), titleBlue,
                                  kGuestTimeoutMs);
        // Machine ▸ Send Ctrl-Alt-Del is the view's action, enabled with a machine.
        QVERIFY(view->ctrlAltDeleteAction()->isEnabled());
        window.action(MainWindow::Action::Remove)->trigger();
        QVERIFY(!view->ctrlAltDeleteAction()->isEnabled());
    }

    void framebufferAttributesDescribeTheMode() {
        if (!requireKvm())
            QSKIP("needs /dev/kvm");
        KVMSCOPE_GUI_GUEST_CONFIG(config, "plasma");
        MachineSession session(config, *system_);
        session.run();
        QTRY_VERIFY_WITH_TIMEOUT(session.serialTranscript().contains("drawing in ring 3"),
                                 kGuestTimeoutMs);
        Framebuffer* framebuffer = nullptr;
        for (Device* device : session.devices())
            if (auto* candidate = dynamic_cast<Framebuffer*>(device))
                framebuffer = candidate;
        QVERIFY(framebuffer); // listed with every other device, so the device tree shows it
        std::set<std::string> names;
        for (const AttributeInfo& info : framebuffer->attributes())
            names.insert(info.name);
        for (const char* name : {"address", "width", "height", "bits per pixel", "stride"})
            QVERIFY2(names.count(name), name);
        auto value = [&](uint32_t group, uint64_t attr) {
            return framebuffer->getAttr(group, attr).scalar;
        };
        QCOMPARE(value(Framebuffer::kMemoryGroup, attrId("address")), 0xE0000000ull);
        QCOMPARE(value(Framebuffer::kScanoutGroup, attrId("width")), 640ull);
        QCOMPARE(value(Framebuffer::kScanoutGroup, attrId("height")), 480ull);
        QCOMPARE(value(Framebuffer::kScanoutGroup, attrId("bits per pixel")), 32ull);
        QCOMPARE(value(Framebuffer::kScanoutGroup, attrId("stride")), 2560ull);
        session.stop();
    }
};

QTEST_MAIN(DisplayViewTest)
#include "DisplayViewTest.moc"
