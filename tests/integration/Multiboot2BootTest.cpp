// The multiboot2-info guest booted directly by kvmscope's Multiboot 2 loader through
// `kvmscope --headless`, with a command line and a module: what it prints on COM1 is what the
// loader handed it (resources/guests/multiboot2-info), and it ends through the debug-exit port.
#include "KvmTestSupport.h"

#include <QFile>
#include <QTemporaryDir>

using namespace kvmscope;
using namespace kvmscope::testing;

class Multiboot2BootTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { KVMSCOPE_REQUIRE_KVM(); }

    void guestPrintsTheBootInformationItWasGiven() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString module = dir.filePath(QStringLiteral("module.txt"));
        QFile file(module);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("kvmscope module 0\nsecond line\n");
        file.close();

        const CliResult result =
            runKvmscope({"--headless", "--memory", "256M", "--append", "mb2 test=yes", "--initrd",
                         module, guestPath("multiboot2-info")});
        // debug_exit(0x10): status (0x10 << 1) | 1.
        QVERIFY2(result.finished && result.exitCode == 33, describe(result));
        const QStringList expected = {
            "multiboot2-info: magic 0x36D76289 ok",
            "info: 8-byte aligned yes",
            "info: end tag found",
            "tags: 1 2 3 4 6 8 15 21",
            "boot loader name: \"kvmscope\"",
            "command line: \"mb2 test=yes\"",
            "modules: 1",
            "page-aligned string \"module.txt\" first text \"kvmscope module 0\"",
            "basic memory: lower 639 KiB upper 261120 KiB",
            "memory map: entry size 24 version 0, 4 entries",
            "  base 0x0000000000000000 length 0x000000000009FC00 type 1",
            "  base 0x000000000009FC00 length 0x0000000000060400 type 2",
            "  base 0x0000000000100000 length 0x000000000FF00000 type 1",
            "  base 0x00000000F0000000 length 0x0000000001000000 type 2", // the PCI ECAM window
            "framebuffer: type 2 address 0x00000000000B8000 80x25 bpp 16 pitch 160",
            "acpi old rsdp: absent",
            "acpi new rsdp: signature \"RSD PTR \" revision 2 checksum ok length 36 extended "
            "checksum ok",
            "load base: 0x00100000",
            "multiboot2-info: done",
        };
        for (const QString& line : expected)
            QVERIFY2(result.out.contains(line),
                     qPrintable("missing '" + line + "'\n" + describe(result)));
        // The module's size, as the guest saw it.
        QVERIFY2(result.out.contains(QStringLiteral(" size 30 ")), describe(result));
    }
};

QTEST_GUILESS_MAIN(Multiboot2BootTest)
#include "Multiboot2BootTest.moc"
