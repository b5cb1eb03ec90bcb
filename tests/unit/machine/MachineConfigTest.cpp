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

    // A 40-bit host (QEMU's default phys-bits): RAM past 3 GiB starts at 4 GiB, so 1 TiB of RAM
    // ends at 1 TiB + 1 GiB, past the 1 TiB address space; 1023 GiB ends right at it.
    void memoryBeyondTheHostsAddressWidthIsRefusedNamingTheLimit() {
        const kvmscope::HostMemoryLimits limits{40, 32, kMaxSlot};
        kvmscope::MachineConfig config;
        config.memorySize = 1ull << 40;
        const QString message = errorOf(config, limits);
        QVERIFY2(message.contains("--memory 1 TiB (0x10000000000)") &&
                     message.contains("0x10040000000") && message.contains("40-bit") &&
                     message.contains("at most 1023 GiB"),
                 qPrintable(message));
        config.memorySize = 1023ull << 30;
        config.validateForHost(limits);
    }

    void memoryBelowTheHoleOnlyNeedsItsOwnWidth() {
        kvmscope::MachineConfig config;
        config.memorySize = 2ull << 30;
        config.validateForHost({31, 32, kMaxSlot}); // ends right at 2 GiB
        const QString message = errorOf(config, {30, 32, kMaxSlot});
        QVERIFY2(message.contains("30-bit") && message.contains("at most 1 GiB"),
                 qPrintable(message));
    }

    void tooFewMemorySlotsIsRefusedNamingTheCapability() {
        kvmscope::MachineConfig config;
        config.memorySize = 8ull << 30; // two RAM slots and the framebuffer's
        const QString message = errorOf(config, {46, 2, kMaxSlot});
        QVERIFY2(message.contains("needs 3 KVM memory slots") &&
                     message.contains("KVM_CAP_NR_MEMSLOTS"),
                 qPrintable(message));
        config.framebuffer.enabled = false;
        config.validateForHost({46, 2, kMaxSlot});
    }

    void slotLargerThanKvmMapsIsRefused() {
        kvmscope::MachineConfig config;
        config.memorySize = 8ull << 30;
        const QString message = errorOf(config, {46, 32, 4ull << 30});
        QVERIFY2(message.contains("at 0x100000000") && message.contains("5 GiB") &&
                     message.contains("4 GiB KVM maps in one slot"),
                 qPrintable(message));
    }

private:
    static constexpr uint64_t kMaxSlot = ((1ull << 31) - 1) * 4096;

    static QString errorOf(const kvmscope::MachineConfig& config,
                           const kvmscope::HostMemoryLimits& limits) {
        try {
            config.validateForHost(limits);
        } catch (const InputError& error) {
            return QString::fromUtf8(error.what());
        }
        return QStringLiteral("(nothing was thrown)");
    }
};

QTEST_APPLESS_MAIN(MachineConfigTest)
#include "MachineConfigTest.moc"
