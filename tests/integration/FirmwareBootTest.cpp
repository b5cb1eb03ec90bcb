// Debian's SeaBIOS through --firmware bios: it starts at the reset vector, finds fw_cfg, and logs
// through the debug console (port 0x402) to the "firmware" logger. On the way it finds the VGA
// function at 00:02.0, runs the VGA BIOS kvmscope gives it through fw_cfg, which puts the VGA in
// text mode, and prints its banner there; it moves BAR0, and the framebuffer's memslot with it.
// It boots a disk on the IDE controller whose boot sector and second stage use its int 10h, 13h,
// 15h and 16h services, and a GRUB CD from the IDE CD-ROM drive.
#include "CollectingSink.h"
#include "KvmTestSupport.h"
#include "devices/Framebuffer.h"
#include "devices/I8042Controller.h"
#include "display/DisplaySource.h"
#include "firmware/Firmware.h"
#include "inspect/GuestView.h"
#include "inspect/VcpuSnapshot.h"
#include "kvm/System.h"
#include "machine/Machine.h"
#include "machine/PcPlatform.h"
#include "storage/DiskSpec.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QThread>
#include <memory>

using namespace kvmscope;
using namespace kvmscope::testing;

namespace {

// The 25 rows of the text screen as strings.
QStringList textRows(const display::TextScreen& screen) {
    QStringList rows;
    for (unsigned row = 0; row < display::TextScreen::kRows; ++row) {
        QString line;
        for (unsigned column = 0; column < display::TextScreen::kColumns; ++column)
            line += QChar::fromLatin1(char(screen.at(row, column).character));
        rows << line;
    }
    return rows;
}

// A 512-byte PnP option ROM (PCI Firmware Specification 3.0, 5.1; the Plug and Play BIOS
// Specification 1.0A's expansion header) whose boot entry vector asks the VGA BIOS for VBE mode
// 0x117 (1024 x 768, 16 bpp) with the linear framebuffer (int 10h AX=4F02h, BX=4117h) and
// writes the status SeaVGABIOS returns in AX to the debug-exit port. SeaBIOS runs it as a boot
// option once it found no disk ("Booting from ROM").
std::vector<uint8_t> vbeModeSetRom() {
    std::vector<uint8_t> rom(512, 0);
    rom[0] = 0x55; // signature
    rom[1] = 0xaa;
    rom[2] = 1;    // 512 bytes
    rom[3] = 0xcb; // init entry: retf
    constexpr size_t kPnp = 0x20;
    rom[0x1a] = kPnp; // offset of the PnP header
    const uint8_t pnp[] = {'$', 'P', 'n', 'P', 1 /* revision */, 2 /* 32 bytes */};
    std::copy(std::begin(pnp), std::end(pnp), rom.begin() + kPnp);
    constexpr size_t kBev = 0x40;
    rom[kPnp + 0x1a] = kBev; // boot entry vector
    uint8_t pnpSum = 0;
    for (size_t i = kPnp; i < kPnp + 32; ++i)
        pnpSum = uint8_t(pnpSum + rom[i]);
    rom[kPnp + 9] = uint8_t(-pnpSum);
    const uint8_t code[] = {
        0xb8, 0x02, 0x4f, // mov ax, 0x4f02
        0xbb, 0x17, 0x41, // mov bx, 0x4117
        0xcd, 0x10,       // int 0x10
        0xba, 0xf4, 0x00, // mov dx, 0xf4 (debug-exit)
        0xef,             // out dx, ax
        0xf4,             // hlt
        0xeb, 0xfd,       // jmp to the hlt
    };
    std::copy(std::begin(code), std::end(code), rom.begin() + kBev);
    uint8_t sum = 0;
    for (const uint8_t byte : rom)
        sum = uint8_t(sum + byte);
    rom.back() = uint8_t(-sum); // the whole ROM sums to 0
    return rom;
}

} // namespace

class FirmwareBootTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_REQUIRE_KVM();
        if (!QFileInfo::exists(QString::fromLatin1(kvmscope::firmware::kDefaultBiosPath)) ||
            !QFileInfo::exists(QString::fromLatin1(kvmscope::firmware::kDefaultVgaBiosPath)))
            QSKIP("no /usr/share/seabios/bios-256k.bin or vgabios-stdvga.bin (Debian's package "
                  "seabios)");
    }

    // Through the core's API, to read the screen: SeaBIOS's banner on the VGA text screen once
    // the VGA BIOS ran, and BAR0 (with the framebuffer's memslot) where SeaBIOS put it.
    void seaBiosRunsTheVgaBiosAndPrintsItsBannerOnTheTextScreen() {
        kvm::System system;
        CollectingSink sink;
        MachineConfig config;
        config.memorySize = 128ull << 20;
        config.inspectKernelDevices = false;
        config.firmware.kind = firmware::FirmwareKind::Bios;
        Machine machine(config, system, sink);
        QVERIFY(machine.framebuffer());
        // After a reset the BARs are off: no framebuffer memslot until SeaBIOS turns BAR0 on.
        QVERIFY(!machine.framebuffer()->guestAddress());
        machine.boot();
        machine.run();
        QElapsedTimer timer;
        timer.start();
        QStringList rows;
        bool banner = false;
        while (!banner && timer.elapsed() < 240000 && !machine.stopState()) {
            QThread::msleep(200);
            rows = textRows(machine.display().textScreen());
            banner = rows.join('\n').contains(QStringLiteral("SeaBIOS (version"));
        }
        QVERIFY2(banner, qPrintable(rows.join('\n')));
        // SeaBIOS placed BAR0 in its PCI window; the framebuffer is mapped there now.
        const std::optional<uint64_t> address = machine.framebuffer()->guestAddress();
        QVERIFY(address);
        QVERIFY2(*address >= pc::kMmioHoleStart && *address < pc::kIoApicAddress,
                 qPrintable(QString::number(*address, 16)));
        QCOMPARE(*address % pc::kFramebufferSize, uint64_t(0));
        machine.pause();
        QVERIFY(machine.waitUntilPaused(10000));
    }

    // A VBE mode set through int 10h reaches the Bochs dispi: SeaVGABIOS answers 0x004F
    // (supported, successful) and the framebuffer shows 1024 x 768 x 16 at BAR0.
    void vbeModeSetThroughTheVgaBiosReachesTheDispi() {
        kvm::System system;
        CollectingSink sink;
        MachineConfig config;
        config.memorySize = 128ull << 20;
        config.inspectKernelDevices = false;
        config.firmware.kind = firmware::FirmwareKind::Bios;
        config.firmware.optionRoms.push_back({"vbe-mode-set.bin", vbeModeSetRom()});
        Machine machine(config, system, sink);
        machine.boot();
        machine.run();
        const std::optional<MachineStop> stop = machine.waitForStop(240000);
        QVERIFY(stop);
        QCOMPARE(stop->kind, StopKind::DebugExit);
        QCOMPARE(stop->debugExitValue, uint32_t(0x004f));
        const ScanoutMode mode = machine.framebuffer()->scanout();
        QVERIFY(mode.enabled);
        QCOMPARE(mode.width, 1024u);
        QCOMPARE(mode.height, 768u);
        QCOMPARE(mode.bitsPerPixel, 16u);
        QCOMPARE(machine.display().kind(), display::DisplayKind::Graphics);
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
        // The VGA function is found and its VGA BIOS (pci1234,1111.rom from fw_cfg) runs at
        // 0xC0000; the PS/2 keyboard is in the DSDT.
        QVERIFY2(!result.err.contains("No VGA devices found"), describe(result));
        QVERIFY2(result.err.contains("Running option rom at c000:0003"), describe(result));
        QVERIFY2(result.err.contains("Turning on vga text mode console"), describe(result));
        QVERIFY2(!result.err.contains("ACPI: no PS/2 keyboard present"), describe(result));
    }

    // The bios-disk guest (resources/guests/bios-disk, as bios-disk.img) as the IDE controller's
    // primary master, and as a virtio-blk disk (SeaBIOS's own virtio driver, over the modern
    // virtio-pci transport): SeaBIOS loads its boot sector, which reads its second stage by CHS;
    // that reads a sector by LBA, lists the memory map and echoes the keys typed on the PS/2
    // keyboard until Enter, then writes 0x21 to the debug-exit port.
    void seaBiosBootsADiskThatUsesItsServices_data() {
        QTest::addColumn<QString>("interface");
        QTest::newRow("ide") << QStringLiteral("ide");
        QTest::newRow("virtio") << QStringLiteral("virtio");
    }
    void seaBiosBootsADiskThatUsesItsServices() {
        QFETCH(QString, interface);
        CollectingSink sink;
        MachineConfig config;
        config.memorySize = 64ull << 20;
        config.firmware.kind = firmware::FirmwareKind::Bios;
        config.disks.push_back(storage::parseDiskSpec(guestPath("bios-disk.img").toStdString() +
                                                      ",readonly,if=" + interface.toStdString()));
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
        // The same lines through int 10h, on the VGA text screen the VGA BIOS drives.
        const QString screen = textRows(machine.display().textScreen()).join('\n');
        QVERIFY2(screen.contains(QStringLiteral("bios-disk: boot sector at 0000:7c00")),
                 qPrintable(screen));
        QVERIFY2(screen.contains(QStringLiteral("bios-disk: type keys, Enter ends")),
                 qPrintable(screen));

        // Waiting in int 16h, the vcpu runs the BIOS's real-mode code: the debugger reads it at
        // CS:IP (linear = CS * 16 + IP, SDM vol. 3A 20.1.1) and decodes it as 16-bit code.
        machine.pause();
        QVERIFY(machine.waitUntilPaused(10000));
        const inspect::VcpuSnapshot at = inspect::captureVcpuSnapshot(machine.vcpu(0), {}, 10000);
        QCOMPARE(int(at.codeMode()), int(debug::CodeMode::Real16));
        QCOMPARE(at.cpu.sregs.cs.base, uint64_t{at.cpu.sregs.cs.selector} << 4);
        QCOMPARE(at.pc, at.cpu.sregs.cs.base + (at.cpu.regs.rip & 0xffff));
        const inspect::GuestView view = inspect::guestViewOf(machine);
        const std::vector<debug::Instruction> code = view.disassemble(at, at.pc, 4);
        QVERIFY(!code.empty());
        QCOMPARE(code.front().address, at.pc);
        std::array<uint8_t, 15> bytes{};
        QVERIFY(view.readPhysical(at.pc, bytes.data(), code.front().length));
        QVERIFY(std::equal(bytes.begin(), bytes.begin() + code.front().length,
                           code.front().bytes.begin()));
        qInfo("waiting for a key at %04x:%04x: %s", at.cpu.sregs.cs.selector,
              unsigned(at.cpu.regs.rip), code.front().text.c_str());
        machine.run();

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
