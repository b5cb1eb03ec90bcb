// The CMOS RTC as the ACPI tables describe it: the DSDT's PNP0B00 device, checked by ACPICA's own
// disassembler (iasl -d, Debian's acpica-tools) reading the DSDT exactly as kvmscope writes it
// into the guest, and the FADT's RTC fields against the CMOS device (ACPI 6.5, 5.2.9 table 5.9:
// CENTURY at offset 108, IAPC_BOOT_ARCH at 109; table 5.11: bit 5 "CMOS RTC Not Present").
#include "boot/acpi/AcpiTables.h"
#include "boot/acpi/Dsdt.h"
#include "devices/CmosRtc.h"

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
constexpr uint64_t kFadtCentury = 108;
constexpr uint64_t kFadtIapcBootArch = 109;
constexpr uint64_t kFadtXDsdt = 140;
constexpr uint16_t kBootArchCmosRtcNotPresent = 1u << 5;

// A table's guest address by signature, through the RSDP's XSDT (ACPI 6.5, 5.2.5.3: XsdtAddress
// at offset 24; 5.2.8: 64-bit entries after the 36-byte header).
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

// The DSDT as the guest sees it, header and checksum included.
std::vector<uint8_t> guestDsdt() {
    GuestMemory memory(kRam);
    const uint64_t rsdp = writeAcpiTables(memory, AcpiConfig{});
    const uint64_t fadt = findTable(memory, rsdp, "FACP");
    if (!fadt)
        qFatal("no FADT in the XSDT");
    const auto dsdt = memory.readValue<uint64_t>(fadt + kFadtXDsdt);
    std::vector<uint8_t> table(memory.readValue<uint32_t>(dsdt + 4));
    memory.read(dsdt, table.data(), table.size());
    return table;
}

// iasl's ASL without its comments, every run of white space one blank and none before a closing
// parenthesis, so that a check does not depend on its layout.
QString normalised(QString asl) {
    asl.remove(QRegularExpression("//[^\n]*"));
    asl.remove(QRegularExpression("/\\*.*?\\*/", QRegularExpression::DotMatchesEverythingOption));
    return asl.simplified().replace(QRegularExpression(" \\)"), ")");
}

} // namespace

class AcpiRtcTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void fadtRtcFieldsMatchTheCmosDevice() {
        GuestMemory memory(kRam);
        const uint64_t fadt = findTable(memory, writeAcpiTables(memory, AcpiConfig{}), "FACP");
        QVERIFY(fadt != 0);
        // CENTURY: the CMOS RAM index of the century register, which the device keeps in BCD.
        QCOMPARE(memory.readValue<uint8_t>(fadt + kFadtCentury), uint8_t(CmosRtc::kCentury));
        const auto bootArch = memory.readValue<uint16_t>(fadt + kFadtIapcBootArch);
        QVERIFY2(!(bootArch & kBootArchCmosRtcNotPresent),
                 qPrintable(QString("IAPC_BOOT_ARCH %1").arg(bootArch, 0, 16)));
        QVERIFY(bootArch & 1); // LEGACY_DEVICES: the RTC is one of the ISA devices
    }

    void iaslDisassemblesTheRtcDevice() {
        const QString iasl = QStandardPaths::findExecutable("iasl");
        if (iasl.isEmpty())
            QSKIP("iasl is not installed (Debian package acpica-tools): the DSDT cannot be "
                  "disassembled by ACPICA here; DsdtTest still checks its bytes");
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::vector<uint8_t> dsdt = guestDsdt();
        std::ofstream(dir.filePath("dsdt.dat").toStdString(), std::ios::binary)
            .write(reinterpret_cast<const char*>(dsdt.data()), std::streamsize(dsdt.size()));

        QProcess process;
        process.setWorkingDirectory(dir.path());
        process.setProcessChannelMode(QProcess::MergedChannels);
        process.start(iasl, {"-d", "dsdt.dat"});
        QVERIFY(process.waitForFinished(60000));
        const QByteArray output = process.readAll();
        QVERIFY2(process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0,
                 output.constData());

        QFile file(dir.filePath("dsdt.dsl"));
        QVERIFY2(file.open(QIODevice::ReadOnly), output.constData());
        const QString raw = QString::fromUtf8(file.readAll());
        QVERIFY2(!raw.contains("Incorrect checksum"), qPrintable(raw));
        const QString asl = normalised(raw);
        const qsizetype scope = asl.indexOf("Scope (\\_SB) {");
        const qsizetype device = asl.indexOf("Device (RTC) {");
        QVERIFY2(scope >= 0 && device > scope, qPrintable(asl));
        const QString rtc = asl.mid(device);
        for (const char* expected :
             {"Name (_HID, EisaId (\"PNP0B00\"))", "Name (_CRS, ResourceTemplate () {",
              "IO (Decode16, 0x0070, 0x0070, 0x01, 0x02,)", "IRQNoFlags () {8}"})
            QVERIFY2(rtc.contains(expected), qPrintable(expected + QString(" not in: ") + rtc));
        // The serial port is still there, and nothing else claims the RTC's ports.
        QVERIFY2(asl.contains("Name (_HID, EisaId (\"PNP0501\"))"), qPrintable(asl));
        QCOMPARE(asl.count("0x0070, 0x0070"), qsizetype(1));
    }
};

QTEST_GUILESS_MAIN(AcpiRtcTest)
#include "AcpiRtcTest.moc"
