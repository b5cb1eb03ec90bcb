// Debian's SeaBIOS through --firmware bios: it starts at the reset vector, finds fw_cfg, logs
// through the debug console (port 0x402) to the "firmware" logger, and boots a disk on the IDE
// controller whose boot sector and second stage use its int 10h, 13h, 15h and 16h services.
#include "CollectingSink.h"
#include "KvmTestSupport.h"
#include "devices/I8042Controller.h"
#include "firmware/Firmware.h"
#include "kvm/System.h"
#include "machine/Machine.h"
#include "storage/DiskSpec.h"

#include <QFileInfo>
#include <memory>

using namespace kvmscope;
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
                                              "info", "--timeout", "20", "--serial", "none"},
                                             {}, 240000);
        QVERIFY2(result.finished, describe(result));
        QVERIFY2(result.err.contains("SeaBIOS (version"), describe(result));
        QVERIFY2(result.err.contains("Found QEMU fw_cfg"), describe(result));
        QVERIFY2(result.err.contains("QEMU fw_cfg DMA interface supported"), describe(result));
        QVERIFY2(result.err.contains("Booting from") || result.err.contains("No bootable device"),
                 describe(result));
    }

    // The bios-disk guest (resources/guests/bios-disk) as the primary master of the IDE
    // controller: SeaBIOS loads its boot sector, which reads its second stage by CHS; that reads
    // a sector by LBA, lists the memory map and echoes the keys typed on the PS/2 keyboard until
    // Enter, then writes 0x21 to the debug-exit port.
    void seaBiosBootsAnIdeDiskThatUsesItsServices() {
        CollectingSink sink;
        MachineConfig config;
        config.memorySize = 64ull << 20;
        config.firmware.kind = firmware::FirmwareKind::Bios;
        config.disks.push_back(
            storage::parseDiskSpec(guestPath("bios-disk").toStdString() + ",if=ide,readonly"));
        kvm::System system;
        Machine machine(config, system, sink);
        machine.boot();
        machine.run();
        QVERIFY2(sink.waitFor("type keys, Enter ends\n", 120000), sink.text().constData());
        const QByteArray text = sink.text();
        QVERIFY2(text.contains("boot sector at 0000:7c00, boot drive 0x80"), text.constData());
        QVERIFY2(text.contains("CHS read of the second stage: ok"), text.constData());
        QVERIFY2(text.contains("LBA read of sector 8: the data sector, found by LBA"),
                 text.constData());
        // RAM from 0 (type 1) is the first entry of any PC's map.
        QVERIFY2(text.contains("e820 0000000000000000 "), text.constData());
        QVERIFY2(!text.contains("FAIL"), text.constData());

        I8042Controller* keyboard = nullptr;
        for (Device* device : machine.devices())
            if (auto* controller = dynamic_cast<I8042Controller*>(device))
                keyboard = controller;
        QVERIFY(keyboard);
        // Scan code set 2 make and break codes of h, i and Enter (the controller translates).
        const uint8_t keys[] = {0x33, 0xf0, 0x33, 0x43, 0xf0, 0x43, 0x5a, 0xf0, 0x5a};
        keyboard->keyboardInput(keys);
        const std::optional<MachineStop> stop = machine.waitForStop(60000);
        QVERIFY2(stop, sink.text().constData());
        QCOMPARE(int(stop->kind), int(StopKind::DebugExit));
        QCOMPARE(stop->debugExitValue, 0x21u);
        QVERIFY2(sink.text().contains("key h\n"), sink.text().constData());
        QVERIFY2(sink.text().contains("key i\n"), sink.text().constData());
        QVERIFY2(sink.text().contains("done"), sink.text().constData());
    }

    // A grub-mkrescue CD with the multiboot2-info guest (resources/guests/multiboot2-iso), given
    // as --cdrom alone: the firmware boots it by El Torito from the ATAPI drive, GRUB loads the
    // guest with the command line and module the direct-boot test hands kvmscope's own loader
    // (test_multiboot2_boot), and the guest prints the same of them.
    void seaBiosBootsAGrubCdWithAMultiboot2Kernel() {
        const QString iso = guestPath("multiboot2-info.iso");
        if (!QFileInfo::exists(iso))
            QSKIP("multiboot2-info.iso was not built: grub-mkrescue, xorriso or "
                  "/usr/lib/grub/i386-pc missing at configure time (Debian's grub-pc-bin, "
                  "grub-common, xorriso, mtools)");
        const CliResult result = runKvmscope(
            {"--headless", "--memory", "256M", "--cdrom", iso, "--timeout", "240"}, {}, 300000);
        // debug_exit(0x10): status (0x10 << 1) | 1.
        QVERIFY2(result.finished && result.exitCode == 33, describe(result));
        const QStringList expected = {
            "multiboot2-info: magic 0x36D76289 ok",
            "info: 8-byte aligned yes",
            "info: end tag found",
            "boot loader name: \"GRUB",
            "mb2 test=yes\"",
            "modules: 1",
            "string \"module.txt\" first text \"kvmscope module 0\"",
            "memory map: entry size 24 version 0",
            "  base 0x0000000000000000 length 0x000000000009FC00 type 1",
            "load base: 0x00100000",
            "multiboot2-info: done",
        };
        for (const QString& line : expected)
            QVERIFY2(result.out.contains(line),
                     qPrintable("missing '" + line + "'\n" + describe(result)));
        QVERIFY2(result.out.contains(QStringLiteral(" size 30 ")), describe(result));
    }
};

QTEST_GUILESS_MAIN(FirmwareBootTest)
#include "FirmwareBootTest.moc"
