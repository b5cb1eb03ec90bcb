// The display on real guests: dirty tracking of the framebuffer (only the rows a guest wrote are
// copied, nothing when it wrote nothing), dispi mode switches, VGA text as the hello demo leaves
// it, and the plasma demo animating from ring 3.
#include "devices/Framebuffer.h"

#include "CollectingSink.h"
#include "KvmTestSupport.h"
#include "devices/BochsDispi.h"
#include "display/DisplaySource.h"
#include "machine/Machine.h"

#include <QThread>
#include <cstring>

using namespace kvmscope;
using namespace kvmscope::testing;
using display::DisplayKind;
using display::FrameTarget;
using display::FrameUpdate;
using display::RowRange;
using display::UpdateStatus;

namespace {

constexpr int kStepTimeoutMs = 60000;

// A caller-owned image of a mode, as a view would keep it.
struct Image {
    std::vector<uint8_t> pixels;
    FrameTarget target;

    explicit Image(const ScanoutMode& mode) {
        target.width = mode.width;
        target.height = mode.height;
        target.format = mode.format();
        target.bytesPerLine = mode.rowBytes();
        pixels.assign(size_t(target.bytesPerLine) * mode.height, 0xEE);
        target.pixels = pixels.data();
    }
    uint32_t pixel32(uint32_t x, uint32_t y) const {
        uint32_t value = 0;
        std::memcpy(&value, pixels.data() + y * target.bytesPerLine + x * 4, 4);
        return value;
    }
    uint16_t pixel16(uint32_t x, uint32_t y) const {
        uint16_t value = 0;
        std::memcpy(&value, pixels.data() + y * target.bytesPerLine + x * 2, 2);
        return value;
    }
};

} // namespace

class FramebufferTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<kvm::System> system_;

    std::unique_ptr<Machine> boot(const QString& guest, CollectingSink& sink,
                                  bool framebuffer = true) {
        MachineConfig config;
        config.memorySize = 64ull << 20;
        config.inspectKernelDevices = false;
        config.framebuffer.enabled = framebuffer;
        config.boot.imagePath = guestPath(guest).toStdString();
        auto machine = std::make_unique<Machine>(config, *system_, sink);
        machine->boot();
        machine->run();
        return machine;
    }

    static void sendByte(Machine& machine) {
        const uint8_t go = 'g';
        machine.serial().receive(std::span<const uint8_t>(&go, 1));
    }

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_REQUIRE_KVM();
        system_ = std::make_unique<kvm::System>();
    }

    void guestWritesCopyExactlyTheirRows() {
        CollectingSink sink;
        auto machine = boot("fb-test", sink);
        QVERIFY2(sink.waitFor("fb-test: mode set", kStepTimeoutMs), sink.text().constData());
        display::DisplaySource& display = machine->display();
        QCOMPARE(display.kind(), DisplayKind::Graphics);
        const ScanoutMode mode = display.graphicsMode();
        QCOMPARE(mode, (ScanoutMode{true, 1024, 768, 32, 4096, 0}));

        Image image(mode);
        // A new image: every row, cleared by the mode set.
        FrameUpdate update = display.update(image.target, true);
        QCOMPARE(update.status, UpdateStatus::Copied);
        QVERIFY(update.full);
        QCOMPARE(update.rows, (std::vector<RowRange>{{0, 768}}));
        QCOMPARE(image.pixel32(10, 5), 0u);
        // The guest now waits on COM1 and writes nothing: nothing is copied.
        update = display.update(image.target);
        QCOMPARE(update.status, UpdateStatus::Unchanged);
        QVERIFY(update.rows.empty());
        QCOMPARE(update.dirtyPages, uint64_t(0));

        sendByte(*machine);
        QVERIFY2(sink.waitFor("fb-test: drawn", kStepTimeoutMs), sink.text().constData());
        update = display.update(image.target);
        QCOMPARE(update.status, UpdateStatus::Copied);
        QVERIFY(!update.full);
        // Four pixels on three rows; at 1024 x 32 bpp a row is one page, so exactly those rows.
        QCOMPARE(update.rows, (std::vector<RowRange>{{5, 1}, {300, 1}, {767, 1}}));
        QCOMPARE(update.dirtyPages, uint64_t(3));
        QCOMPARE(image.pixel32(10, 5), 0x00FF0000u);
        QCOMPARE(image.pixel32(1000, 5), 0x0000FF00u);
        QCOMPARE(image.pixel32(0, 300), 0x000000FFu);
        QCOMPARE(image.pixel32(1023, 767), 0x00FFFFFFu);
        // Rows not copied keep what the image held.
        QCOMPARE(image.pixel32(0, 6), 0u);
        QCOMPARE(display.update(image.target).status, UpdateStatus::Unchanged);

        Framebuffer* framebuffer = machine->framebuffer();
        QVERIFY(framebuffer);
        QCOMPARE(framebuffer->getAttr(Framebuffer::kStatisticsGroup, attrId("rows copied")).scalar,
                 uint64_t(768 + 3));

        sendByte(*machine);
        QVERIFY(sink.waitFor("fb-test: switched", kStepTimeoutMs));
        sendByte(*machine);
        QVERIFY(sink.waitFor("fb-test: text", kStepTimeoutMs));
        QCOMPARE(display.kind(), DisplayKind::Text);
        QCOMPARE(display.update(image.target).status, UpdateStatus::TextMode);
        sendByte(*machine);
        const auto stop = machine->waitForStop(kStepTimeoutMs);
        QVERIFY(stop);
        QCOMPARE(stop->kind, StopKind::PowerOff);
    }

    void dispiModeSwitchReachesTheDisplay() {
        CollectingSink sink;
        auto machine = boot("fb-test", sink);
        QVERIFY2(sink.waitFor("fb-test: mode set", kStepTimeoutMs), sink.text().constData());
        display::DisplaySource& display = machine->display();
        Image large(display.graphicsMode());
        QCOMPARE(display.update(large.target, true).status, UpdateStatus::Copied);
        sendByte(*machine);
        QVERIFY(sink.waitFor("fb-test: drawn", kStepTimeoutMs));
        sendByte(*machine);
        QVERIFY(sink.waitFor("fb-test: switched", kStepTimeoutMs));

        // The old image no longer fits: nothing is copied, the new mode is reported.
        FrameUpdate update = display.update(large.target);
        QCOMPARE(update.status, UpdateStatus::ModeMismatch);
        QCOMPARE(update.mode, (ScanoutMode{true, 640, 480, 16, 1280, 0}));
        QCOMPARE(update.mode.format(), PixelFormat::Rgb565);
        QVERIFY(update.rows.empty());

        Image small(update.mode);
        update = display.update(small.target);
        QCOMPARE(update.status, UpdateStatus::Copied);
        QVERIFY(update.full); // a new mode: every row
        QCOMPARE(update.rowsCopied(), 480u);
        QCOMPARE(small.pixel16(7, 100), uint16_t(0xF800));
        QCOMPARE(small.pixel16(8, 100), uint16_t(0));
        QCOMPARE(display.update(small.target).status, UpdateStatus::Unchanged);

        // The device tree shows the new mode.
        Device* dispi = machine->dispi();
        QVERIFY(dispi);
        QCOMPARE(dispi->getAttr(BochsDispi::kRegistersGroup, attrId("XRES")).scalar, uint64_t(640));
        QCOMPARE(dispi->getAttr(BochsDispi::kStatisticsGroup, attrId("mode sets")).scalar,
                 uint64_t(2));
        QCOMPARE(
            machine->framebuffer()->getAttr(Framebuffer::kScanoutGroup, attrId("stride")).scalar,
            uint64_t(1280));
        machine->requestStop({StopKind::UserStop, 0, 0, "test done"});
    }

    void helloDemoTextIsOnTheScreen() {
        CollectingSink sink;
        auto machine = boot("hello", sink);
        const auto stop = machine->waitForStop(kStepTimeoutMs);
        QVERIFY(stop);
        display::DisplaySource& display = machine->display();
        QCOMPARE(display.kind(), DisplayKind::Text);
        const display::TextScreen screen = display.textScreen();
        auto text = [&](unsigned row, unsigned column, unsigned length) {
            std::string result;
            for (unsigned i = 0; i < length; ++i)
                result += char(screen.at(row, column + i).character);
            return QString::fromStdString(result);
        };
        // Row 0: the title, white on blue, across the whole row.
        QCOMPARE(text(0, 2, 21), QStringLiteral("kvmscope - hello demo"));
        QCOMPARE(screen.at(0, 2).attribute, uint8_t(0x1F));
        QCOMPARE(screen.at(0, 79).attribute, uint8_t(0x1F));
        QCOMPARE(display::textColour(screen.at(0, 2).foreground()), 0xFFFFFFu);
        QCOMPARE(display::textColour(screen.at(0, 2).background()), 0x0000AAu);
        // Row 2: the greeting, one bright colour per letter, from light blue (9) on.
        QCOMPARE(text(2, 2, 5), QStringLiteral("Hello"));
        QCOMPARE(screen.at(2, 2).attribute, uint8_t(0x09));
        QCOMPARE(screen.at(2, 3).attribute, uint8_t(0x0A));
        QCOMPARE(display::textColour(screen.at(2, 2).foreground()), 0x5555FFu);
        QCOMPARE(display::textColour(screen.at(2, 3).foreground()), 0x55FF55u);
        // Row 4: grey on black; the cursor right after it.
        const QString line = QStringLiteral("This text was written to VGA memory at 0xB8000.");
        QCOMPARE(text(4, 2, unsigned(line.size())), line);
        QCOMPARE(screen.at(4, 2).attribute, uint8_t(0x07));
        QCOMPARE(display::textColour(screen.at(4, 2).foreground()), 0xAAAAAAu);
        QVERIFY(screen.cursorVisible);
        QCOMPARE(screen.cursorRow, 4u);
        QCOMPARE(screen.cursorColumn, 2u + unsigned(line.size()));
        QCOMPARE(screen.cursorStart, uint8_t(13));
        QCOMPARE(screen.cursorEnd, uint8_t(14));
        // Untouched cells are blank.
        QCOMPARE(screen.at(24, 0).character, uint8_t(' '));
        QCOMPARE(screen.at(24, 0).attribute, uint8_t(0x07));
    }

    void withoutFramebufferTheDisplayIsTextOnly() {
        CollectingSink sink;
        auto machine = boot("fb-test", sink, false);
        // The guest finds no dispi and ends through the debug-exit port.
        const auto stop = machine->waitForStop(kStepTimeoutMs);
        QVERIFY(stop);
        QCOMPARE(stop->kind, StopKind::DebugExit);
        QCOMPARE(stop->debugExitValue, uint32_t(0x30));
        QVERIFY(!machine->framebuffer());
        QVERIFY(!machine->ioBus().find(BochsDispi::kBasePort));
        QCOMPARE(machine->display().kind(), DisplayKind::Text);
        FrameTarget none;
        QCOMPARE(machine->display().update(none).status, UpdateStatus::TextMode);
    }

    void cliTakesAFramebufferModeAndChecksIt() {
        CliResult result =
            runKvmscope({"--headless", "--demo", "hello", "--framebuffer", "1024x768x8"});
        QVERIFY2(result.finished && result.exitCode == 2, describe(result));
        QVERIFY2(result.err.contains("--framebuffer '1024x768x8'") &&
                     result.err.contains("15, 16, 24 or 32"),
                 describe(result));
        result = runKvmscope({"--headless", "--demo", "hello", "--framebuffer", "640x480"});
        QVERIFY2(result.finished && result.exitCode == 2, describe(result));
        QVERIFY2(result.err.contains("WIDTHxHEIGHTxBPP"), describe(result));
        result = runKvmscope({"--help"});
        QVERIFY(result.out.contains("--framebuffer WxHxBPP") &&
                result.out.contains("--no-framebuffer"));
    }

    void cliRunsThePlasmaDemoOrRefusesItWithoutFramebuffer() {
        // Runs until the timeout (status 6): it draws forever.
        CliResult result = runKvmscope(
            {"--headless", "--demo", "plasma", "--framebuffer", "800x600x16", "--timeout", "3"});
        QVERIFY2(result.finished && result.exitCode == 6, describe(result));
        QVERIFY2(result.out.contains("plasma: drawing in ring 3"), describe(result));
        // Without a dispi the demo says so and ends through the debug-exit port (0x7E).
        result = runKvmscope({"--headless", "--demo", "plasma", "--no-framebuffer"});
        QVERIFY2(result.finished && result.exitCode == (0x7E << 1 | 1), describe(result));
        QVERIFY2(result.out.contains("no Bochs VBE dispi"), describe(result));
    }

    void plasmaDemoAnimatesFromRing3() {
        CollectingSink sink;
        auto machine = boot("plasma", sink);
        QVERIFY2(sink.waitFor("plasma: drawing in ring 3", kStepTimeoutMs),
                 sink.text().constData());
        display::DisplaySource& display = machine->display();
        const ScanoutMode mode = display.graphicsMode();
        QCOMPARE(mode, (ScanoutMode{true, 640, 480, 32, 2560, 0}));
        Image image(mode);
        QCOMPARE(display.update(image.target, true).status, UpdateStatus::Copied);
        // Every frame rewrites the whole screen: later updates find rows to copy again and again.
        int updatesWithRows = 0;
        for (int i = 0; i < 50 && updatesWithRows < 3; ++i) {
            QThread::msleep(100);
            const FrameUpdate update = display.update(image.target);
            QVERIFY2(update.status == UpdateStatus::Copied ||
                         update.status == UpdateStatus::Unchanged,
                     display::toString(update.status));
            if (update.status == UpdateStatus::Copied) {
                QVERIFY(!update.full);
                ++updatesWithRows;
            }
        }
        QCOMPARE(updatesWithRows, 3);
        // The plasma is not one flat colour.
        QVERIFY(image.pixel32(0, 0) != image.pixel32(320, 240) ||
                image.pixel32(0, 0) != image.pixel32(639, 479));
        QVERIFY(!machine->stopState()); // still drawing, no exception
        machine->requestStop({StopKind::UserStop, 0, 0, "test done"});
    }
};

QTEST_GUILESS_MAIN(FramebufferTest)
#include "FramebufferTest.moc"
