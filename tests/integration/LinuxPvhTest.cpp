// Boots Debian's own kernel (test.sh fetches it and exports KVMSCOPE_TEST_BZIMAGE) by PVH:
// kvmscope decompresses the bzImage's xz payload itself and enters the vmlinux at its 32-bit PVH
// entry, so the kernel's first messages come without the minutes its own decompressor would
// spend in ring 0 on a host that emulates ring-0 code (docs/boot.md, "PVH").
//
// The test follows the serial console until the messages that prove the boot information was
// read (banner, command line, memory map, ACPI tables, CPUs) and that the second vcpu came up,
// within a bounded time, then stops the guest. It does not depend on the kernel getting further:
// on a host without VMX/SVM the kernel's later progress depends on what KVM's instruction
// emulator can run (docs/boot.md).
#include "KvmTestSupport.h"
#include "kvm/System.h"

#include <QElapsedTimer>
#include <QProcess>
#include <QRegularExpression>

using namespace kvmscope::testing;

namespace {

// A bound, not a measure: on a host that emulates ring 0 the banner comes after about 45 s and
// both vcpus are up after about 140 s (docs/benchmarks.md); on VMX/SVM hosts, within seconds.
constexpr int kDeadlineMs = 480000;

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
        // What the kernel prints from what kvmscope gave it: its banner; the command line from
        // cmdline_paddr; the memory map from memmap_paddr (512 MiB: RAM below the EBDA, the
        // reserved EBDA/BIOS area, RAM from 1 MiB to 0x1fffffff); the RSDP from rsdp_paddr and
        // each ACPI table with kvmscope's OEM id and table id (boot/acpi/AcpiTables.cpp); both
        // vcpus from the MADT; and, once the kernel has started the second vcpu through
        // INIT/SIPI on the in-kernel LAPIC, both of them up.
        QStringList wanted{
            QStringLiteral("Linux version"),
            QStringLiteral("Command line: ") + commandLine,
            QStringLiteral("BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable"),
            QStringLiteral("BIOS-e820: [mem 0x000000000009fc00-0x00000000000fffff] reserved"),
            QStringLiteral("BIOS-e820: [mem 0x0000000000100000-0x000000001fffffff] usable"),
            QStringLiteral("ACPI: RSDP 0x00000000000E0000 000024 (v02 KVMSCP)"),
            QStringLiteral("(v01 KVMSCP KVMSCOPE 00000001 KVMS 00000001)"), // XSDT
            QStringLiteral("ACPI: FACP 0x"),
            QStringLiteral("ACPI: DSDT 0x"),
            QStringLiteral("ACPI: APIC 0x"),
            QStringLiteral("smpboot: Allowing 2 CPUs, 0 hotplug CPUs"),
            QStringLiteral("smp: Brought up 1 node, 2 CPUs"),
        };
        qint64 bannerMs = -1;
        const QString output =
            runUntil({"--headless", "--format", "pvh", "--memory", "512M", "--cpus", "2",
                      "--append", commandLine, "--no-reboot", kernel},
                     wanted, bannerMs);
        for (const QString& line : wanted)
            QVERIFY2(output.contains(line),
                     qPrintable(QStringLiteral("missing '%1' within %2 s\n%3")
                                    .arg(line)
                                    .arg(kDeadlineMs / 1000)
                                    .arg(output.right(6000))));
        // Every ACPI table kvmscope wrote carries its OEM id and table id, and the FACS is listed
        // once (one pointer in the FADT).
        for (const char* table : {"XSDT", "FACP", "DSDT", "APIC"})
            QVERIFY2(output.contains(QRegularExpression(
                         QStringLiteral("ACPI: %1 0x[0-9A-F]+ [0-9A-F]+ \\(v0[0-9] KVMSCP KVMSCOPE")
                             .arg(QLatin1String(table)))),
                     table);
        QCOMPARE(output.count(QStringLiteral("ACPI: FACS 0x")), 1);
        // Where the host emulates ring 0, the kernel ran with the parameters kvmscope added
        // (boot/linux/EmulatedHostParameters.h); elsewhere with the user's command line alone.
        const QString added = QStringLiteral(" clearcpuid=141,151,308 noxsave");
        if (kvmscope::kvm::System::hardwareVirtualization())
            QVERIFY(output.contains(QRegularExpression(QStringLiteral("Command line: ") +
                                                       QRegularExpression::escape(commandLine) +
                                                       QStringLiteral("\\r?\\n"))));
        else
            QVERIFY(output.contains(QStringLiteral("Command line: ") + commandLine + added));
        qInfo("PVH: \"Linux version\" on the serial port %lld ms after kvmscope started",
              static_cast<long long>(bannerMs));
    }
};

QTEST_GUILESS_MAIN(LinuxPvhTest)
#include "LinuxPvhTest.moc"
