#include "boot/ImagePlacement.h"

#include "BootTestImages.h"
#include "boot/GuestLayout.h"
#include "boot/MpTable.h"
#include "boot/Smbios.h"
#include "boot/X86Setup.h"
#include "boot/acpi/AcpiTables.h"

#include <QTest>
#include <fmt/format.h>

using namespace kvmscope;
using namespace kvmscope::boot;
using boottest::contains;

namespace {

constexpr uint64_t kRam = 64ull << 20;
const std::string kFile = "/images/kernel";

std::string placementError(uint64_t start, uint64_t size, const GuestMemory& memory,
                           std::initializer_list<layout::ReservedRange> alsoReserved = {}) {
    return boottest::errorOf<LoadError>(
        [&] { checkImagePlacement(kFile, "segment", start, size, memory, alsoReserved); });
}

bool insideAReservedRange(uint64_t address) {
    for (const auto& range : layout::kReservedForAllImages)
        if (address >= range.start && address < range.end)
            return true;
    return false;
}

// Every firmware structure at its largest: 255 cpus, the longest brand string CPUID can give,
// RAM on both sides of the 32-bit hole (one SMBIOS mapped-address structure each).
void writeEveryFirmwareTable(GuestMemory& memory) {
    BootPlan plan;
    plan.mode = CpuMode::Long64;
    writeCpuTables(plan, memory);
    writeMpTable(memory, kMaxMpTableCpus);
    AcpiConfig acpi;
    acpi.cpus = kMaxAcpiCpus;
    writeAcpiTables(memory, acpi);
    SmbiosConfig smbios;
    smbios.cpus = kMaxSmbiosCpus;
    smbios.processor.vendor = "GenuineIntel";
    smbios.processor.brand = std::string(48, 'B');
    smbios.processor.longMode = true;
    writeSmbiosTables(memory, smbios);
}

} // namespace

class ImagePlacementTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // The reserved ranges are exactly what kvmscope writes: with every table at its largest, no
    // byte below 1 MiB outside them changes (tried with two fill patterns, so that a written
    // byte equal to one of them still shows with the other).
    void firmwareTablesStayInsideTheReservedRanges() {
        GuestMemory memory(5ull << 30); // RAM above 4 GiB too: two mapped-address structures
        for (const uint8_t fill : {uint8_t(0xa5), uint8_t(0x5a)}) {
            memory.fill(0, fill, layout::kHighMemoryStart);
            writeEveryFirmwareTable(memory);
            const auto low = memory.span(0, layout::kHighMemoryStart);
            for (uint64_t address = 0; address < low.size(); ++address) {
                if (low[address] != fill && !insideAReservedRange(address))
                    QFAIL(qPrintable(QStringLiteral("byte 0x%1 was written but is not reserved")
                                         .arg(address, 0, 16)));
            }
        }
    }

    void everyReservedRangeIsRefusedAtBothEndsAndNamed() {
        GuestMemory memory(kRam);
        for (const auto& range : layout::kReservedForAllImages) {
            for (const uint64_t address : {range.start, range.end - 1}) {
                const std::string message = placementError(address, 1, memory);
                QVERIFY2(contains(message, kFile) && contains(message, "segment") &&
                             contains(message, fmt::format("overlaps {} [{:#x}, {:#x})", range.what,
                                                           range.start, range.end)),
                         message.c_str());
            }
        }
    }

    void bytesNextToTheReservedRangesAreAccepted() {
        GuestMemory memory(kRam);
        // The ranges are sorted and apart: the byte after each one and the one before the next.
        const auto& ranges = layout::kReservedForAllImages;
        for (size_t i = 0; i + 1 < std::size(ranges); ++i) {
            QVERIFY(ranges[i].end <= ranges[i + 1].start);
            if (ranges[i].end == ranges[i + 1].start)
                continue;
            const uint64_t gap = ranges[i + 1].start - ranges[i].end;
            checkImagePlacement(kFile, "segment", ranges[i].end, gap, memory);
        }
        checkImagePlacement(kFile, "segment", layout::kSmbiosAreaEnd,
                            layout::kHighMemoryStart - layout::kSmbiosAreaEnd, memory);
    }

    // GNU ld's default layout puts a kernel's ELF and program headers at 0xff000.
    void headerPageBelowOneMibIsAccepted() {
        GuestMemory memory(kRam);
        checkImagePlacement(kFile, "program header 0", 0xff000, 0x158, memory);
    }

    void rangeAcrossSeveralStructuresNamesTheFirst() {
        GuestMemory memory(kRam);
        const std::string message = placementError(0xdf000, 0x20000, memory);
        QVERIFY2(contains(message, "[0xdf000, 0xff000) overlaps the ACPI tables"), message.c_str());
    }

    void rangeReservedByTheLoaderIsRefusedNamed() {
        GuestMemory memory(kRam);
        const std::string message = placementError(0x7b00, 0x10, memory, {layout::kBootStackRange});
        QVERIFY2(contains(message, "overlaps the boot stack [0x7000, 0x7c00)"), message.c_str());
        // Without it, the same range is free.
        checkImagePlacement(kFile, "segment", 0x7b00, 0x10, memory);
    }

    void emptyWrappingAndOutsideRamAreRefused() {
        GuestMemory memory(kRam);
        QVERIFY(contains(placementError(0x100000, 0, memory), "is empty"));
        QVERIFY(contains(placementError(~0ull - 0xf, 0x20, memory), "wraps around"));
        QVERIFY(contains(placementError(kRam - 0x10, 0x20, memory), "outside guest RAM"));
    }
};

QTEST_APPLESS_MAIN(ImagePlacementTest)
#include "ImagePlacementTest.moc"
