#include "boot/ElfLoader.h"

#include "BootTestImages.h"
#include "boot/GuestLayout.h"
#include "boot/ImageLoader.h"

#include <QTest>
#include <cstring>
#include <fmt/format.h>

using namespace kvmscope;
using namespace kvmscope::boot;
using boottest::contains;
using boottest::Segment;

namespace {

constexpr uint64_t kRam = 64ull << 20;
constexpr uint64_t kKernel = 0x100000;
const std::string kPath = "/images/kernel.elf";

std::string loadError(const std::vector<uint8_t>& image, GuestMemory& memory) {
    return boottest::errorOf<LoadError>([&] { loadElf(image, kPath, memory); });
}

std::string loadError(const std::vector<uint8_t>& image) {
    GuestMemory memory(kRam);
    return loadError(image, memory);
}

// A text segment at 1 MiB and a data segment with a bss tail at 1 MiB + 8 KiB.
boottest::ElfFile twoSegments64() {
    return boottest::elf64(kKernel + 0x10, {Segment{kKernel, kKernel, boottest::pattern(0x200, 1)},
                                            Segment{kKernel + 0x2000, kKernel + 0x2000,
                                                    boottest::pattern(0x40, 9), 0x1000}});
}

} // namespace

class ElfLoaderTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void elf64IsLoadedForLongMode() {
        GuestMemory memory(kRam);
        memory.fill(kKernel, 0xaa, 0x4000); // so that bss zeroing shows
        const auto file = twoSegments64();
        const BootPlan plan = loadElf(file.bytes, kPath, memory);
        QCOMPARE(plan.format, ImageFormat::Elf);
        QCOMPARE(plan.mode, CpuMode::Long64);
        QCOMPARE(plan.entry, kKernel + 0x10);
        QCOMPARE(plan.stack, layout::kBootStackTop);
        QCOMPARE(plan.imageStart, kKernel);
        QCOMPARE(plan.imageEnd, kKernel + 0x3000);

        const auto text = memory.span(kKernel, 0x200);
        QVERIFY(std::equal(text.begin(), text.end(), boottest::pattern(0x200, 1).begin()));
        // Between the segments nothing was written.
        QCOMPARE(memory.readValue<uint8_t>(kKernel + 0x200), uint8_t(0xaa));
        const auto data = memory.span(kKernel + 0x2000, 0x40);
        QVERIFY(std::equal(data.begin(), data.end(), boottest::pattern(0x40, 9).begin()));
        for (uint64_t address = kKernel + 0x2040; address < kKernel + 0x3000; ++address)
            QCOMPARE(memory.readValue<uint8_t>(address), uint8_t(0));
        QCOMPARE(memory.readValue<uint8_t>(kKernel + 0x3000), uint8_t(0xaa));
        QVERIFY(!plan.notes.empty());
    }

    void elf32IsLoadedForProtectedMode() {
        GuestMemory memory(kRam);
        const auto file = boottest::elf32(
            0x200004, {Segment{0x200000, 0x200000, boottest::pattern(0x100, 3), 0x800}});
        const BootPlan plan = loadElf(file.bytes, kPath, memory);
        QCOMPARE(plan.mode, CpuMode::Protected32);
        QCOMPARE(plan.entry, uint64_t(0x200004));
        QCOMPARE(memory.readValue<uint8_t>(0x200000), boottest::pattern(1, 3)[0]);
        QCOMPARE(plan.imageEnd, uint64_t(0x200800));
    }

    void segmentsGoToPhysicalAddressesAndEntryIsTranslated() {
        GuestMemory memory(kRam);
        const uint64_t virtualBase = 0xffffffff80000000ull + kKernel;
        const auto file = boottest::elf64(
            virtualBase + 0x20, {Segment{kKernel, virtualBase, boottest::pattern(0x100, 5)}});
        const BootPlan plan = loadElf(file.bytes, kPath, memory);
        QCOMPARE(plan.entry, kKernel + 0x20);
        QCOMPARE(memory.readValue<uint8_t>(kKernel), boottest::pattern(1, 5)[0]);
    }

    void nonLoadSegmentsAreIgnored() {
        GuestMemory memory(kRam);
        const auto file =
            boottest::elf64(kKernel, {Segment{0, 0, boottest::pattern(0x10, 1), 0, PT_NOTE},
                                      Segment{kKernel, kKernel, boottest::pattern(0x10, 2)}});
        const BootPlan plan = loadElf(file.bytes, kPath, memory);
        QCOMPARE(plan.imageStart, kKernel);
        QCOMPARE(memory.readValue<uint8_t>(0), uint8_t(0));
    }

    void tooShortForIdentification() {
        const std::string message = loadError({0x7f, 'E', 'L', 'F', 2, 1});
        QVERIFY2(contains(message, kPath) && contains(message, "6 bytes") &&
                     contains(message, "identification"),
                 message.c_str());
    }

    void truncatedHeaderIsRejected() {
        auto file = twoSegments64().bytes;
        file.resize(40);
        const std::string message = loadError(file);
        QVERIFY2(contains(message, "40 bytes") && contains(message, "ELF64 header (64 bytes)"),
                 message.c_str());
    }

    void notElfIsRejected() {
        const std::string message =
            loadError({'M', 'Z', 0x90, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13});
        QVERIFY2(contains(message, "not an ELF file") && contains(message, "4d 5a 90 00"),
                 message.c_str());
    }

    void badClassIsRejected() {
        auto file = twoSegments64().bytes;
        file[EI_CLASS] = 3;
        const std::string message = loadError(file);
        QVERIFY2(contains(message, "e_ident[EI_CLASS] is 3"), message.c_str());
    }

    void bigEndianIsRejected() {
        auto file = twoSegments64().bytes;
        file[EI_DATA] = ELFDATA2MSB;
        const std::string message = loadError(file);
        QVERIFY2(contains(message, "e_ident[EI_DATA] is 2"), message.c_str());
    }

    void wrongMachineIsRejected() {
        const auto file = boottest::elf64(kKernel, {Segment{kKernel, kKernel, {1, 2, 3}}}, EM_386);
        const std::string message = loadError(file.bytes);
        QVERIFY2(contains(message, "e_machine is 3") && contains(message, "EM_X86_64"),
                 message.c_str());
        const auto arm = boottest::elf32(0x100000, {Segment{kKernel, kKernel, {1}}}, EM_ARM);
        const std::string armMessage = loadError(arm.bytes);
        QVERIFY2(contains(armMessage, "e_machine is 40") && contains(armMessage, "EM_386"),
                 armMessage.c_str());
    }

    void sharedObjectIsRejected() {
        auto file = twoSegments64().bytes;
        boottest::put<uint16_t>(file, offsetof(Elf64_Ehdr, e_type), ET_DYN);
        const std::string message = loadError(file);
        QVERIFY2(contains(message, "e_type is 3"), message.c_str());
    }

    void programHeaderTableOutsideFileIsRejected() {
        auto file = twoSegments64().bytes;
        boottest::put<uint64_t>(file, offsetof(Elf64_Ehdr, e_phoff), 0x10000);
        const std::string message = loadError(file);
        QVERIFY2(contains(message, "e_phoff 0x10000") && contains(message, "beyond the end"),
                 message.c_str());
        // An offset that would wrap around when the table size is added.
        boottest::put<uint64_t>(file, offsetof(Elf64_Ehdr, e_phoff), ~0ull - 8);
        const std::string wrapped = loadError(file);
        QVERIFY2(contains(wrapped, "e_phoff 0xfffffffffffffff7"), wrapped.c_str());
    }

    void wrongProgramHeaderSizeIsRejected() {
        auto file = twoSegments64().bytes;
        boottest::put<uint16_t>(file, offsetof(Elf64_Ehdr, e_phentsize), 32);
        const std::string message = loadError(file);
        QVERIFY2(contains(message, "e_phentsize is 32, expected 56"), message.c_str());
    }

    void noProgramHeadersIsRejected() {
        auto file = twoSegments64().bytes;
        boottest::put<uint16_t>(file, offsetof(Elf64_Ehdr, e_phnum), 0);
        const std::string message = loadError(file);
        QVERIFY2(contains(message, "e_phnum is 0"), message.c_str());
    }

    void segmentBytesOutsideFileAreRejected() {
        auto file = twoSegments64();
        boottest::put<uint64_t>(
            file.bytes, boottest::phdr64Field(file, 1, offsetof(Elf64_Phdr, p_filesz)), 0x100000);
        boottest::put<uint64_t>(
            file.bytes, boottest::phdr64Field(file, 1, offsetof(Elf64_Phdr, p_memsz)), 0x100000);
        const std::string message = loadError(file.bytes);
        QVERIFY2(contains(message, "program header 1") && contains(message, "p_filesz 0x100000") &&
                     contains(message, "beyond the end of the file"),
                 message.c_str());
    }

    void fileSizeAboveMemorySizeIsRejected() {
        auto file = twoSegments64();
        boottest::put<uint64_t>(
            file.bytes, boottest::phdr64Field(file, 0, offsetof(Elf64_Phdr, p_memsz)), 0x100);
        const std::string message = loadError(file.bytes);
        QVERIFY2(contains(message, "program header 0: p_filesz 0x200 exceeds p_memsz 0x100"),
                 message.c_str());
    }

    void addressOverflowIsRejected() {
        const auto file =
            boottest::elf64(kKernel, {Segment{0xfffffffffffff000ull, kKernel, {1, 2, 3}, 0x2000}});
        const std::string message = loadError(file.bytes);
        QVERIFY2(contains(message, "p_paddr 0xfffffffffffff000 + p_memsz 0x2000 overflows"),
                 message.c_str());
    }

    void segmentOutsideRamIsRejected() {
        const auto file =
            boottest::elf64(0x4000000, {Segment{0x3fff000, 0x4000000, {1, 2, 3}, 0x2000}});
        const std::string message = loadError(file.bytes);
        QVERIFY2(contains(message, "p_paddr 0x3fff000") && contains(message, "outside guest RAM") &&
                     contains(message, "[0x3fff000, 0x4001000)"),
                 message.c_str());
    }

    // What GNU ld makes of a kernel linked without a script (-Ttext=0x100000, the default
    // -z separate-code): the ELF and program headers in a read-only PT_LOAD of their own, one
    // page below .text. Built with the guests (resources/guests/elf-default-layout); its boot is
    // test_cli_guests' elfLinkedByLdDefaultLayoutBoots.
    void fileLinkedByLdDefaultLayoutIsLoadedWithItsHeaderSegment() {
        const std::string path = KVMSCOPE_GUESTS_DIR "/elf-default-layout";
        const std::vector<uint8_t> file = readImageFile(path, "image");
        const auto header = boottest::get<Elf64_Ehdr>(file, 0);
        std::vector<Elf64_Phdr> loads;
        for (unsigned index = 0; index < header.e_phnum; ++index) {
            const auto phdr =
                boottest::get<Elf64_Phdr>(file, header.e_phoff + index * sizeof(Elf64_Phdr));
            if (phdr.p_type == PT_LOAD)
                loads.push_back(phdr);
        }
        QVERIFY2(loads.size() >= 3, "expected the headers, .text and .data in PT_LOADs");
        QCOMPARE(loads.front().p_paddr, kKernel - 0x1000);
        QCOMPARE(loads.front().p_offset, uint64_t(0));
        QVERIFY(loads.front().p_filesz >= sizeof(Elf64_Ehdr));

        GuestMemory memory(kRam);
        memory.fill(kKernel - 0x1000, 0xaa, 0x10000); // so that bss zeroing shows
        const BootPlan plan = loadElf(file, path, memory);
        QCOMPARE(plan.mode, CpuMode::Long64);
        QCOMPARE(plan.imageStart, kKernel - 0x1000);
        QCOMPARE(plan.entry, header.e_entry);
        for (const Elf64_Phdr& load : loads) {
            const auto landed = memory.span(load.p_paddr, load.p_memsz);
            QVERIFY(std::equal(landed.begin(), landed.begin() + long(load.p_filesz),
                               file.begin() + long(load.p_offset)));
            QVERIFY(std::all_of(landed.begin() + long(load.p_filesz), landed.end(),
                                [](uint8_t byte) { return byte == 0; }));
        }
        QCOMPARE(std::memcmp(memory.span(kKernel - 0x1000, SELFMAG).data(), ELFMAG, SELFMAG), 0);
    }

    // The rest of the EBDA, the VGA window and the BIOS area are RAM nothing writes.
    void segmentsBetweenTheFirmwareTablesAreLoaded_data() {
        QTest::addColumn<uint64_t>("start");
        QTest::addColumn<uint64_t>("size");
        QTest::newRow("headers below 1 MiB") << uint64_t(0xff000) << uint64_t(0x158);
        QTest::newRow("EBDA after the MP pointer") << uint64_t(0x9fc10) << uint64_t(0x3f0);
        QTest::newRow("VGA window") << uint64_t(0xa0000) << uint64_t(0x40000);
        QTest::newRow("after the ACPI tables") << uint64_t(0xe2000) << uint64_t(0xe000);
        QTest::newRow("between MP and SMBIOS") << uint64_t(0xf14b8) << uint64_t(0x348);
        QTest::newRow("after SMBIOS to 1 MiB") << uint64_t(0xf2000) << uint64_t(0xe000);
    }
    void segmentsBetweenTheFirmwareTablesAreLoaded() {
        QFETCH(uint64_t, start);
        QFETCH(uint64_t, size);
        GuestMemory memory(kRam);
        const auto bytes = boottest::pattern(size_t(size), 7);
        const auto file = boottest::elf64(
            kKernel, {Segment{start, start, bytes}, Segment{kKernel, kKernel, {0xf4}}});
        const BootPlan plan = loadElf(file.bytes, kPath, memory);
        QCOMPARE(plan.imageStart, start);
        const auto landed = memory.span(start, size);
        QVERIFY(std::equal(landed.begin(), landed.end(), bytes.begin()));
    }

    void segmentOverLowTablesIsRejected() {
        const auto file = boottest::elf64(0x1000, {Segment{0x1000, 0x1000, {1, 2, 3}}});
        const std::string message = loadError(file.bytes);
        QVERIFY2(contains(message, "p_paddr 0x1000") &&
                     contains(message, "the long-mode page tables [0x1000, 0x7000)"),
                 message.c_str());
    }

    void segmentOverBootStackIsRejected() {
        const auto file = boottest::elf32(0x7b00, {Segment{0x7b00, 0x7b00, {1, 2, 3}}});
        const std::string message = loadError(file.bytes);
        QVERIFY2(contains(message, "boot stack"), message.c_str());
    }

    // A segment that ends on a structure kvmscope writes is refused, naming that structure.
    void segmentOverAFirmwareTableIsRejectedNamingIt_data() {
        QTest::addColumn<uint64_t>("start");
        QTest::addColumn<uint64_t>("size");
        QTest::addColumn<QString>("named");
        QTest::newRow("MP floating pointer")
            << uint64_t(0x9f000) << uint64_t(0xc01)
            << "overlaps the MP floating pointer structure [0x9fc00, 0x9fc10)";
        QTest::newRow("ACPI tables") << uint64_t(0xd0000) << uint64_t(0x10001)
                                     << "overlaps the ACPI tables (RSDP, XSDT, RSDT, FADT, FACS, "
                                        "MADT, MCFG, DSDT) [0xe0000, 0xe2000)";
        QTest::newRow("MP configuration table")
            << uint64_t(0xf14b7) << uint64_t(0x10)
            << "overlaps the MP configuration table [0xf0000, 0xf14b8)";
        QTest::newRow("SMBIOS") << uint64_t(0xf1f00) << uint64_t(0x200)
                                << "overlaps the SMBIOS entry points and structure table "
                                   "[0xf1800, 0xf2000)";
    }
    void segmentOverAFirmwareTableIsRejectedNamingIt() {
        QFETCH(uint64_t, start);
        QFETCH(uint64_t, size);
        QFETCH(QString, named);
        GuestMemory memory(kRam);
        const auto file = boottest::elf32(
            uint32_t(kKernel), {Segment{start, start, boottest::pattern(size_t(size), 1)},
                                Segment{kKernel, kKernel, {0xf4}}});
        const std::string message = loadError(file.bytes, memory);
        QVERIFY2(contains(message, kPath) &&
                     contains(message, fmt::format("program header 0 (p_paddr {:#x}, p_memsz "
                                                   "{:#x})",
                                                   start, size)) &&
                     contains(message, named.toStdString()),
                 message.c_str());
        QCOMPARE(memory.readValue<uint8_t>(start), uint8_t(0)); // nothing written
    }

    void overlappingSegmentsAreRejected() {
        const auto file = boottest::elf64(
            kKernel, {Segment{kKernel, kKernel, boottest::pattern(0x100, 1), 0x2000},
                      Segment{kKernel + 0x1000, kKernel + 0x1000, {1}}});
        const std::string message = loadError(file.bytes);
        QVERIFY2(contains(message, "program headers 0 and 1 overlap"), message.c_str());
    }

    void entryOutsideSegmentsIsRejected() {
        const auto file = boottest::elf64(0x500000, {Segment{kKernel, kKernel, {1, 2, 3}}});
        const std::string message = loadError(file.bytes);
        QVERIFY2(contains(message, "e_entry 0x500000"), message.c_str());
        // An entry in the bss is not code either.
        const auto bss = boottest::elf64(kKernel + 0x10, {Segment{kKernel, kKernel, {1}, 0x100}});
        QVERIFY(contains(loadError(bss.bytes), "e_entry 0x100010"));
    }

    void noLoadableSegmentIsRejected() {
        const auto file = boottest::elf64(kKernel, {Segment{kKernel, kKernel, {1}, 0, PT_NOTE}});
        const std::string message = loadError(file.bytes);
        QVERIFY2(contains(message, "no PT_LOAD"), message.c_str());
    }

    void nothingIsWrittenWhenALaterSegmentIsRejected() {
        GuestMemory memory(kRam);
        const auto file =
            boottest::elf64(kKernel, {Segment{kKernel, kKernel, boottest::pattern(0x10, 1)},
                                      Segment{0x8000000, 0x8000000, {1}}});
        QVERIFY(contains(loadError(file.bytes, memory), "outside guest RAM"));
        QCOMPARE(memory.readValue<uint8_t>(kKernel), uint8_t(0));
    }
};

QTEST_APPLESS_MAIN(ElfLoaderTest)
#include "ElfLoaderTest.moc"
