// Boots Debian's own kernel (test.sh fetches it and exports KVMSCOPE_TEST_BZIMAGE) by PVH:
// kvmscope decompresses the bzImage's xz payload itself and enters the vmlinux at its 32-bit PVH
// entry, so the kernel's first messages come without the minutes its own decompressor would
// spend in ring 0 on a host that emulates ring-0 code (docs/boot.md, "PVH").
//
// The first test follows the serial console until the messages that prove the boot information
// was read (banner, command line, memory map, ACPI tables, CPUs) and that the second vcpu came
// up, within a bounded time, then stops the guest; it runs on every host. The others boot to the
// initramfs's /init (by the 64-bit boot protocol and by PVH), run commands, power off and reboot:
// they need a host that runs guest ring 0 natively (VMX/SVM) and skip elsewhere with the reason,
// since where KVM emulates ring 0 the kernel stops before user space (docs/boot.md).
#include "KvmTestSupport.h"
#include "LinuxGuest.h"
#include "kvm/System.h"

#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>

using namespace kvmscope::testing;

namespace {

QString initramfsBeside(const QString& kernel) {
    return QFileInfo(kernel).dir().filePath(QStringLiteral("initramfs.cpio.gz"));
}

} // namespace

class LinuxBootTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { KVMSCOPE_REQUIRE_KVM(); }

    void debianKernelBootsByPvhFromItsBzImage() {
        QString skip;
        const QString kernel = kernelOrSkipReason(skip);
        if (kernel.isEmpty())
            QSKIP(qPrintable(skip));
        const QString commandLine = QStringLiteral("console=ttyS0 earlyprintk=ttyS0");
        // What the kernel prints from what kvmscope gave it: its banner; the command line from
        // cmdline_paddr; the memory map from memmap_paddr (512 MiB: RAM below the EBDA, the
        // reserved EBDA/BIOS area, RAM from 1 MiB to 0x1fffffff); the SMBIOS tables; the RSDP from
        // rsdp_paddr and each ACPI table with kvmscope's OEM id and table id
        // (boot/acpi/AcpiTables.cpp); both vcpus from the MADT; and, once the kernel has started
        // the second vcpu through INIT/SIPI on the in-kernel LAPIC, both of them up.
        QStringList wanted{
            QStringLiteral("Linux version"),
            QStringLiteral("Command line: ") + commandLine,
            QStringLiteral("BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable"),
            QStringLiteral("BIOS-e820: [mem 0x000000000009fc00-0x00000000000fffff] reserved"),
            QStringLiteral("BIOS-e820: [mem 0x0000000000100000-0x000000001fffffff] usable"),
            // The SMBIOS tables kvmscope wrote (boot/Smbios.cpp), found by the kernel's scan of
            // the BIOS area.
            QStringLiteral("SMBIOS 3.0.0 present."),
            QStringLiteral("DMI: kvmscope kvmscope virtual machine, BIOS "),
            QStringLiteral("ACPI: RSDP 0x00000000000E0000 000024 (v02 KVMSCP)"),
            QStringLiteral("(v01 KVMSCP KVMSCOPE 00000001 KVMS 00000001)"), // XSDT
            QStringLiteral("ACPI: FACP 0x"),
            QStringLiteral("ACPI: DSDT 0x"),
            QStringLiteral("ACPI: APIC 0x"),
            QStringLiteral("smpboot: Allowing 2 CPUs, 0 hotplug CPUs"),
            QStringLiteral("smp: Brought up 1 node, 2 CPUs"),
        };
        // Where the host emulates ring 0, the bzImage as a user gives it (the format left to
        // detection) boots by PVH from its payload (boot/ImageLoader.cpp); elsewhere PVH is asked
        // for, since detection keeps the boot protocol there.
        const bool emulated = !kvmscope::kvm::System::hardwareVirtualization();
        QStringList arguments{"--headless"};
        if (!emulated)
            arguments << "--format"
                      << "pvh";
        arguments << "--memory"
                  << "512M"
                  << "--cpus"
                  << "2"
                  << "--append" << commandLine << "--no-reboot" << kernel;
        const Boot boot = runUntil(arguments, wanted);
        const QString& output = boot.output;
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
        const QString added =
            QStringLiteral(" clearcpuid=137,141,151,308 noxsave nosoftlockup mitigations=off "
                           "rcupdate.rcu_cpu_stall_suppress=1 cryptomgr.notests");
        if (kvmscope::kvm::System::hardwareVirtualization())
            QVERIFY(output.contains(QRegularExpression(QStringLiteral("Command line: ") +
                                                       QRegularExpression::escape(commandLine) +
                                                       QStringLiteral("\\r?\\n"))));
        else
            QVERIFY(output.contains(QStringLiteral("Command line: ") + commandLine + added));
        // There, too, the KVM features used through hypercalls are hidden (machine/Cpuid.h):
        // Linux keeps kvm-clock but neither kicks through PV spinlocks nor sends PV IPIs.
        QVERIFY(output.contains(QStringLiteral("kvm-clock: Using msrs")));
        if (emulated) {
            QVERIFY(
                output.contains(QStringLiteral("by PVH from the payload kvmscope decompressed")));
            QVERIFY(output.contains(QStringLiteral("PV spinlocks disabled, no host support")));
            QVERIFY(!output.contains(QStringLiteral("setup PV IPIs")));
            QVERIFY(!output.contains(QStringLiteral("setup PV sched yield")));
        }
        qInfo("PVH: \"Linux version\" on the serial port %lld ms after kvmscope started",
              static_cast<long long>(boot.bannerMs));
    }

    // To /init and back out, by the 64-bit boot protocol and by PVH: the initramfs's /init
    // (tests/guests/build-initramfs.sh) runs the command from the kernel command line, prints its
    // exit status and powers off, and kvmscope exits 0.
    void bzImageBootsToInitRunsCommandsAndPowersOff() { bootToInit({}); }
    void pvhBootsToInitRunsCommandsAndPowersOff() { bootToInit({"--format", "pvh"}); }

    // reboot: kvmscope boots the guest again (the marker comes twice), or exits 0 at the first
    // reset under --no-reboot.
    void rebootBootsAgainOrStopsUnderNoReboot() {
        QString skip;
        const QString kernel = initReadyKernelOrSkipReason(skip);
        if (kernel.isEmpty())
            QSKIP(qPrintable(skip));
        const QStringList base{"--headless",
                               "--memory",
                               "256M",
                               "--initrd",
                               initramfsBeside(kernel),
                               "--append",
                               "console=ttyS0 kvmscope.run=/bin/busybox%20reboot%20-f",
                               kernel};
        const QString up = QStringLiteral("kvmscope-initramfs: up");
        const Boot twice = runUntil(base, {up}, 2);
        QVERIFY2(twice.output.count(up) >= 2, qPrintable(twice.output.right(4000)));
        const Boot once = runUntil(QStringList{"--no-reboot"} + base, {up}, 1, Then::Exit);
        QVERIFY2(once.exited && once.exitCode == 0, qPrintable(once.output.right(4000)));
        QCOMPARE(once.output.count(up), 1);
    }

private:
    void bootToInit(const QStringList& format) {
        QString skip;
        const QString kernel = initReadyKernelOrSkipReason(skip);
        if (kernel.isEmpty())
            QSKIP(qPrintable(skip));
        const QString command = QStringLiteral("uname%20-r;grep%20-c%20processor%20/proc/cpuinfo");
        const Boot boot =
            runUntil(format + QStringList{"--headless", "--memory", "512M", "--cpus", "3",
                                          "--initrd", initramfsBeside(kernel), "--append",
                                          "console=ttyS0 kvmscope.run=" + command, kernel},
                     {QStringLiteral("kvmscope-initramfs: powering off")}, 1, Then::Exit);
        QVERIFY2(boot.output.contains(QStringLiteral("kvmscope-initramfs: up")),
                 qPrintable(boot.output.right(6000)));
        const QString release = kernelRelease(kernel);
        QVERIFY2(!release.isEmpty() && boot.output.contains(release), qPrintable(release));
        QVERIFY2(boot.output.contains(QRegularExpression(QStringLiteral("(^|\\n)3\\r?\\n"))),
                 qPrintable(boot.output.right(6000))); // grep -c processor: 3 vcpus
        QVERIFY2(boot.output.contains(QStringLiteral("kvmscope-initramfs: exit status 0")),
                 qPrintable(boot.output.right(6000)));
        QVERIFY2(boot.exited && boot.exitCode == 0, qPrintable(boot.output.right(4000)));
    }
};

QTEST_GUILESS_MAIN(LinuxBootTest)
#include "LinuxBootTest.moc"
