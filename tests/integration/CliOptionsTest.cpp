// The command line without a guest: help, version, demo list and every bad-option error (exit 2).
// Needs no /dev/kvm, except the functions that say so (they skip without it).
#include "KvmTestSupport.h"

#include <QTemporaryDir>
#include <csignal>
#include <sys/stat.h>

using namespace kvmscope::testing;

namespace {

// Long enough for a slow host, short enough that a kvmscope stuck in open(2) fails the test (and
// is killed by runKvmscope) rather than hanging it.
constexpr int kPromptMs = 15000;

QString makeFifo(const QTemporaryDir& dir, const QString& name) {
    const QString path = dir.filePath(name);
    if (::mkfifo(QFile::encodeName(path).constData(), 0600) != 0)
        return {};
    return path;
}

} // namespace

class CliOptionsTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void helpListsOptionsAndExitsZero() {
        const CliResult result = runKvmscope({"--help"});
        QVERIFY2(result.exitCode == 0, describe(result));
        for (const char* option :
             {"--headless", "--format", "--memory", "--cpus", "--append", "--initrd", "--serial",
              "--timeout", "--log-level", "--demo", "--list-demos", "--version", "--host-info"})
            QVERIFY2(result.out.contains(option), option);
    }

    void versionPrintsTheVersion() {
        const CliResult result = runKvmscope({"--version"});
        QCOMPARE(result.exitCode, 0);
        QVERIFY(result.out.startsWith("kvmscope "));
    }

    void listDemosShowsTheBundledDemos() {
        const CliResult result = runKvmscope({"--list-demos"});
        QVERIFY2(result.exitCode == 0, describe(result));
        for (const char* demo : {"hello", "realmode", "longmode", "smp"})
            QVERIFY2(result.out.contains(demo), describe(result));
        QVERIFY2(result.out.contains("(default)"), describe(result));
    }

    // --host-info prints the same profile the Host dock shows: the summary with the API version
    // and the virtualization kind, the capabilities, and what each breakpoint kind uses here.
    void hostInfoPrintsTheHostsProfile() {
        KVMSCOPE_REQUIRE_KVM();
        const CliResult result = runKvmscope({"--host-info"}, {}, 120000);
        QVERIFY2(result.finished && result.exitCode == 0, describe(result));
        for (const char* text :
             {"Summary", "API version", "12", "Virtualization", "KVM_CAP_IRQCHIP",
              "Kernel device types", "Debugging", "Breakpoints use", "single-step in ring 0"})
            QVERIFY2(result.out.contains(text),
                     qPrintable(QString::fromLatin1(text) + "\n" + describe(result)));
    }

    void badOptionsExitTwoNamingOptionAndValue_data() {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("expected");
        QTest::newRow("unknown") << QStringList{"--frobnicate"} << "--frobnicate";
        QTest::newRow("memory") << QStringList{"--headless", "--memory", "lots"} << "lots";
        QTest::newRow("memory-tiny")
            << QStringList{"--headless", "--memory", "4K", "x"} << "--memory";
        QTest::newRow("cpus-zero") << QStringList{"--headless", "--cpus", "0"} << "--cpus";
        // Headless, only a gdb client could continue a paused guest.
        QTest::newRow("paused-without-gdb")
            << QStringList{"--headless", "--paused", guestPath("hello")} << "--paused";
        QTest::newRow("paused-takes-no-value") << QStringList{"--paused=yes"} << "--paused";
        QTest::newRow("cpus-text") << QStringList{"--headless", "--cpus", "four"} << "four";
        QTest::newRow("format") << QStringList{"--headless", "--format", "pe", "x"} << "pe";
        QTest::newRow("serial") << QStringList{"--headless", "--serial", "tcp:1"} << "tcp:1";
        QTest::newRow("timeout") << QStringList{"--headless", "--timeout", "-3"} << "-3";
        QTest::newRow("log-level")
            << QStringList{"--log-level", "chatty", "--list-demos"} << "chatty";
        QTest::newRow("missing-value") << QStringList{"--headless", "--append"} << "--append";
        QTest::newRow("demo") << QStringList{"--headless", "--demo", "nosuchdemo"} << "nosuchdemo";
        QTest::newRow("two-images") << QStringList{"--headless", "a.elf", "b.elf"} << "b.elf";
    }
    void badOptionsExitTwoNamingOptionAndValue() {
        QFETCH(QStringList, arguments);
        QFETCH(QString, expected);
        const CliResult result = runKvmscope(arguments);
        QVERIFY2(result.finished && result.exitCode == 2, describe(result));
        QVERIFY2(result.err.contains(expected), describe(result));
        QVERIFY2(result.err.startsWith("kvmscope: "), describe(result));
    }

    // open(2) of a FIFO waits for a writer, for good if none comes: kvmscope looks at the file's
    // type first, before it opens /dev/kvm, and refuses what is not a regular file or a block
    // device.
    void fifoInputFileExitsTwoNamingTheFileAndItsType_data() {
        QTest::addColumn<QString>("option");
        QTest::newRow("image") << QString();
        QTest::newRow("initrd") << "--initrd";
        QTest::newRow("symbols") << "--symbols";
    }
    void fifoInputFileExitsTwoNamingTheFileAndItsType() {
        QFETCH(QString, option);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString fifo = makeFifo(dir, "input.fifo");
        QVERIFY(!fifo.isEmpty());
        const QStringList arguments =
            option.isEmpty() ? QStringList{"--headless", fifo}
                             : QStringList{"--headless", option, fifo, guestPath("exit-status")};
        const CliResult result = runKvmscope(arguments, {}, kPromptMs);
        QVERIFY2(result.finished && result.exitCode == 2, describe(result));
        QVERIFY2(result.err.contains(fifo) && result.err.contains("FIFO (named pipe)"),
                 describe(result));
    }

    // --firmware bios checks its image before any VM is made: a missing file or one of a size
    // no BIOS image has ends the run with status 2, naming the file and Debian's package.
    void badFirmwareFileExitsTwoNamingTheFileAndThePackage() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QFile odd(dir.filePath("odd.bin"));
        QVERIFY(odd.open(QIODevice::WriteOnly));
        odd.write(QByteArray(100, 'x'));
        odd.close();
        for (const QString& path : {dir.filePath("missing.bin"), odd.fileName()}) {
            const CliResult result = runKvmscope(
                {"--headless", "--firmware", "bios", "--firmware-file", path}, {}, kPromptMs);
            QVERIFY2(result.finished && result.exitCode == 2, describe(result));
            QVERIFY2(result.err.contains(path) && result.err.contains("seabios"), describe(result));
        }
        const CliResult unknown = runKvmscope({"--headless", "--firmware", "uefi"}, {}, kPromptMs);
        QVERIFY2(unknown.exitCode == 2 && unknown.err.contains("--firmware 'uefi'"),
                 describe(unknown));
    }

    void directoryAndCharacterDeviceImagesAreNamedByType() {
        const CliResult directory = runKvmscope({"--headless", "/"}, {}, kPromptMs);
        QVERIFY2(directory.exitCode == 2 && directory.err.contains("is a directory"),
                 describe(directory));
        const CliResult device = runKvmscope({"--headless", "/dev/zero"}, {}, kPromptMs);
        QVERIFY2(device.exitCode == 2 && device.err.contains("is a character device"),
                 describe(device));
    }

    // SIGTERM and SIGINT end kvmscope before its guest runs too, here while it waits to open a
    // --serial file that is a FIFO nobody reads, with 128 + the signal's number.
    void signalWhileStartingExitsPromptlyWithItsStatus_data() {
        QTest::addColumn<int>("signal");
        QTest::addColumn<int>("status");
        QTest::newRow("SIGTERM") << int(SIGTERM) << 143;
        QTest::newRow("SIGINT") << int(SIGINT) << 130;
    }
    void signalWhileStartingExitsPromptlyWithItsStatus() {
        KVMSCOPE_REQUIRE_KVM();
        QFETCH(int, signal);
        QFETCH(int, status);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString fifo = makeFifo(dir, "serial.fifo");
        QVERIFY(!fifo.isEmpty());
        QProcess process;
        process.setProgram(QStringLiteral(KVMSCOPE_BINARY));
        process.setArguments({"--headless", "--serial", "file:" + fifo, guestPath("exit-status")});
        process.start();
        QVERIFY(process.waitForStarted(10000));
        // kvmscope now waits in open(2) of the FIFO for a reader; give it time to get there.
        QTest::qWait(1000);
        QCOMPARE(process.state(), QProcess::Running);
        ::kill(static_cast<pid_t>(process.processId()), signal);
        const bool finished = process.waitForFinished(kPromptMs);
        if (!finished) {
            process.kill();
            process.waitForFinished(5000);
        }
        const QByteArray err = process.readAllStandardError();
        QVERIFY2(finished, "kvmscope ignored the signal: " + err);
        QCOMPARE(process.exitStatus(), QProcess::NormalExit);
        QVERIFY2(process.exitCode() == status, err);
        QVERIFY2(err.contains("stopped before the guest ran"), err);
    }

    // KVM refuses a memory slot beyond the host's guest-physical address width: kvmscope checks
    // that first and says so as bad input (exit 2), not as KVM being unavailable (exit 3).
    void memoryBeyondTheHostsAddressWidthExitsTwoNamingTheLimit() {
        KVMSCOPE_REQUIRE_KVM();
        const kvmscope::kvm::System system;
        const unsigned bits = kvmscope::kvm::System::physicalAddressBits(system.supportedCpuid());
        // 1 TiB (the most --memory takes) ends at 1 TiB + 1 GiB: RAM skips the 32-bit hole.
        if (bits > 40)
            QSKIP(qPrintable(QStringLiteral("this host's KVM offers %1-bit guest-physical "
                                            "addresses: 1 TiB of RAM fits")
                                 .arg(bits)));
        const CliResult result =
            runKvmscope({"--headless", "--memory", "1T", guestPath("exit-status")}, {}, kPromptMs);
        QVERIFY2(result.finished && result.exitCode == 2, describe(result));
        QVERIFY2(result.err.contains("--memory 1 TiB") &&
                     result.err.contains(QStringLiteral("%1-bit guest-physical").arg(bits)),
                 describe(result));
    }
};

QTEST_GUILESS_MAIN(CliOptionsTest)
#include "CliOptionsTest.moc"
