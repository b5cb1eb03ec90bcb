// The framebuffer's memory and scanout, the --framebuffer mode syntax, and the screen_info that
// tells Linux about it.
#include "devices/Framebuffer.h"

#include "boot/linux/LinuxLoader.h"
#include "common/Error.h"
#include "machine/MachineConfig.h"

#include <QTest>

using namespace kvmscope;

class FramebufferTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void memoryIsZeroedAndSized() {
        Framebuffer framebuffer(Framebuffer::kDefaultMemorySize);
        QCOMPARE(framebuffer.memory().size(), size_t(16 << 20));
        QCOMPARE(framebuffer.memory()[0], uint8_t(0));
        QCOMPARE(framebuffer.memory()[(16 << 20) - 1], uint8_t(0));
        QVERIFY(!framebuffer.scanout().enabled);
        QVERIFY_THROWS_EXCEPTION(InputError, Framebuffer(1000));
        QVERIFY_THROWS_EXCEPTION(InputError, Framebuffer(4ull << 30)); // larger than a 32-bit BAR
        // Unmapped until the memslot's owner places it (machine/FramebufferSlot.h).
        QVERIFY(!framebuffer.guestAddress());
    }

    void scanoutMustFitTheMemory() {
        Framebuffer framebuffer(1 << 20);
        const ScanoutMode fits{true, 512, 512, 32, 2048, 0};
        QVERIFY(framebuffer.fits(fits));
        framebuffer.setScanout(fits);
        QCOMPARE(framebuffer.scanout(), fits);
        ScanoutMode tooLow = fits;
        tooLow.offset = 4096; // the last row would end past the memory
        QVERIFY(!framebuffer.fits(tooLow));
        QVERIFY_THROWS_EXCEPTION(InputError, framebuffer.setScanout(tooLow));
        QVERIFY(!framebuffer.fits({true, 512, 512, 8, 512, 0}));   // palette depth
        QVERIFY(!framebuffer.fits({true, 512, 512, 32, 1024, 0})); // stride < row
        QCOMPARE(framebuffer.scanout(), fits);
    }

    void generationCountsChangesOnly() {
        Framebuffer framebuffer(Framebuffer::kDefaultMemorySize);
        const uint64_t start = framebuffer.scanoutAndGeneration().second;
        framebuffer.setScanout({true, 640, 480, 32, 2560, 0});
        framebuffer.setScanout({true, 640, 480, 32, 2560, 0});
        QCOMPARE(framebuffer.scanoutAndGeneration().second, start + 1);
        QCOMPARE(framebuffer.getAttr(Framebuffer::kScanoutGroup, attrId("changes")).scalar,
                 start + 1);
    }

    void depthsMapToFormatsAndLayouts() {
        QCOMPARE(pixelFormatForDepth(32), PixelFormat::Xrgb8888);
        QCOMPARE(pixelFormatForDepth(24), PixelFormat::Rgb888);
        QCOMPARE(pixelFormatForDepth(16), PixelFormat::Rgb565);
        QCOMPARE(pixelFormatForDepth(15), PixelFormat::Xrgb1555);
        QCOMPARE(bytesPerPixel(15), 2u);
        QCOMPARE(bytesPerPixel(24), 3u);
        const ColourLayout rgb565 = colourLayout(16);
        QCOMPARE(rgb565.red.position, uint8_t(11));
        QCOMPARE(rgb565.green.size, uint8_t(6));
        const ColourLayout xrgb1555 = colourLayout(15);
        QCOMPARE(xrgb1555.red.position, uint8_t(10));
        QCOMPARE(xrgb1555.green.size, uint8_t(5));
    }

    void modeOptionParses() {
        MachineConfig::Framebuffer mode;
        parseFramebufferMode("800x600x16", mode, "--framebuffer");
        QCOMPARE(mode.width, 800u);
        QCOMPARE(mode.height, 600u);
        QCOMPARE(mode.bitsPerPixel, 16u);
        parseFramebufferMode("2560X1600X32", mode, "--framebuffer");
        QCOMPARE(mode.width, 2560u);
    }

    void modeOptionRejectsBadModes_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("message");
        QTest::newRow("missing depth") << "1024x768"
                                       << "expected WIDTHxHEIGHTxBPP";
        QTest::newRow("palette depth") << "1024x768x8"
                                       << "15, 16, 24 or 32";
        QTest::newRow("too wide") << "4096x768x32"
                                  << "between 1x1 and 2560x1600";
        QTest::newRow("zero") << "0x768x32"
                              << "between 1x1 and 2560x1600";
        QTest::newRow("junk") << "1024x768x32x"
                              << "expected WIDTHxHEIGHTxBPP";
        QTest::newRow("huge") << "99999999x768x32"
                              << "too large";
        QTest::newRow("empty") << ""
                               << "expected WIDTHxHEIGHTxBPP";
    }

    void modeOptionRejectsBadModes() {
        QFETCH(QString, text);
        QFETCH(QString, message);
        MachineConfig::Framebuffer mode;
        try {
            parseFramebufferMode(text.toStdString(), mode, "--framebuffer");
            QFAIL("accepted");
        } catch (const InputError& error) {
            const QString what = QString::fromUtf8(error.what());
            QVERIFY2(what.contains(message) && what.contains("--framebuffer"), qPrintable(what));
        }
        QCOMPARE(mode.width, 1024u); // left as it was
    }

    void configValidatesTheMode() {
        MachineConfig config;
        config.validate();
        config.framebuffer.bitsPerPixel = 8;
        QVERIFY_THROWS_EXCEPTION(InputError, config.validate());
        config.framebuffer.enabled = false; // no framebuffer: its mode does not matter
        config.validate();
    }

    void linuxIsToldOfAVesaFramebuffer() {
        const boot::BootFramebuffer framebuffer{0xE0000000, 16 << 20, 1024, 768, 32, 4096};
        const screen_info info = boot::linuxScreenInfo(framebuffer);
        QCOMPARE(info.orig_video_isVGA, uint8_t(VIDEO_TYPE_VLFB));
        QCOMPARE(info.lfb_base, 0xE0000000u);
        QCOMPARE(info.lfb_size, 256u); // 64 KiB units for VLFB
        QCOMPARE(info.lfb_width, uint16_t(1024));
        QCOMPARE(info.lfb_height, uint16_t(768));
        QCOMPARE(info.lfb_depth, uint16_t(32));
        QCOMPARE(info.lfb_linelength, uint16_t(4096));
        QCOMPARE(info.pages, uint16_t(5)); // 16 MiB / 3 MiB
        QCOMPARE(info.red_pos, uint8_t(16));
        QCOMPARE(info.green_pos, uint8_t(8));
        QCOMPARE(info.blue_pos, uint8_t(0));
        QCOMPARE(info.rsvd_size, uint8_t(8));
        QCOMPARE(info.capabilities, 0u); // a 32-bit base

        const screen_info rgb565 =
            boot::linuxScreenInfo({0xE0000000, 16 << 20, 800, 600, 16, 1600});
        QCOMPARE(rgb565.red_size, uint8_t(5));
        QCOMPARE(rgb565.red_pos, uint8_t(11));
        QCOMPARE(rgb565.green_size, uint8_t(6));
        QCOMPARE(rgb565.rsvd_size, uint8_t(0));
    }
};

QTEST_APPLESS_MAIN(FramebufferTest)
#include "FramebufferTest.moc"
