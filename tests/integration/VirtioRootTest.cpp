// Debian's own kernel with its root file system on a disk kvmscope serves: the virtio-root guest
// (tests/guests/build-virtio-root.sh, test.sh builds it beside the kernel) is an initramfs that
// loads virtio_pci, virtio_blk and ext4 and switches to the ext4 image given with --disk, whose
// /init writes files, trims the free space, lists the PCI functions, remounts itself read-only
// and powers off. Each run boots a fully allocated scratch copy of the template image; after
// kvmscope has exited by itself, the files the guest wrote are read back from the image with
// debugfs (e2fsprogs), without mounting it, e2fsck checks that the file system is clean, and on
// virtio-blk the copy's allocation shows that the guest's discards freed blocks.
//
// A third boot on virtio-blk is saved part-way (--save-state and SIGUSR2) while the guest uses
// its disk and continued in a new process (docs/snapshots.md).
//
// Like LinuxBootTest's boots to /init, it needs a host that runs guest ring 0 natively (VMX/SVM)
// and skips elsewhere with the reason (docs/boot.md).
#include "KvmTestSupport.h"
#include "LinuxGuest.h"

#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>

using namespace kvmscope::testing;

namespace {

struct Tool {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

// e2fsprogs' tools live in /sbin, which a user's PATH may leave out.
QString e2fsprogsTool(const QString& name) {
    QString path = QStandardPaths::findExecutable(name);
    if (path.isEmpty())
        path = QStandardPaths::findExecutable(
            name, {QStringLiteral("/usr/sbin"), QStringLiteral("/sbin")});
    return path;
}

Tool runTool(const QString& program, const QStringList& arguments) {
    QProcess process;
    endWithTest(process);
    process.start(program, arguments);
    Tool tool;
    if (!process.waitForStarted(10000))
        return tool;
    if (!process.waitForFinished(60000)) {
        process.kill();
        process.waitForFinished(5000);
        return tool;
    }
    tool.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    tool.out = process.readAllStandardOutput();
    tool.err = process.readAllStandardError();
    return tool;
}

// Copies `from` to `to` with every block written, holes too, so that the blocks a discard frees
// show in the copy's allocation.
bool copyAllocated(const QString& from, const QString& to) {
    QFile source(from);
    QFile target(to);
    if (!source.open(QIODevice::ReadOnly) || !target.open(QIODevice::WriteOnly))
        return false;
    const QByteArray bytes = source.readAll();
    return bytes.size() == source.size() && target.write(bytes) == bytes.size() && target.flush();
}

qint64 allocatedBytes(const QString& path) {
    struct stat status {};
    return ::stat(QFile::encodeName(path).constData(), &status) == 0
               ? qint64(status.st_blocks) * 512
               : -1;
}

// Whether the file system under `directory` frees a range on FALLOC_FL_PUNCH_HOLE, as kvmscope's
// discard asks (storage/DiskImage.cpp): tmpfs and ext4 do, a 9p share does not.
bool canPunchHoles(const QString& directory) {
    QFile probe(QDir(directory).filePath(QStringLiteral("punch-probe")));
    if (!probe.open(QIODevice::ReadWrite) || probe.write(QByteArray(1 << 20, 'x')) != (1 << 20) ||
        !probe.flush())
        return false;
    const bool punched =
        ::fallocate(probe.handle(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1 << 20) == 0 &&
        allocatedBytes(probe.fileName()) < (1 << 19);
    probe.remove();
    return punched;
}

// The lines the disk's /init printed between its lspci markers, each trimmed of the serial
// console's \r.
QStringList lspciLines(const QString& output) {
    const QString begin = QStringLiteral("kvmscope-disk-init: lspci begin");
    const QString end = QStringLiteral("kvmscope-disk-init: lspci end");
    const qsizetype from = output.indexOf(begin);
    const qsizetype to = output.indexOf(end, from);
    if (from < 0 || to < 0)
        return {};
    QStringList lines;
    for (const QString& line : output.mid(from + begin.size(), to - from - begin.size())
                                   .split(QLatin1Char('\n'), Qt::SkipEmptyParts))
        if (!line.trimmed().isEmpty())
            lines << line.trimmed();
    return lines;
}

} // namespace

class VirtioRootTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { KVMSCOPE_REQUIRE_KVM(); }

    // The root file system on virtio-blk (modern virtio-pci at 00:04.0) and, the same image, on
    // the PIIX3 IDE function's primary master (Linux's ata_piix).
    void rootFileSystemOnDiskKeepsWhatTheGuestWrote_data() {
        QTest::addColumn<QString>("interface");
        QTest::addColumn<QString>("device");
        QTest::newRow("virtio") << QStringLiteral("virtio") << QStringLiteral("/dev/vda");
        QTest::newRow("ide") << QStringLiteral("ide") << QStringLiteral("/dev/sda");
    }

    void rootFileSystemOnDiskKeepsWhatTheGuestWrote() {
        QFETCH(QString, interface);
        QFETCH(QString, device);
        QString skip;
        const QString kernel = initReadyKernelOrSkipReason(skip);
        if (kernel.isEmpty())
            QSKIP(qPrintable(skip));
        const QDir guest(QFileInfo(kernel).dir().filePath(QStringLiteral("virtio-root")));
        const QString initramfs = guest.filePath(QStringLiteral("initramfs.cpio.gz"));
        const QString templateImage = guest.filePath(QStringLiteral("root.ext4"));
        if (!QFileInfo::exists(initramfs) || !QFileInfo::exists(templateImage))
            QSKIP(qPrintable(QStringLiteral("%1 has no initramfs.cpio.gz and root.ext4: run "
                                            "tests/guests/build-virtio-root.sh (test.sh does)")
                                 .arg(guest.path())));
        const QString debugfs = e2fsprogsTool(QStringLiteral("debugfs"));
        const QString e2fsck = e2fsprogsTool(QStringLiteral("e2fsck"));
        QVERIFY2(!debugfs.isEmpty() && !e2fsck.isEmpty(),
                 "debugfs and e2fsck (e2fsprogs, which built the image) are not found");

        QTemporaryDir scratch;
        QVERIFY(scratch.isValid());
        const QString image = scratch.filePath(QStringLiteral("scratch.ext4"));
        QVERIFY(copyAllocated(templateImage, image));
        const qint64 allocatedBefore = allocatedBytes(image);
        QVERIFY(allocatedBefore > 0);

        const QString poweringOff = QStringLiteral("kvmscope-disk-init: powering off");
        const Boot boot =
            runUntil({"--headless", "--memory", "256M", "--disk", image + ",if=" + interface,
                      "--initrd", initramfs, "--append", "console=ttyS0 root=" + device, kernel},
                     {poweringOff}, 1, Then::Exit);
        const QByteArray tail = boot.output.right(8000).toUtf8();
        // The initramfs found the disk and switched to it; the disk's /init ran to its end.
        for (const char* marker :
             {"kvmscope-virtio-root: initramfs up", "kvmscope-virtio-root: modules loaded",
              "switching to its /init", "kvmscope-disk-init: up",
              "kvmscope-disk-init: wrote /written-by-guest", "kvmscope-disk-init: powering off"})
            QVERIFY2(boot.output.contains(QLatin1String(marker)),
                     qPrintable(QStringLiteral("missing '%1'\n%2").arg(marker, tail)));
        QVERIFY2(!boot.output.contains(QStringLiteral("kvmscope-virtio-root: error")),
                 tail.constData());
        QVERIFY2(!boot.output.contains(QStringLiteral("kvmscope-disk-init: error")),
                 tail.constData());
        // Neither the block layer nor ext4 saw a failed request or a corrupt structure.
        for (const char* complaint : {"I/O error", "EXT4-fs error", "EXT4-fs warning"})
            QVERIFY2(!boot.output.contains(QLatin1String(complaint)),
                     qPrintable(QStringLiteral("'%1'\n%2").arg(complaint, tail)));
        // The guest's power-off ends kvmscope by itself, with status 0.
        QVERIFY2(boot.exited && boot.exitCode == 0, tail.constData());

        // The PCI functions Linux enumerated, as `lspci -n` prints them: the i440FX host bridge,
        // the PIIX3 ISA bridge and IDE function, and the modern virtio-blk function at slot 4.
        const QStringList lspci = lspciLines(boot.output);
        qInfo("%s: the guest's lspci -n:\n%s", qPrintable(interface),
              qPrintable(lspci.join(QLatin1Char('\n'))));
        QStringList expected{QStringLiteral("00:00.0 0600: 8086:1237"),
                             QStringLiteral("00:01.0 0601: 8086:7000"),
                             QStringLiteral("00:01.1 0101: 8086:7010")};
        if (interface == QLatin1String("virtio"))
            expected << QStringLiteral("00:04.0 0180: 1af4:1042");
        for (const QString& function : expected)
            QVERIFY2(lspci.contains(function),
                     qPrintable(QStringLiteral("no '%1' in lspci:\n%2\n%3")
                                    .arg(function, lspci.join(QLatin1Char('\n')), tail)));

        // The request queue interrupted through MSI-X (Linux names the chip PCI-MSI): the
        // /proc/interrupts line of virtio0-req.0 counts at least one.
        if (interface == QLatin1String("virtio")) {
            const QRegularExpressionMatch queue =
                QRegularExpression(
                    QStringLiteral("\\d+:((?: +\\d+)+) +PCI-MSI [^\\n]*virtio0-req\\.0"))
                    .match(boot.output);
            QVERIFY2(queue.hasMatch(), tail.constData());
            qint64 interrupts = 0;
            for (const QString& count :
                 queue.captured(1).split(QLatin1Char(' '), Qt::SkipEmptyParts))
                interrupts += count.toLongLong();
            QVERIFY2(interrupts > 0, qPrintable(queue.captured(0)));
        }

        // fstrim: on virtio-blk the guest's DISCARD requests free the ranges ext4 no longer uses
        // (22 MiB of the 32, among them the 4 MiB of a file the guest wrote and deleted), where
        // the scratch directory's file system can punch holes; IDE has no TRIM here.
        if (interface == QLatin1String("virtio")) {
            QVERIFY2(boot.output.contains(QStringLiteral("kvmscope-disk-init: fstrim done")),
                     tail.constData());
            const qint64 allocatedAfter = allocatedBytes(image);
            qInfo("scratch image: %lld bytes allocated before the boot, %lld after",
                  static_cast<long long>(allocatedBefore), static_cast<long long>(allocatedAfter));
            if (canPunchHoles(scratch.path()))
                QVERIFY2(allocatedAfter <= allocatedBefore - (16 << 20),
                         qPrintable(QStringLiteral("%1 bytes allocated before the boot, %2 after")
                                        .arg(allocatedBefore)
                                        .arg(allocatedAfter)));
            else
                qInfo("the scratch directory's file system cannot punch holes: the discards "
                      "freed nothing there, and are not checked");
        }

        // The image holds what the guest wrote, read without mounting it.
        const QString release = kernelRelease(kernel);
        QVERIFY(!release.isEmpty());
        const Tool written = runTool(
            debugfs, {QStringLiteral("-R"), QStringLiteral("cat /written-by-guest"), image});
        QCOMPARE(written.exitCode, 0);
        QCOMPARE(
            QString::fromUtf8(written.out),
            QStringLiteral("written by kvmscope's virtio-root guest on Linux %1\n").arg(release));
        // 1 MiB of random bytes, more than one request's worth: the same MD5 as the guest
        // computed from its page cache.
        const QRegularExpressionMatch printed =
            QRegularExpression(QStringLiteral("kvmscope-disk-init: random.bin md5 ([0-9a-f]{32})"))
                .match(boot.output);
        QVERIFY2(printed.hasMatch(), tail.constData());
        const QString dumped = scratch.filePath(QStringLiteral("random.bin"));
        const Tool dump = runTool(
            debugfs, {QStringLiteral("-R"), QStringLiteral("dump /random.bin ") + dumped, image});
        QCOMPARE(dump.exitCode, 0);
        QFile random(dumped);
        QVERIFY2(random.open(QIODevice::ReadOnly), dump.err.constData());
        const QByteArray bytes = random.readAll();
        QCOMPARE(bytes.size(), qsizetype(1) << 20);
        QCOMPARE(
            QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Md5).toHex()),
            printed.captured(1));
        // Remounted read-only before the power-off, the file system is clean: its journal needs
        // no recovery and a forced check finds nothing to change.
        const Tool check = runTool(e2fsck, {QStringLiteral("-f"), QStringLiteral("-n"), image});
        QVERIFY2(check.exitCode == 0, (check.out + check.err).constData());
    }

    // Root on virtio-blk saved while Linux works on its disk (SIGUSR2 to a run with
    // --save-state, once the disk's /init has begun writing: the run stops after the save, so
    // the image stays as the snapshot recorded it) and continued in a new process: the disk's
    // /init runs to its end without an I/O or ext4 error, the guest powers off with status 0,
    // and the image holds what the guest wrote, clean.
    void rootOnVirtioSavedMidIoGoesOn() {
        QString skip;
        const QString kernel = initReadyKernelOrSkipReason(skip);
        if (kernel.isEmpty())
            QSKIP(qPrintable(skip));
        const QDir guest(QFileInfo(kernel).dir().filePath(QStringLiteral("virtio-root")));
        const QString initramfs = guest.filePath(QStringLiteral("initramfs.cpio.gz"));
        const QString templateImage = guest.filePath(QStringLiteral("root.ext4"));
        if (!QFileInfo::exists(initramfs) || !QFileInfo::exists(templateImage))
            QSKIP(qPrintable(QStringLiteral("%1 has no initramfs.cpio.gz and root.ext4: run "
                                            "tests/guests/build-virtio-root.sh (test.sh does)")
                                 .arg(guest.path())));
        const QString debugfs = e2fsprogsTool(QStringLiteral("debugfs"));
        const QString e2fsck = e2fsprogsTool(QStringLiteral("e2fsck"));
        QVERIFY2(!debugfs.isEmpty() && !e2fsck.isEmpty(),
                 "debugfs and e2fsck (e2fsprogs, which built the image) are not found");
        QTemporaryDir scratch;
        const QString image = scratch.filePath(QStringLiteral("saved.ext4"));
        QVERIFY(copyAllocated(templateImage, image));
        const QString file = scratch.filePath(QStringLiteral("root.kvmsnap"));
        const QString diskInitUp = QStringLiteral("kvmscope-disk-init: up");
        const QString poweringOff = QStringLiteral("kvmscope-disk-init: powering off");

        QProcess process;
        endWithTest(process);
        process.start(QStringLiteral(KVMSCOPE_BINARY),
                      {"--headless", "--memory", "256M", "--disk", image, "--initrd", initramfs,
                       "--append", "console=ttyS0 root=/dev/vda", "--save-state", file, kernel});
        QVERIFY(process.waitForStarted(10000));
        QString first;
        QElapsedTimer timer;
        timer.start();
        while (!first.contains(diskInitUp) && process.state() == QProcess::Running &&
               timer.elapsed() < kDeadlineMs) {
            process.waitForReadyRead(200);
            first += QString::fromUtf8(process.readAllStandardOutput());
        }
        QVERIFY2(first.contains(diskInitUp), qPrintable(first.right(6000)));
        const qint64 upMs = timer.elapsed();
        ::kill(static_cast<pid_t>(process.processId()), SIGUSR2);
        QVERIFY(process.waitForFinished(120000));
        first += QString::fromUtf8(process.readAllStandardOutput());
        const QString err = QString::fromUtf8(process.readAllStandardError());
        QVERIFY2(process.exitCode() == 128 + SIGUSR2 &&
                     err.contains(QStringLiteral("saved the machine to ") + file),
                 qPrintable(first.right(3000) + QStringLiteral("\n--- stderr ---\n") + err));
        QVERIFY2(!first.contains(poweringOff), qPrintable(first.right(3000)));

        const Boot restored =
            runUntil({"--headless", "--restore", file}, {poweringOff}, 1, Then::Exit);
        const QByteArray tail = restored.output.right(8000).toUtf8();
        QVERIFY2(restored.output.contains(poweringOff), tail.constData());
        QVERIFY2(!restored.output.contains(QStringLiteral("Linux version")) &&
                     !restored.output.contains(diskInitUp),
                 tail.constData());
        for (const char* complaint : {"I/O error", "EXT4-fs error", "EXT4-fs warning",
                                      "kvmscope-virtio-root: error", "kvmscope-disk-init: error"})
            QVERIFY2(!restored.output.contains(QLatin1String(complaint)),
                     qPrintable(QStringLiteral("'%1'\n%2").arg(complaint, tail)));
        QVERIFY2(restored.exited && restored.exitCode == 0, tail.constData());

        // The image holds what the guest wrote before and after the save, and is clean.
        const QString release = kernelRelease(kernel);
        const Tool written = runTool(
            debugfs, {QStringLiteral("-R"), QStringLiteral("cat /written-by-guest"), image});
        QCOMPARE(written.exitCode, 0);
        QCOMPARE(
            QString::fromUtf8(written.out),
            QStringLiteral("written by kvmscope's virtio-root guest on Linux %1\n").arg(release));
        const QRegularExpressionMatch printed =
            QRegularExpression(QStringLiteral("kvmscope-disk-init: random.bin md5 ([0-9a-f]{32})"))
                .match(first + restored.output);
        QVERIFY2(printed.hasMatch(), tail.constData());
        const QString dumped = scratch.filePath(QStringLiteral("random.bin"));
        const Tool dump = runTool(
            debugfs, {QStringLiteral("-R"), QStringLiteral("dump /random.bin ") + dumped, image});
        QCOMPARE(dump.exitCode, 0);
        QFile random(dumped);
        QVERIFY2(random.open(QIODevice::ReadOnly), dump.err.constData());
        QCOMPARE(QString::fromLatin1(
                     QCryptographicHash::hash(random.readAll(), QCryptographicHash::Md5).toHex()),
                 printed.captured(1));
        const Tool check = runTool(e2fsck, {QStringLiteral("-f"), QStringLiteral("-n"), image});
        QVERIFY2(check.exitCode == 0, (check.out + check.err).constData());
        qInfo("saved %lld ms after start, at the disk's /init; the restored run powered off after "
              "%lld ms",
              static_cast<long long>(upMs),
              static_cast<long long>(restored.seenMs.value(poweringOff, -1)));
    }
};

QTEST_GUILESS_MAIN(VirtioRootTest)
#include "VirtioRootTest.moc"
