// A machine with RAM above 4 GiB: the hello demo prints the multiboot memory map it was given,
// which must hold the RAM that does not fit below the MMIO hole at 4 GiB with the right size,
// and kvmscope must not touch the guest RAM it reserves (MAP_NORESERVE: only the pages the guest
// and the loader write are backed), so its peak RSS stays far below the guest's size.
#include "KvmTestSupport.h"

#include <sys/resource.h>

using namespace kvmscope::testing;

class LargeMemoryTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { KVMSCOPE_REQUIRE_KVM(); }

    void helloSeesRamAboveFourGib_data() {
        QTest::addColumn<QString>("memory");
        QTest::addColumn<QString>("highRange");
        // 3 GiB below the hole, the rest from 4 GiB: 8 GiB - 3 GiB = 5 GiB up to 0x23fffffff.
        QTest::newRow("8G") << "8G"
                            << "0x0000000100000000 - 0x000000023FFFFFFF available";
        QTest::newRow("64G") << "64G"
                             << "0x0000000100000000 - 0x000000103FFFFFFF available";
    }
    void helloSeesRamAboveFourGib() {
        QFETCH(QString, memory);
        QFETCH(QString, highRange);
        const CliResult result = runKvmscope({"--headless", "--demo", "hello", "--memory", memory});
        QVERIFY2(result.finished && result.exitCode == 0, describe(result));
        QVERIFY2(result.out.contains("0x0000000000100000 - 0x00000000BFFFFFFF available"),
                 describe(result));
        QVERIFY2(result.out.contains(highRange), describe(result));
        // Nothing of the hole [0xC0000000, 0x100000000) is in the map: no entry starts or ends
        // there.
        for (const char* inHole : {"0x00000000C", "0x00000000D", "0x00000000E", "0x00000000F"})
            QVERIFY2(!result.out.contains(inHole), describe(result));

        // The largest RSS of any child this test has waited for: the kvmscope runs above.
        rusage usage{};
        QCOMPARE(getrusage(RUSAGE_CHILDREN, &usage), 0);
        const long peakMib = usage.ru_maxrss / 1024; // ru_maxrss is in KiB
        qInfo("kvmscope --memory %s: peak RSS %ld MiB", qPrintable(memory), peakMib);
        QVERIFY2(peakMib < 128, qPrintable(QStringLiteral("peak RSS %1 MiB").arg(peakMib)));
    }
};

QTEST_GUILESS_MAIN(LargeMemoryTest)
#include "LargeMemoryTest.moc"
