// The firmware file is checked before any VM exists: missing, or of a size no BIOS image has,
// is an error naming the file and the Debian package; a good one is read and its shadow is its
// last 128 KiB. The reset vector is the SDM's.
#include "common/Error.h"
#include "firmware/Firmware.h"
#include "machine/MachineConfig.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <fstream>
#include <string>
#include <vector>

using namespace kvmscope;
using namespace kvmscope::firmware;

namespace {

std::string writeFile(const QTemporaryDir& dir, const char* name, size_t size) {
    const std::string path = dir.filePath(QString::fromLatin1(name)).toStdString();
    std::ofstream out(path, std::ios::binary);
    std::vector<char> bytes(size);
    for (size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<char>(i / 1024);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
}

std::string errorOf(const FirmwareConfig& config) {
    try {
        checkFirmwareFile(config);
    } catch (const LoadError& error) {
        return error.what();
    }
    return {};
}

std::string vgaBiosErrorOf(const std::string& path) {
    try {
        (void)readVgaBios(path);
    } catch (const LoadError& error) {
        return error.what();
    }
    return {};
}

} // namespace

class FirmwareImageTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // The VGA BIOS: Debian's vgabios-stdvga.bin is an option ROM (0x55 0xAA, its length in
    // 512-byte units in byte 2) that the file holds whole.
    void debiansVgaBiosIsAnOptionRom() {
        if (!QFile::exists(QString::fromLatin1(kDefaultVgaBiosPath)))
            QSKIP("no /usr/share/seabios/vgabios-stdvga.bin (Debian's package seabios)");
        const std::vector<uint8_t> rom = readVgaBios();
        QCOMPARE(rom[0], uint8_t(0x55));
        QCOMPARE(rom[1], uint8_t(0xaa));
        QVERIFY(size_t(rom[2]) * kOptionRomUnit <= rom.size());
        QVERIFY(rom.size() <= kMaxOptionRomSize);
    }

    void aMissingOrBrokenVgaBiosNamesTheFileAndThePackage() {
        std::string message = vgaBiosErrorOf("/nonexistent/vgabios-stdvga.bin");
        QVERIFY2(message.find("/nonexistent/vgabios-stdvga.bin") != std::string::npos,
                 message.c_str());
        QVERIFY2(message.find("seabios") != std::string::npos, message.c_str());
        QTemporaryDir dir;
        const std::string notARom = writeFile(dir, "vgabios.bin", 4096); // starts with zeros
        message = vgaBiosErrorOf(notARom);
        QVERIFY2(message.find("not an option ROM") != std::string::npos, message.c_str());
        QVERIFY2(message.find("seabios") != std::string::npos, message.c_str());
    }

    // Only a machine with both the firmware and a framebuffer (so a VGA function) needs it; the
    // check runs with the other input files, before /dev/kvm. Whether the default file exists
    // decides which way this goes on the host, so both are checked against it.
    void theMachineNeedsTheVgaBiosOnlyWithFirmwareAndAFramebuffer() {
        if (!QFile::exists(QString::fromLatin1(kDefaultBiosPath)))
            QSKIP("no /usr/share/seabios/bios-256k.bin (Debian's package seabios)");
        MachineConfig machine;
        machine.firmware.kind = FirmwareKind::Bios;
        machine.framebuffer.enabled = true;
        if (QFile::exists(QString::fromLatin1(kDefaultVgaBiosPath)))
            machine.checkInputFiles();
        else
            QVERIFY_THROWS_EXCEPTION(InputError, machine.checkInputFiles());
        machine.framebuffer.enabled = false;
        machine.checkInputFiles();
    }

    void aMissingFileNamesItAndThePackage() {
        FirmwareConfig config{FirmwareKind::Bios, "/nonexistent/bios-256k.bin", {}};
        const std::string message = errorOf(config);
        QVERIFY2(message.find("/nonexistent/bios-256k.bin") != std::string::npos, message.c_str());
        QVERIFY2(message.find("seabios") != std::string::npos, message.c_str());
        // Through the machine's configuration too, as the command line checks it.
        MachineConfig machine;
        machine.firmware = config;
        QVERIFY_THROWS_EXCEPTION(InputError, machine.checkInputFiles());
    }

    void aFileOfTheWrongSizeNamesItAndThePackage() {
        QTemporaryDir dir;
        for (const size_t size : {size_t(0), size_t(100), size_t(64 * 1024),
                                  size_t(128 * 1024 + 512), size_t(17) << 20}) {
            const std::string path = writeFile(dir, "odd.bin", size);
            const std::string message = errorOf({FirmwareKind::Bios, path, {}});
            QVERIFY2(message.find(path) != std::string::npos, message.c_str());
            QVERIFY2(message.find("seabios") != std::string::npos, message.c_str());
        }
        const std::string directory = errorOf({FirmwareKind::Bios, dir.path().toStdString(), {}});
        QVERIFY2(directory.find("seabios") != std::string::npos, directory.c_str());
    }

    void aGoodImageIsReadAndItsShadowIsItsLast128KiB() {
        QTemporaryDir dir;
        const std::string path = writeFile(dir, "bios.bin", 256 * 1024);
        const FirmwareConfig config{FirmwareKind::Bios, path, {}};
        checkFirmwareFile(config);
        const FirmwareImage image(config);
        QCOMPARE(image.size(), uint64_t(256 * 1024));
        QCOMPARE(image.guestAddress(), uint64_t(0xfffc0000));
        QCOMPARE(image.shadow().size(), size_t(128 * 1024));
        QCOMPARE(image.shadow()[0], uint8_t(128)); // byte 128 KiB of the file
        QCOMPARE(reinterpret_cast<uintptr_t>(image.bytes().data()) % 4096, uintptr_t(0));
    }

    void theDefaultIsDebiansSeaBios() {
        const FirmwareConfig config{FirmwareKind::Bios, {}, {}};
        QCOMPARE(config.biosPath(), std::string("/usr/share/seabios/bios-256k.bin"));
        FirmwareKind kind = FirmwareKind::None;
        QVERIFY(parseFirmwareKind("bios", kind));
        QCOMPARE(kind, FirmwareKind::Bios);
        QVERIFY(!parseFirmwareKind("uefi", kind));
    }

    void anImageWithBiosIsRefused() {
        MachineConfig machine;
        machine.firmware.kind = FirmwareKind::Bios;
        machine.boot.imagePath = "kernel.elf";
        QVERIFY_THROWS_EXCEPTION(InputError, machine.validate());
    }

    void resetVectorIsTheSdms() {
        kvm_regs regs{};
        regs.rax = 5;
        kvm_sregs sregs{};
        sregs.apic_base = 0xfee00900;
        applyResetVector(regs, sregs);
        QCOMPARE(regs.rip, uint64_t(0xfff0));
        QCOMPARE(regs.rax, uint64_t(0));
        QCOMPARE(regs.rflags, uint64_t(2));
        QCOMPARE(sregs.cs.selector, uint16_t(0xf000));
        QCOMPARE(sregs.cs.base, uint64_t(0xffff0000));
        QCOMPARE(sregs.cs.base + regs.rip, uint64_t(0xfffffff0));
        QCOMPARE(sregs.cr0, uint64_t(0x60000010));
        QCOMPARE(sregs.apic_base, uint64_t(0xfee00900));
        QCOMPARE(sregs.idt.limit, uint16_t(0x3ff));
    }

    // The whole flash, at its largest, lies above the platform's fixed addresses (also checked
    // at compile time in Firmware.h).
    void theFlashClearsKvmsPages() {
        QVERIFY(kFlashEnd - kMaxImageSize >= pc::kKvmTssAddress + pc::kKvmTssSize);
        QVERIFY(kFlashEnd - 256 * 1024 > pc::kKvmTssAddress + pc::kKvmTssSize);
    }
};

QTEST_APPLESS_MAIN(FirmwareImageTest)
#include "FirmwareImageTest.moc"
