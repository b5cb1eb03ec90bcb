// The command line without a guest: help, version, demo list and every bad-option error (exit 2).
// Needs no /dev/kvm.
#include "KvmTestSupport.h"

using namespace kvmscope::testing;

class CliOptionsTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void helpListsOptionsAndExitsZero() {
        const CliResult result = runKvmscope({"--help"});
        QVERIFY2(result.exitCode == 0, describe(result));
        for (const char* option :
             {"--headless", "--format", "--memory", "--cpus", "--append", "--initrd", "--serial",
              "--timeout", "--log-level", "--demo", "--list-demos", "--version"})
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

    void badOptionsExitTwoNamingOptionAndValue_data() {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("expected");
        QTest::newRow("unknown") << QStringList{"--frobnicate"} << "--frobnicate";
        QTest::newRow("memory") << QStringList{"--headless", "--memory", "lots"} << "lots";
        QTest::newRow("memory-tiny")
            << QStringList{"--headless", "--memory", "4K", "x"} << "--memory";
        QTest::newRow("cpus-zero") << QStringList{"--headless", "--cpus", "0"} << "--cpus";
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
};

QTEST_GUILESS_MAIN(CliOptionsTest)
#include "CliOptionsTest.moc"
