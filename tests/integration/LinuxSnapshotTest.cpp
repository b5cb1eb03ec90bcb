// Debian's own kernel saved and restored (docs/snapshots.md): one boot with the busybox
// initramfs (tests/guests/build-initramfs.sh) and `--save-state FILE` is saved on SIGUSR1 twice
// while it runs on to its power-off: mid-boot, at the kernel's banner, and in /init, once it has
// printed its first line and sleeps in its command. Each snapshot is continued in a new process,
// which must go on from there: the one saved mid-boot reaches /init and prints all of /init's
// output, the one saved in /init prints only the rest of it; both power off with status 0, as
// the uninterrupted boot did. The guest's clock, timers, interrupt controllers, serial port and
// RAM all have to come back for that (a lost timer interrupt stops the sleep forever).
//
// Like LinuxBootTest's boots to /init, it needs a host that runs guest ring 0 natively (VMX/SVM)
// and skips elsewhere with the reason (docs/boot.md).
#include "KvmTestSupport.h"
#include "LinuxGuest.h"

#include <QFile>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <csignal>

using namespace kvmscope::testing;

namespace {

struct SavedBoot {
    QString output;        // stdout of the whole run
    QString err;           // stderr
    QStringList snapshots; // a copy of FILE after each save, in trigger order
    bool exited = false;
    int exitCode = -1;
};

// Runs kvmscope with `--save-state file`; at the first line of stdout that contains
// triggers[i], sends SIGUSR1 and, once stderr says it saved, copies the file aside. Then lets
// the guest run to its end (or the deadline).
SavedBoot bootWithSaves(const QStringList& arguments, const QString& file,
                        const QStringList& triggers) {
    QProcess process;
    endWithTest(process);
    process.setProgram(QStringLiteral(KVMSCOPE_BINARY));
    process.setArguments(arguments + QStringList{"--save-state", file});
    QElapsedTimer timer;
    timer.start();
    process.start();
    SavedBoot boot;
    if (!process.waitForStarted(10000))
        return boot;
    auto read = [&] {
        boot.output += QString::fromUtf8(process.readAllStandardOutput());
        boot.err += QString::fromUtf8(process.readAllStandardError());
    };
    const QString saved = QStringLiteral("saved the machine to ") + file;
    for (const QString& trigger : triggers) {
        while (!boot.output.contains(trigger) && process.state() == QProcess::Running &&
               timer.elapsed() < kDeadlineMs) {
            process.waitForReadyRead(200);
            read();
        }
        if (!boot.output.contains(trigger))
            break;
        const qsizetype savesBefore = boot.err.count(saved);
        ::kill(static_cast<pid_t>(process.processId()), SIGUSR1);
        while (boot.err.count(saved) == savesBefore && process.state() == QProcess::Running &&
               timer.elapsed() < kDeadlineMs) {
            process.waitForReadyRead(200);
            read();
        }
        if (boot.err.count(saved) == savesBefore)
            break;
        const QString copy = file + QStringLiteral(".%1").arg(boot.snapshots.size());
        QFile::remove(copy);
        if (!QFile::copy(file, copy))
            break;
        boot.snapshots << copy;
    }
    while (process.state() == QProcess::Running && timer.elapsed() < kDeadlineMs) {
        process.waitForReadyRead(500);
        read();
    }
    if (process.state() == QProcess::Running) {
        process.kill();
        process.waitForFinished(5000);
    } else {
        boot.exited = process.exitStatus() == QProcess::NormalExit;
        boot.exitCode = process.exitCode();
    }
    read();
    return boot;
}

QString describe(const QString& what, const QString& output, const QString& err) {
    return QStringLiteral("%1\n--- stdout (end) ---\n%2\n--- stderr ---\n%3")
        .arg(what, output.right(5000), err.right(3000));
}

} // namespace

class LinuxSnapshotTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { KVMSCOPE_REQUIRE_KVM(); }

    void savedMidBootAndInInitGoesOn() {
        QString skip;
        const QString kernel = initReadyKernelOrSkipReason(skip);
        if (kernel.isEmpty())
            QSKIP(qPrintable(skip));
        const QString initramfs =
            QFileInfo(kernel).dir().filePath(QStringLiteral("initramfs.cpio.gz"));
        // The command sleeps between its first and its second line: the save in /init comes
        // while it sleeps, and the restored guest's timer has to end the sleep.
        const QString command = QStringLiteral(
            "echo%20kvmscope-snapshot:%20sleeping;sleep%201;"
            "echo%20kvmscope-snapshot:%20slept;grep%20-c%20processor%20/proc/cpuinfo");
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("linux.kvmsnap"));
        const QString banner = QStringLiteral("Linux version");
        const QString up = QStringLiteral("kvmscope-initramfs: up");
        const SavedBoot boot =
            bootWithSaves({"--headless", "--memory", "256M", "--initrd", initramfs, "--append",
                           "console=ttyS0 kvmscope.run=" + command, kernel},
                          file, {banner, QStringLiteral("kvmscope-snapshot: sleeping")});
        const QString poweringOff = QStringLiteral("kvmscope-initramfs: powering off");
        const QString statusZero = QStringLiteral("kvmscope-initramfs: exit status 0");
        QVERIFY2(boot.snapshots.size() == 2,
                 qPrintable(describe("not saved twice", boot.output, boot.err)));
        QVERIFY2(
            boot.exited && boot.exitCode == 0 && boot.output.contains(poweringOff),
            qPrintable(describe("the saved run did not end as it should", boot.output, boot.err)));

        // Saved mid-boot: the new process boots on to /init and through all of it.
        const Boot midBoot =
            runUntil({"--headless", "--restore", boot.snapshots[0]}, {poweringOff}, 1, Then::Exit);
        for (const QString& line : {up, QStringLiteral("kvmscope-snapshot: sleeping"),
                                    QStringLiteral("kvmscope-snapshot: slept"), statusZero})
            QVERIFY2(midBoot.output.contains(line),
                     qPrintable(QStringLiteral("missing '%1' after the mid-boot restore\n%2")
                                    .arg(line, midBoot.output.right(6000))));
        QVERIFY2(!midBoot.output.contains(banner), qPrintable(midBoot.output.right(6000)));
        QVERIFY2(midBoot.output.contains(QRegularExpression(QStringLiteral("(^|\\n)1\\r?\\n"))),
                 qPrintable(midBoot.output.right(6000))); // grep -c processor: 1 vcpu
        QVERIFY2(midBoot.exited && midBoot.exitCode == 0, qPrintable(midBoot.output.right(4000)));

        // Saved in /init: only the rest of /init's output, then the power-off.
        const Boot inInit =
            runUntil({"--headless", "--restore", boot.snapshots[1]}, {poweringOff}, 1, Then::Exit);
        QVERIFY2(inInit.output.contains(QStringLiteral("kvmscope-snapshot: slept")) &&
                     inInit.output.contains(statusZero) && inInit.output.contains(poweringOff),
                 qPrintable(inInit.output.right(6000)));
        for (const QString& before : {banner, up, QStringLiteral("kvmscope-snapshot: sleeping")})
            QVERIFY2(!inInit.output.contains(before),
                     qPrintable(QStringLiteral("'%1' again after the restore in /init\n%2")
                                    .arg(before, inInit.output.right(6000))));
        QVERIFY2(inInit.exited && inInit.exitCode == 0, qPrintable(inInit.output.right(4000)));
        // /init's lines after the save are the uninterrupted run's.
        auto initLines = [](const QString& output, const QString& from) {
            QStringList lines;
            const qsizetype start = output.indexOf(from);
            for (const QString& line : output.mid(start).split(QLatin1Char('\n')))
                if (line.trimmed().startsWith(QStringLiteral("kvmscope-")))
                    lines << line.trimmed();
            return lines;
        };
        const QString slept = QStringLiteral("kvmscope-snapshot: slept");
        QCOMPARE(initLines(inInit.output, slept), initLines(boot.output, slept));
        qInfo("restored mid-boot: /init's power-off after %lld ms; restored in /init: after %lld "
              "ms",
              static_cast<long long>(midBoot.seenMs.value(poweringOff, -1)),
              static_cast<long long>(inInit.seenMs.value(poweringOff, -1)));
    }
};

QTEST_GUILESS_MAIN(LinuxSnapshotTest)
#include "LinuxSnapshotTest.moc"
