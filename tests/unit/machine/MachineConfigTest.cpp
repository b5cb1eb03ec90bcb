#include "machine/MachineConfig.h"

#include "common/Error.h"

#include <QTest>

using kvmscope::InputError;
using kvmscope::parseSize;

class MachineConfigTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void parsesBinarySizes() {
        QCOMPARE(parseSize("256M", "--memory"), uint64_t(256) << 20);
        QCOMPARE(parseSize("2G", "--memory"), uint64_t(2) << 30);
        QCOMPARE(parseSize("64k", "--memory"), uint64_t(64) << 10);
        QCOMPARE(parseSize("1048576", "--memory"), uint64_t(1048576));
        QCOMPARE(parseSize("512MiB", "--memory"), uint64_t(512) << 20);
        QCOMPARE(parseSize("8GB", "--memory"), uint64_t(8) << 30);
    }

    void rejectsMalformedSizesNamingTheOption() {
        for (const char* bad :
             {"", "M", "12Q", "-5M", "99999999999999999999", "4294967296T", "1.5G"}) {
            try {
                parseSize(bad, "--memory");
                QFAIL(bad);
            } catch (const InputError& error) {
                QVERIFY2(QString(error.what()).contains("--memory"), error.what());
            }
        }
    }

    void validateRejectsOutOfRangeCpusAndMemory() {
        kvmscope::MachineConfig config;
        config.validate();
        config.cpus = 0;
        QVERIFY_THROWS_EXCEPTION(InputError, config.validate());
        config.cpus = 256;
        QVERIFY_THROWS_EXCEPTION(InputError, config.validate());
        config.cpus = 1;
        config.memorySize = 4096;
        QVERIFY_THROWS_EXCEPTION(InputError, config.validate());
        config.memorySize = (1ull << 20) + 512;
        QVERIFY_THROWS_EXCEPTION(InputError, config.validate());
    }
};

QTEST_APPLESS_MAIN(MachineConfigTest)
#include "MachineConfigTest.moc"
