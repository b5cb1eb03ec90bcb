// The PCI host bridge as the ACPI tables describe it: the DSDT's PCI0 device checked by ACPICA's
// own disassembler (iasl -d, Debian's acpica-tools) reading the DSDT exactly as kvmscope writes
// it into the guest, and the MCFG disassembled the same way (PCI Firmware Specification 3.0,
// 4.1.2). Every expected value comes from machine/PcPlatform.h.
#include "boot/acpi/AcpiTables.h"
#include "machine/PcPlatform.h"

#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <cstring>
#include <fstream>
#include <vector>

using namespace kvmscope;
using namespace kvmscope::boot;

namespace {

constexpr uint64_t kRam = 16ull << 20;
constexpr uint64_t kFadtXDsdt = 140;

// A table's guest address by signature, through the RSDP's XSDT.
uint64_t findTable(const GuestMemory& memory, uint64_t rsdp, const char* signature) {
    const auto xsdt = memory.readValue<uint64_t>(rsdp + 24);
    const auto length = memory.readValue<uint32_t>(xsdt + 4);
    for (uint64_t entry = xsdt + 36; entry + 8 <= xsdt + length; entry += 8) {
        const auto table = memory.readValue<uint64_t>(entry);
        char found[4];
        memory.read(table, found, sizeof found);
        if (std::memcmp(found, signature, sizeof found) == 0)
            return table;
    }
    return 0;
}

std::vector<uint8_t> tableBytes(const GuestMemory& memory, uint64_t address) {
    std::vector<uint8_t> table(memory.readValue<uint32_t>(address + 4));
    memory.read(address, table.data(), table.size());
    return table;
}

// iasl's ASL without comments, white space runs as one blank and none before ')'.
QString normalised(QString asl) {
    asl.remove(QRegularExpression("//[^\n]*"));
    asl.remove(QRegularExpression("/\\*.*?\\*/", QRegularExpression::DotMatchesEverythingOption));
    return asl.simplified().replace(QRegularExpression(" \\)"), ")");
}

QString hex(uint64_t value, int digits) {
    return QStringLiteral("0x%1")
        .arg(value, digits, 16, QLatin1Char('0'))
        .toUpper()
        .replace("0X", "0x");
}

} // namespace

class AcpiPciTest : public QObject {
    Q_OBJECT

private:
    // Runs `iasl -d` on `table` and returns the .dsl it writes; empty (and a test failure) when
    // it fails.
    QString disassemble(const std::vector<uint8_t>& table, const QString& name) {
        const QString iasl = QStandardPaths::findExecutable("iasl");
        QTemporaryDir dir;
        std::ofstream(dir.filePath(name + ".dat").toStdString(), std::ios::binary)
            .write(reinterpret_cast<const char*>(table.data()), std::streamsize(table.size()));
        QProcess process;
        process.setWorkingDirectory(dir.path());
        process.setProcessChannelMode(QProcess::MergedChannels);
        process.start(iasl, {"-d", name + ".dat"});
        if (!process.waitForFinished(60000) || process.exitCode() != 0) {
            qWarning("%s", process.readAll().constData());
            return {};
        }
        QFile file(dir.filePath(name + ".dsl"));
        if (!file.open(QIODevice::ReadOnly))
            return {};
        return QString::fromUtf8(file.readAll());
    }

private Q_SLOTS:
    void init() {
        if (QStandardPaths::findExecutable("iasl").isEmpty())
            QSKIP("iasl is not installed (Debian package acpica-tools); DsdtTest and "
                  "AcpiTablesTest still check the bytes");
    }

    void iaslReadsThePciHostBridge() {
        GuestMemory memory(kRam);
        const uint64_t rsdp = writeAcpiTables(memory, AcpiConfig{});
        const uint64_t fadt = findTable(memory, rsdp, "FACP");
        QVERIFY(fadt);
        const QString raw =
            disassemble(tableBytes(memory, memory.readValue<uint64_t>(fadt + kFadtXDsdt)), "dsdt");
        QVERIFY(!raw.isEmpty());
        QVERIFY2(!raw.contains("Incorrect checksum"), qPrintable(raw));
        const QString asl = normalised(raw);
        const qsizetype device = asl.indexOf("Device (PCI0) {");
        QVERIFY2(device >= 0, qPrintable(asl));
        const QString pci = asl.mid(device);
        QStringList expected = {
            "Name (_HID, EisaId (\"PNP0A03\"))",
            "Name (_CID, EisaId (\"PNP0A03\"))",
            "Name (_UID, Zero)",
            "Name (_SEG, Zero)",
            "Name (_BBN, Zero)",
            "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0x0000, 0x0000, "
            "0x000F, 0x0000, 0x0010,",
            "IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08,)",
            "WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0x0000, "
            "0x0000, 0x0CF7, 0x0000, 0x0CF8,",
            "WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0x0000, "
            "0x0D00, 0xFFFF, 0x0000, 0xF300,",
            // Slot 1 INTA# -> GSI 16, slot 0 INTA# -> GSI 19, slot 31 INTD# -> GSI 17.
            "Package (0x04) { 0x0001FFFF, Zero, Zero, 0x10 }",
            "Package (0x04) { 0xFFFF, Zero, Zero, 0x13 }",
            "Package (0x04) { 0x001FFFFF, 0x03, Zero, 0x11 }",
        };
        for (const pc::AddressWindow& window : pc::kPciMmioWindows)
            expected << QStringLiteral("DWordMemory (ResourceProducer, PosDecode, MinFixed, "
                                       "MaxFixed, NonCacheable, ReadWrite, 0x00000000, %1, %2, "
                                       "0x00000000, %3,")
                            .arg(hex(window.start, 8), hex(window.end - 1, 8),
                                 hex(window.end - window.start, 8));
        for (const QString& line : expected)
            QVERIFY2(pci.contains(line), qPrintable(line + QString(" not in: ") + pci));
        QCOMPARE(pci.count("Package (0x04)"), qsizetype(128));
        QVERIFY(!pci.mid(0, pci.indexOf("Device (PDRC)")).contains("_ADR")); // _HID, no _ADR
        // The ECAM window as a motherboard resource.
        const QString pdrc = asl.mid(asl.indexOf("Device (PDRC) {"));
        QVERIFY2(pdrc.contains("Name (_HID, EisaId (\"PNP0C02\"))"), qPrintable(pdrc));
        QVERIFY2(pdrc.contains(QStringLiteral("Memory32Fixed (ReadWrite, %1, %2,)")
                                   .arg(hex(pc::kPciEcamAddress, 8), hex(pc::kPciEcamSize, 8))),
                 qPrintable(pdrc));
    }

    void iaslReadsTheMcfg() {
        GuestMemory memory(kRam);
        const uint64_t rsdp = writeAcpiTables(memory, AcpiConfig{});
        const uint64_t mcfg = findTable(memory, rsdp, "MCFG");
        QVERIFY(mcfg);
        const QString asl = disassemble(tableBytes(memory, mcfg), "mcfg");
        QVERIFY(!asl.isEmpty());
        QVERIFY2(!asl.contains("Incorrect checksum"), qPrintable(asl));
        const QString base = QStringLiteral("Base Address : %1")
                                 .arg(pc::kPciEcamAddress, 16, 16, QLatin1Char('0'))
                                 .toUpper()
                                 .replace("BASE ADDRESS", "Base Address");
        QVERIFY2(asl.contains(base, Qt::CaseInsensitive), qPrintable(asl));
        QVERIFY2(asl.contains(QRegularExpression("Start Bus Number : 00")), qPrintable(asl));
        QVERIFY2(asl.contains(QRegularExpression("End Bus Number : 0F")), qPrintable(asl));
    }
};

QTEST_GUILESS_MAIN(AcpiPciTest)
#include "AcpiPciTest.moc"
