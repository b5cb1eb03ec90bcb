// Saving a running guest and restoring it in a new process (docs/snapshots.md), through the
// command line: `--save-state FILE` at --timeout, on SIGUSR1 and SIGUSR2, `--restore FILE`. The
// ticks guest prints numbered lines paced by its TSC, so the restored run must print exactly what
// the uninterrupted run printed after the save, and end with the same exit status. The virtio-io
// guest does the same with its virtio-blk queue busy: saved with requests in the queue, it must
// also leave the disk as an uninterrupted run does. Also: bad snapshots (cut short, a flipped
// byte, a disk image changed since the save, IDE or virtio) are refused with status 2 before
// anything runs.
#include "ChildProcess.h"
#include "KvmTestSupport.h"

#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <csignal>
#include <sys/time.h>
#include <utime.h>

using namespace kvmscope::testing;

namespace {

constexpr int kTicksStatus = (0x2a << 1) | 1;    // ticks.c: TICKS_EXIT_VALUE
constexpr int kVirtioIoStatus = (0x2c << 1) | 1; // virtio-io.c: VIRTIO_IO_EXIT_VALUE
constexpr int kVirtioIoDiskBytes = 1 << 20;      // virtio-io.c: DISK_SECTORS
constexpr int kStatusBadInput = 2;
constexpr int kStatusTimeout = 6;

struct Uninterrupted {
    CliResult result;
    double seconds = 0;
};

Uninterrupted runTicks(const QStringList& extra) {
    QElapsedTimer timer;
    timer.start();
    Uninterrupted run;
    run.result = runKvmscope(QStringList{"--headless", guestPath("ticks")} + extra, {}, 120000);
    run.seconds = double(timer.elapsed()) / 1000.0;
    return run;
}

QByteArray readAll(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

void writeAll(const QString& path, const QByteArray& bytes) {
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(file.write(bytes), bytes.size());
}

} // namespace

class SnapshotTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { KVMSCOPE_REQUIRE_KVM(); }

    void restoredRunPrintsTheRest_data() {
        QTest::addColumn<QStringList>("machine");
        QTest::newRow("1 vcpu") << QStringList{};
        // The second vcpu waits for a SIPI that never comes: its MP state must come back too.
        QTest::newRow("2 vcpus") << QStringList{"--cpus", "2"};
    }
    void restoredRunPrintsTheRest() {
        QFETCH(QStringList, machine);
        const Uninterrupted whole = runTicks(machine);
        QVERIFY2(whole.result.finished && whole.result.exitCode == kTicksStatus,
                 describe(whole.result));
        QVERIFY(whole.result.out.trimmed().endsWith("ticks: done"));

        // Saved half-way through (by the wall clock of the uninterrupted run).
        QTemporaryDir dir;
        const QString file = dir.filePath("ticks.kvmsnap");
        const QString timeout = QString::number(std::max(0.2, whole.seconds / 2), 'f', 2);
        const Uninterrupted first =
            runTicks(machine + QStringList{"--timeout", timeout, "--save-state", file});
        QVERIFY2(first.result.finished && first.result.exitCode == kStatusTimeout,
                 describe(first.result));
        QVERIFY2(first.result.err.contains("saved the machine to " + file), describe(first.result));
        QVERIFY2(first.result.out.size() < whole.result.out.size(),
                 qPrintable("the run finished before --timeout " + timeout + "\n" +
                            describe(first.result)));
        QVERIFY2(whole.result.out.startsWith(first.result.out), describe(first.result));

        // A new process continues it: the rest of the output, and the same status.
        const CliResult restored = runKvmscope({"--headless", "--restore", file}, {}, 120000);
        QVERIFY2(restored.finished && restored.exitCode == kTicksStatus, describe(restored));
        QCOMPARE(first.result.out + restored.out, whole.result.out);
    }

    // The RTC's interrupts go on after a restore: the rtc-irq guest, saved while it waits for
    // its update and alarm interrupts (it needs at least two seconds: the alarm is two seconds
    // after the first update), reaches its end in the new process only if the restored RTC
    // re-armed its timer. Its own checks may fail (status 101): the second it counts or the alarm
    // may straddle the gap between the save and the restore.
    void rtcInterruptsGoOnAfterARestore() {
        QTemporaryDir dir;
        const QString file = dir.filePath("rtc.kvmsnap");
        const CliResult saved = runKvmscope(
            {"--headless", guestPath("rtc-irq"), "--timeout", "1.5", "--save-state", file});
        QVERIFY2(saved.finished && saved.exitCode == kStatusTimeout, describe(saved));
        QVERIFY2(!saved.out.contains("rtc-irq: interrupts"), describe(saved));
        const CliResult restored =
            runKvmscope({"--headless", "--restore", file, "--timeout", "60"}, {}, 120000);
        QVERIFY2(restored.finished && (restored.exitCode == ((0x31 << 1) | 1) ||
                                       restored.exitCode == ((0x32 << 1) | 1)),
                 describe(restored));
        QVERIFY2(restored.out.contains("rtc-irq: interrupts"), describe(restored));
    }

    // SIGUSR1 saves and the guest runs on to its end; the restored run ends the same way.
    void sigusr1SavesAndRunsOn() {
        QTemporaryDir dir;
        const QString file = dir.filePath("usr1.kvmsnap");
        QProcess process;
        endWithTest(process);
        process.start(QStringLiteral(KVMSCOPE_BINARY),
                      {"--headless", guestPath("ticks"), "--save-state", file});
        QVERIFY(process.waitForStarted(10000));
        QByteArray out;
        QElapsedTimer timer;
        timer.start();
        while (!out.contains("tick 3 ") && timer.elapsed() < 60000) {
            process.waitForReadyRead(1000);
            out += process.readAllStandardOutput();
        }
        QVERIFY2(out.contains("tick 3 "), out.constData());
        ::kill(static_cast<pid_t>(process.processId()), SIGUSR1);
        QVERIFY(process.waitForFinished(120000));
        out += process.readAllStandardOutput();
        const QByteArray err = process.readAllStandardError();
        QCOMPARE(process.exitCode(), kTicksStatus);
        QVERIFY2(err.contains("saved the machine to"), err.constData());
        QVERIFY(QFileInfo::exists(file));

        const CliResult restored = runKvmscope({"--headless", "--restore", file}, {}, 120000);
        QVERIFY2(restored.finished && restored.exitCode == kTicksStatus, describe(restored));
        QVERIFY2(restored.out.trimmed().endsWith("ticks: done"), describe(restored));
        QVERIFY2(QString::fromUtf8(out).endsWith(restored.out), describe(restored));
        QVERIFY(restored.out.size() < out.size());
    }

    // A snapshot of a machine with an IDE disk restores; cut short, with a flipped byte, or saved
    // with a disk image that has changed since, it is refused naming the file and the part, with
    // status 2, and no guest output.
    void badSnapshotsAreRefused() {
        QTemporaryDir dir;
        const QString disk = dir.filePath("disk.img");
        writeAll(disk, QByteArray(1 << 20, '\0'));
        const QString file = dir.filePath("disk.kvmsnap");
        const Uninterrupted saved =
            runTicks({"--disk", disk + ",if=ide", "--timeout", "0.3", "--save-state", file});
        QVERIFY2(saved.result.exitCode == kStatusTimeout, describe(saved.result));
        const QByteArray good = readAll(file);
        QVERIFY(good.size() > 1024);
        // Unchanged, the disk machine (an IDE controller and drive among its devices) goes on.
        const CliResult resumed = runKvmscope({"--headless", "--restore", file}, {}, 120000);
        QVERIFY2(resumed.finished && resumed.exitCode == kTicksStatus, describe(resumed));
        QVERIFY2(resumed.out.trimmed().endsWith("ticks: done"), describe(resumed));

        const QString cut = dir.filePath("cut.kvmsnap");
        writeAll(cut, good.left(good.size() / 2));
        CliResult result = runKvmscope({"--headless", "--restore", cut});
        QCOMPARE(result.exitCode, kStatusBadInput);
        QVERIFY2(result.err.contains(cut) && result.out.isEmpty(), describe(result));

        const QString flipped = dir.filePath("flipped.kvmsnap");
        QByteArray bytes = good;
        bytes[bytes.size() / 3] = char(bytes[bytes.size() / 3] ^ 0x40);
        writeAll(flipped, bytes);
        result = runKvmscope({"--headless", "--restore", flipped});
        QCOMPARE(result.exitCode, kStatusBadInput);
        QVERIFY2(result.err.contains(flipped) && result.err.contains("section"), describe(result));

        // The disk written after the save (here: only its time touched).
        struct timeval times[2] = {{1, 0}, {1, 0}};
        QCOMPARE(::utimes(QFile::encodeName(disk).constData(), times), 0);
        result = runKvmscope({"--headless", "--restore", file});
        QCOMPARE(result.exitCode, kStatusBadInput);
        QVERIFY2(result.err.contains("changed since the save") && result.err.contains(disk),
                 describe(result));
    }

    // The window restores through the same MachineHost path: its log says the machine was
    // restored, and --timeout closes it.
    void windowRestoresTheSnapshot() {
        QTemporaryDir dir;
        const QString file = dir.filePath("window.kvmsnap");
        const Uninterrupted saved = runTicks({"--timeout", "1", "--save-state", file});
        QVERIFY2(saved.result.exitCode == kStatusTimeout, describe(saved.result));
        QProcess process;
        endWithTest(process);
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        process.setProcessEnvironment(environment);
        process.start(QStringLiteral(KVMSCOPE_BINARY),
                      {"--restore", file, "--timeout", "5", "--log-level", "info"});
        QVERIFY(process.waitForStarted(10000));
        QVERIFY(process.waitForFinished(120000));
        const QByteArray err = process.readAllStandardError();
        QCOMPARE(process.exitCode(), 0);
        QVERIFY2(!err.contains("cannot load the window"), err.constData());
        QVERIFY2(err.contains(file.toUtf8() + ": restored 1 vcpus"), err.constData());
    }

    // The virtio-io guest keeps its virtio-blk queue busy (batches of requests offered at once,
    // the doorbell rung only when avail_event asks for it): saved part-way, with chains in the
    // queue, and continued in a new process, it prints exactly the rest of an uninterrupted
    // run, ends with the same status, and leaves the disk image byte for byte as that run does.
    void virtioDiskMachineRestoresMidIo() {
        QTemporaryDir dir;
        const QString wholeDisk = dir.filePath("whole.img");
        writeAll(wholeDisk, QByteArray(kVirtioIoDiskBytes, '\0'));
        QElapsedTimer timer;
        timer.start();
        const CliResult whole =
            runKvmscope({"--headless", guestPath("virtio-io"), "--disk", wholeDisk}, {}, 180000);
        const double seconds = double(timer.elapsed()) / 1000.0;
        QVERIFY2(whole.finished && whole.exitCode == kVirtioIoStatus, describe(whole));
        QVERIFY2(whole.out.contains("virtio-io: done, 2160 requests"), describe(whole));

        const QString disk = dir.filePath("saved.img");
        writeAll(disk, QByteArray(kVirtioIoDiskBytes, '\0'));
        const QString file = dir.filePath("virtio.kvmsnap");
        const QString timeout = QString::number(std::max(0.2, seconds / 2), 'f', 2);
        const CliResult first = runKvmscope({"--headless", guestPath("virtio-io"), "--disk", disk,
                                             "--timeout", timeout, "--save-state", file},
                                            {}, 180000);
        QVERIFY2(first.finished && first.exitCode == kStatusTimeout, describe(first));
        QVERIFY2(first.err.contains("saved the machine to " + file), describe(first));
        QVERIFY2(first.out.contains("virtio-io: event index") &&
                     !first.out.contains("virtio-io: done"),
                 qPrintable("not saved while the guest did its I/O (--timeout " + timeout + ")\n" +
                            describe(first)));
        QVERIFY2(whole.out.startsWith(first.out), describe(first));

        const CliResult restored = runKvmscope({"--headless", "--restore", file}, {}, 180000);
        QVERIFY2(restored.finished && restored.exitCode == kVirtioIoStatus, describe(restored));
        QCOMPARE(first.out + restored.out, whole.out);
        QVERIFY(readAll(disk) == readAll(wholeDisk));
        qInfo("uninterrupted run %.2f s; saved after %s s, at \"%s\"", seconds, qPrintable(timeout),
              qPrintable(first.out.trimmed().section('\n', -1)));
    }

    // SIGUSR2 saves at a moment chosen from the guest's output and stops the run (status 140):
    // the disk stays as the snapshot recorded it, and the restored run finishes as an
    // uninterrupted one, disk included.
    void sigusr2SavesAndStops() {
        QTemporaryDir dir;
        const QString wholeDisk = dir.filePath("whole.img");
        writeAll(wholeDisk, QByteArray(kVirtioIoDiskBytes, '\0'));
        const CliResult whole =
            runKvmscope({"--headless", guestPath("virtio-io"), "--disk", wholeDisk}, {}, 180000);
        QVERIFY2(whole.finished && whole.exitCode == kVirtioIoStatus, describe(whole));

        const QString disk = dir.filePath("usr2.img");
        writeAll(disk, QByteArray(kVirtioIoDiskBytes, '\0'));
        const QString file = dir.filePath("usr2.kvmsnap");
        QProcess process;
        endWithTest(process);
        process.start(QStringLiteral(KVMSCOPE_BINARY),
                      {"--headless", guestPath("virtio-io"), "--disk", disk, "--save-state", file});
        QVERIFY(process.waitForStarted(10000));
        QByteArray out;
        QElapsedTimer timer;
        timer.start();
        while (!out.contains("round 100 ") && timer.elapsed() < 120000) {
            process.waitForReadyRead(1000);
            out += process.readAllStandardOutput();
        }
        QVERIFY2(out.contains("round 100 "), out.constData());
        ::kill(static_cast<pid_t>(process.processId()), SIGUSR2);
        QVERIFY(process.waitForFinished(60000));
        out += process.readAllStandardOutput();
        const QByteArray err = process.readAllStandardError();
        QVERIFY2(process.exitCode() == 128 + SIGUSR2 && err.contains("saved the machine to"),
                 err.constData());
        QVERIFY2(!out.contains("virtio-io: done"), out.constData());

        const CliResult restored = runKvmscope({"--headless", "--restore", file}, {}, 180000);
        QVERIFY2(restored.finished && restored.exitCode == kVirtioIoStatus, describe(restored));
        QCOMPARE(QString::fromUtf8(out) + restored.out, whole.out);
        QVERIFY(readAll(disk) == readAll(wholeDisk));
    }

    // SIGUSR1 saves a virtio machine and the guest runs on, writing its disk: the snapshot then
    // no longer matches the image, and the restore is refused naming it (status 2), before the
    // guest runs.
    void virtioDiskWrittenAfterTheSaveIsRefused() {
        QTemporaryDir dir;
        const QString disk = dir.filePath("usr1.img");
        writeAll(disk, QByteArray(kVirtioIoDiskBytes, '\0'));
        const QString file = dir.filePath("usr1.kvmsnap");
        QProcess process;
        endWithTest(process);
        process.start(QStringLiteral(KVMSCOPE_BINARY),
                      {"--headless", guestPath("virtio-io"), "--disk", disk, "--save-state", file});
        QVERIFY(process.waitForStarted(10000));
        QByteArray out;
        QElapsedTimer timer;
        timer.start();
        while (!out.contains("round 20 ") && timer.elapsed() < 120000) {
            process.waitForReadyRead(1000);
            out += process.readAllStandardOutput();
        }
        QVERIFY2(out.contains("round 20 "), out.constData());
        ::kill(static_cast<pid_t>(process.processId()), SIGUSR1);
        QVERIFY(process.waitForFinished(180000));
        out += process.readAllStandardOutput();
        const QByteArray err = process.readAllStandardError();
        QVERIFY2(err.contains("saved the machine to"), err.constData());
        QCOMPARE(process.exitCode(), kVirtioIoStatus); // the guest went on to its end
        QVERIFY2(out.contains("virtio-io: done"), out.constData());

        const CliResult result = runKvmscope({"--headless", "--restore", file});
        QCOMPARE(result.exitCode, kStatusBadInput);
        QVERIFY2(result.err.contains("changed since the save") && result.err.contains(disk) &&
                     result.out.isEmpty(),
                 describe(result));
    }

    // --restore takes the machine from the file: an option that shapes the machine conflicts.
    void restoreRefusesMachineOptions() {
        const CliResult result =
            runKvmscope({"--headless", "--restore", "any.kvmsnap", "--memory", "128M"});
        QCOMPARE(result.exitCode, kStatusBadInput);
        QVERIFY2(result.err.contains("--memory cannot be given"), describe(result));
    }
};

QTEST_GUILESS_MAIN(SnapshotTest)
#include "SnapshotTest.moc"
