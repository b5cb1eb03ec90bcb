// kvmscope's snapshot file (snapshot/SnapshotFile.h) and what goes in it first, RAM and device
// state (RamImage.h, DeviceStateCodec.h), without /dev/kvm: round trips, and every kind of bad
// file (cut at any length, a flipped byte in any section, a foreign magic or version, bytes after
// the end) refused with the file and the section named; a save that fails leaves no file.
#include "snapshot/SnapshotFile.h"

#include "common/Error.h"
#include "devices/CmosRtc.h"
#include "machine/GuestMemory.h"
#include "snapshot/DeviceStateCodec.h"
#include "snapshot/RamImage.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace kvmscope;
using namespace kvmscope::snapshot;

namespace {

std::span<const uint8_t> bytesOf(const char* text) {
    return {reinterpret_cast<const uint8_t*>(text), std::strlen(text)};
}

QString loadError(const std::string& path) {
    try {
        SnapshotReader reader(path);
    } catch (const LoadError& error) {
        return QString::fromStdString(error.what());
    }
    return {};
}

QByteArray contents(const std::string& path) {
    QFile file(QString::fromStdString(path));
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

void overwrite(const std::string& path, const QByteArray& bytes) {
    QFile file(QString::fromStdString(path));
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(file.write(bytes), bytes.size());
}

std::string twoSections(const QTemporaryDir& dir) {
    const std::string path = dir.filePath(QStringLiteral("a.kvmsnap")).toStdString();
    SnapshotWriter writer(path);
    writer.section("machine", bytesOf("ram=1M cpus=1"));
    writer.beginSection("pieces");
    writer.append(bytesOf("first,"));
    writer.append(bytesOf("second"));
    writer.endSection();
    writer.finish();
    return path;
}

} // namespace

class SnapshotFileTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void sectionsRoundTrip() {
        QTemporaryDir dir;
        const std::string path = twoSections(dir);
        const SnapshotReader reader(path);
        QCOMPARE(reader.formatVersion(), kFormatVersion);
        QCOMPARE(reader.names(), (std::vector<std::string>{"machine", "pieces"}));
        const auto pieces = reader.section("pieces");
        QCOMPARE(QByteArray(reinterpret_cast<const char*>(pieces.data()), qsizetype(pieces.size())),
                 QByteArray("first,second"));
        QVERIFY(!reader.has("vcpu0"));
        QVERIFY_THROWS_EXCEPTION(LoadError, reader.section("vcpu0"));
    }

    // Every prefix of a good file is refused, with the word "truncated" or as too short.
    void everyCutIsRefused() {
        QTemporaryDir dir;
        const std::string path = twoSections(dir);
        const QByteArray whole = contents(path);
        const std::string cut = dir.filePath(QStringLiteral("cut.kvmsnap")).toStdString();
        for (qsizetype length = 0; length < whole.size(); ++length) {
            overwrite(cut, whole.left(length));
            const QString error = loadError(cut);
            QVERIFY2(error.contains("truncated") || error.contains("shorter than") ||
                         error.contains("counts") || error.contains("corrupt"),
                     qPrintable(QStringLiteral("%1 bytes: %2").arg(length).arg(error)));
            QVERIFY(error.startsWith(QString::fromStdString(cut)));
        }
    }

    void flippedBytesAreCorruptSectionsNamed() {
        QTemporaryDir dir;
        const std::string path = twoSections(dir);
        const QByteArray whole = contents(path);
        const qsizetype inMachine = whole.indexOf("ram=1M");
        const qsizetype inPieces = whole.indexOf("second");
        for (const auto& [offset, section] : {std::pair{inMachine, QString("'machine'")},
                                              std::pair{inPieces, QString("'pieces'")}}) {
            QByteArray bad = whole;
            bad[offset] = char(bad[offset] ^ 0x20);
            overwrite(path, bad);
            const QString error = loadError(path);
            QVERIFY2(error.contains(section) && error.contains("corrupt"), qPrintable(error));
        }
    }

    void foreignFilesAreRefused() {
        QTemporaryDir dir;
        const std::string path = twoSections(dir);
        QByteArray bad = contents(path);
        bad[0] = 'X';
        overwrite(path, bad);
        QVERIFY(loadError(path).contains("not a kvmscope snapshot"));
        bad = contents(twoSections(dir));
        bad[8] = 9; // format version 9
        overwrite(path, bad);
        QVERIFY2(loadError(path).contains("format version 9 is not one this kvmscope reads (1)"),
                 qPrintable(loadError(path)));
        bad = contents(twoSections(dir));
        overwrite(path, bad + "x");
        QVERIFY(loadError(path).contains("1 bytes follow the 'end' section"));
    }

    // The previous file stays until a save is complete; a save that is abandoned or fails
    // leaves nothing behind.
    void unfinishedSavesLeaveNothing() {
        QTemporaryDir dir;
        const std::string path = twoSections(dir);
        const QByteArray before = contents(path);
        {
            SnapshotWriter writer(path);
            writer.section("machine", bytesOf("other"));
        }
        QCOMPARE(contents(path), before);
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"a.kvmsnap"});
        SnapshotWriter writer(path);
        QVERIFY_THROWS_EXCEPTION(Error, writer.section("end", bytesOf("x")));
        writer.section("machine", bytesOf("x"));
        QVERIFY_THROWS_EXCEPTION(Error, writer.section("machine", bytesOf("again")));
        const std::string nowhere = dir.filePath(QStringLiteral("none/x.kvmsnap")).toStdString();
        QVERIFY_THROWS_EXCEPTION(Error, SnapshotWriter{nowhere});
    }

    void ramSkipsZeroPagesAndRoundTrips() {
        QTemporaryDir dir;
        const std::string path = dir.filePath(QStringLiteral("ram.kvmsnap")).toStdString();
        GuestMemory saved(4 << 20);
        saved.fill(0x1000, 0xaa, 0x2000);        // pages 1-2
        saved.writeValue<uint64_t>(0x3ff000, 7); // the last page
        {
            SnapshotWriter writer(path);
            const RamImageStats stats = writeRam(writer, saved);
            QCOMPARE(stats.pagesStored, uint64_t{3});
            QCOMPARE(stats.pagesZero, uint64_t{1024 - 3});
            writer.finish();
        }
        QVERIFY(contents(path).size() < 4 * 4096 + 200);
        GuestMemory restored(4 << 20);
        restored.fill(0x200000, 0x55, 0x1000); // not in the snapshot: must come back zero
        const RamImageStats stats = readRam(SnapshotReader(path), restored);
        QCOMPARE(stats.pagesStored, uint64_t{3});
        QCOMPARE(restored.readValue<uint8_t>(0x2fff), uint8_t{0xaa});
        QCOMPARE(restored.readValue<uint8_t>(0x200000), uint8_t{0});
        QCOMPARE(restored.readValue<uint64_t>(0x3ff000), uint64_t{7});

        GuestMemory other(8 << 20);
        try {
            readRam(SnapshotReader(path), other);
            QFAIL("a snapshot of 4 MiB restored into 8 MiB");
        } catch (const LoadError& error) {
            QVERIFY2(QString(error.what()).contains("4 MiB") &&
                         QString(error.what()).contains("8 MiB"),
                     error.what());
        }
    }

    // A device's whole state through a snapshot section and back into another device.
    void deviceStateRoundTripsThroughBytes() {
        CmosRtc rtc(64 << 20);
        const uint8_t select[] = {0x0e}, value[] = {0x5a}; // CMOS byte 0x0e := 0x5a
        rtc.write(0, select);
        rtc.write(1, value);
        const SavedDeviceState state = rtc.saveState();
        const std::vector<uint8_t> bytes = encodeDeviceState(state);
        const SavedDeviceState decoded = decodeDeviceState(bytes, "f", "device/rtc");
        QCOMPARE(decoded.size(), state.size());
        CmosRtc other(64 << 20);
        other.restoreState(decoded);
        QCOMPARE(encodeDeviceState(other.saveState()), bytes);

        for (size_t length = 0; length < bytes.size(); ++length) {
            const auto cut = std::span(bytes).first(length);
            QVERIFY_THROWS_EXCEPTION(LoadError, decodeDeviceState(cut, "f", "device/rtc"));
        }
        std::vector<uint8_t> extra = bytes;
        extra.push_back(0);
        QVERIFY_THROWS_EXCEPTION(LoadError, decodeDeviceState(extra, "f", "device/rtc"));
    }
};

QTEST_GUILESS_MAIN(SnapshotFileTest)
#include "SnapshotFileTest.moc"
