// Boots Debian's own kernel (test.sh fetches it and exports KVMSCOPE_TEST_BZIMAGE) by PVH:
// kvmscope decompresses the bzImage's xz payload itself and enters the vmlinux at its 32-bit PVH
// entry, so the kernel's first messages come without the minutes its own decompressor would
// spend in ring 0 on a host that emulates ring-0 code (docs/boot.md, "PVH").
//
// The test follows the serial console until the messages that prove the boot information was
// read (banner, command line, memory map, RSDP), within a bounded time, then stops the guest. It
// does not depend on the kernel getting further: on a host without VMX/SVM the kernel's later
// progress depends on what KVM's instruction emulator can run (docs/boot.md).
#include "KvmTestSupport.h"

#include <QElapsedTimer>
#include <QProcess>

using namespace kvmscope::testing;

namespace {

constexpr int kDeadlineMs = 240000; // a bound, not a measure: about 60 s here (docs)

// Runs kvmscope on `arguments` and reads its stdout until every string in `wanted` has been
// seen or the deadline passes; then stops it. Returns the output, and in `bannerMs` the time from
// start to "Linux version" (-1 if it never came).
QString runUntil(const QStringList& arguments, const QStringList& wanted, qint64& bannerMs) {
    QProcess process;
    process.setProgram(QStringLiteral(KVMSCOPE_BINARY));
    process.setArguments(arguments);
    process.setProcessChannelMode(QProcess::SeparateChannels);
    QElapsedTimer timer;
    timer.start();
    process.start();
    bannerMs = -1;
    QString output;
    if (!process.waitForStarted(10000))
        return QStringLiteral("(kvmscope did not start)");
    auto allSeen = [&] {
        for (const QString& line : wanted)
            if (!output.contains(line))
                return false;
        return true;
    };
    while (timer.elapsed() < kDeadlineMs && process.state() == QProcess::Running && !allSeen()) {
        process.waitForReadyRead(500);
        output += QString::fromUtf8(process.readAllStandardOutput());
        if (bannerMs < 0 && output.contains(QStringLiteral("Linux version")))
            bannerMs = timer.elapsed();
    }
    output += QString::fromUtf8(process.readAllStandardOutput());
    if (process.state() == QProcess::Running) {
        process.terminate(); // SIGTERM: kvmscope stops the guest and exits
        if (!process.waitForFinished(10000)) {
            process.kill();
            process.waitForFinished(5000);
        }
    }
    return output + QStringLiteral("\n--- stderr ---\n") +
           QString::fromUtf8(process.readAllStandardError());
}

} // namespace

class LinuxPvhTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { KVMSCOPE_REQUIRE_KVM(); }

    void debianKernelBootsByPvhFromItsBzImage() {
        const QString kernel = qEnvironmentVariable("KVMSCOPE_TEST_BZIMAGE");
        if (kernel.isEmpty())
            QSKIP("KVMSCOPE_TEST_BZIMAGE is not set (test.sh sets it to Debian's kernel, fetched "
                  "by tests/guests/fetch-debian-kernel.sh)");
        const QString commandLine = QStringLiteral("console=ttyS0 earlyprintk=ttyS0");
        // What the kernel prints from the start info: its banner, the command line from
        // cmdline_paddr, the memory map from memmap_paddr (512 MiB: RAM from 1 MiB to
        // 0x1fffffff) and the RSDP from rsdp_paddr.
        const QStringList wanted{
            QStringLiteral("Linux version"),
            QStringLiteral("Command line: ") + commandLine,
            QStringLiteral("BIOS-e820: [mem 0x0000000000100000-0x000000001fffffff] usable"),
            QStringLiteral("ACPI: RSDP 0x00000000000E0000"),
        };
        qint64 bannerMs = -1;
        const QString output = runUntil({"--headless", "--format", "pvh", "--memory", "512M",
                                         "--append", commandLine, "--no-reboot", kernel},
                                        wanted, bannerMs);
        for (const QString& line : wanted)
            QVERIFY2(output.contains(line),
                     qPrintable(QStringLiteral("missing '%1' within %2 s\n%3")
                                    .arg(line)
                                    .arg(kDeadlineMs / 1000)
                                    .arg(output.right(6000))));
        qInfo("PVH: \"Linux version\" on the serial port %lld ms after kvmscope started",
              static_cast<long long>(bannerMs));
    }
};

QTEST_GUILESS_MAIN(LinuxPvhTest)
#include "LinuxPvhTest.moc"
