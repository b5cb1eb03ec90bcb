// `kvmscope --headless --firmware bios`: Debian's SeaBIOS starts at the reset vector, finds
// fw_cfg, and logs through the debug console (port 0x402) to the "firmware" logger until it
// looks for something to boot.
#include "KvmTestSupport.h"
#include "firmware/Firmware.h"

#include <QFileInfo>

using namespace kvmscope::testing;

class FirmwareBootTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_REQUIRE_KVM();
        if (!QFileInfo::exists(QString::fromLatin1(kvmscope::firmware::kDefaultBiosPath)))
            QSKIP("no /usr/share/seabios/bios-256k.bin (Debian's package seabios)");
    }

    void seaBiosStartsFindsFwCfgAndLooksForABootDevice() {
        // No disk: SeaBIOS says there is no bootable device and waits to retry; --timeout ends
        // the run (status 6).
        const CliResult result = runKvmscope({"--headless", "--firmware", "bios", "--log-level",
                                              "info", "--timeout", "60", "--serial", "none"},
                                             {}, 240000);
        QVERIFY2(result.finished, describe(result));
        QVERIFY2(result.err.contains("SeaBIOS (version"), describe(result));
        QVERIFY2(result.err.contains("Found QEMU fw_cfg"), describe(result));
        QVERIFY2(result.err.contains("QEMU fw_cfg DMA interface supported"), describe(result));
        QVERIFY2(result.err.contains("Booting from") || result.err.contains("No bootable device"),
                 describe(result));
    }
};

QTEST_GUILESS_MAIN(FirmwareBootTest)
#include "FirmwareBootTest.moc"
