// The Exits dock's rate chart on the `io-loop` guest (docs/guests.md), patched to loop for a long
// time so that every statistics sample sees exits: the history gets one point per sample, its
// last value is the session's exits/s, old points leave after 60 s, and the chart paints.
#include "exits/ExitRateChart.h"

#include "GuiTestSupport.h"
#include "exits/ExitRateHistory.h"
#include "exits/ExitsView.h"
#include "session/MachineSession.h"

#include <QFile>
#include <QImage>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtEndian>

using namespace kvmscope;
using namespace kvmscope::ui;
using namespace kvmscope::testing;

class ExitRateChartTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<kvm::System> system_;
    QTemporaryDir dir_;

    // io-loop with its round count (the word after the "IOLN" tag) set to `rounds`.
    QString patchedIoLoop(quint32 rounds) {
        QFile original(QString::fromStdString(guestImage("io-loop")));
        if (!original.open(QIODevice::ReadOnly))
            return {};
        QByteArray image = original.readAll();
        if (image.size() < 12 || image.mid(4, 4) != "IOLN")
            return {};
        qToLittleEndian(rounds, image.data() + 8);
        const QString path = dir_.filePath(QStringLiteral("io-loop-long"));
        QFile patched(path);
        if (!patched.open(QIODevice::WriteOnly) || patched.write(image) != image.size())
            return {};
        return path;
    }

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_GUI_REQUIRE_KVM();
        system_ = std::make_unique<kvm::System>();
        QVERIFY(dir_.isValid());
    }

    void chartFollowsTheSessionsRate() {
        const QString image = patchedIoLoop(0xffffffffu);
        QVERIFY(!image.isEmpty());
        KVMSCOPE_GUI_GUEST_CONFIG(config, "io-loop");
        config.boot.imagePath = image.toStdString();
        MachineSession session(config, *system_);
        ExitsView view;
        view.show(); // the chart draws only while it is on screen
        view.setSession(&session);
        ExitRateHistory* history = view.rateHistory();
        QVERIFY(history->points().empty());
        QCOMPARE(view.rateChart()->caption(), QStringLiteral("exits/s: no samples"));

        session.run();
        QSignalSpy sampled(&session, &MachineSession::statisticsUpdated);
        QTRY_VERIFY_WITH_TIMEOUT(sampled.count() >= 3 && history->lastRate() > 0, kGuestTimeoutMs);
        QVERIFY(history->points().size() >= 3);
        QCOMPARE(history->lastRate(), session.exitsPerSecond());
        QVERIFY(history->maxRate() >= history->lastRate());
        QVERIFY(view.rateChart()->caption().startsWith(
            QString::number(session.exitsPerSecond(), 'f', 0) + QStringLiteral(" exits/s")));
        // Time runs forward along x.
        const auto& points = history->points();
        for (size_t i = 1; i < points.size(); ++i)
            QVERIFY(points[i].x() >= points[i - 1].x());

        // Painted: the line leaves pixels in the accent colour.
        view.rateChart()->resize(300, 80);
        const QImage picture = view.rateChart()->grab().toImage();
        QVERIFY(!picture.isNull());
        // The line is drawn in the highlight colour (antialiased: count pixels close to it).
        const QColor accent = view.rateChart()->palette().highlight().color();
        int accentPixels = 0;
        for (int y = 0; y < picture.height(); ++y)
            for (int x = 0; x < picture.width(); ++x) {
                const QColor pixel = picture.pixelColor(x, y);
                accentPixels += std::abs(pixel.red() - accent.red()) < 40 &&
                                std::abs(pixel.green() - accent.green()) < 40 &&
                                std::abs(pixel.blue() - accent.blue()) < 40;
            }
        // Three samples span 1 s of the 60 s window: a short segment at the right edge.
        QVERIFY2(accentPixels > 5, qPrintable(QString::number(accentPixels)));
        session.stop();
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MachineSession::State::Stopped, kGuestTimeoutMs);

        // Another session starts from an empty history.
        view.setSession(nullptr);
        QVERIFY(history->points().empty());
    }
};

QTEST_MAIN(ExitRateChartTest)
#include "ExitRateChartTest.moc"
