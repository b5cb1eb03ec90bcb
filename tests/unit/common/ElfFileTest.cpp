// common/ElfFile: the one ELF reader, on files built from <elf.h> structures: every view of a good
// file, and the LoadError (file, field, value) for each way a header, a table, a section, a note or
// a symbol can lie about the file.
#include "common/ElfFile.h"

#include "common/Error.h"
#include "unit/common/ElfTestFiles.h"

#include <QTest>
#include <cstddef>
#include <fmt/format.h>
#include <string>

using namespace kvmscope;
using elftest::put;
using elftest::SectionSpec;
using elftest::SegmentSpec;

namespace {

constexpr const char* kPath = "/images/kernel.elf";
constexpr uint32_t kGnuBuildId = 3; // NT_GNU_BUILD_ID

// Code, data, a bss, notes and symbols: what a linker writes for a small kernel. Section 1 .text,
// 2 .data, 3 .bss, 4 .note, 5 .symtab, 6 .strtab, 7 .shstrtab; program headers: .text, .data,
// .note (PT_NOTE).
template <typename Sym> elftest::BuiltElf smallKernel(bool is64) {
    std::vector<SectionSpec> sections{
        {.name = ".text", .bytes = {0xfa, 0xf4, 0xeb, 0xfd}, .alignment = 16},
        {.name = ".data", .bytes = {1, 2, 3, 4, 5, 6, 7, 8}, .alignment = 8},
        {.name = ".bss", .type = SHT_NOBITS, .nobitsSize = 0x1000, .alignment = 16},
        {.name = ".note",
         .type = SHT_NOTE,
         .bytes = elftest::note("GNU", kGnuBuildId, {0xaa, 0xbb, 0xcc, 0xdd}),
         .alignment = 4},
    };
    const auto symbols = elftest::symbolSections<Sym>(
        {{.name = "_start", .value = 0x100000, .size = 4, .type = STT_FUNC, .section = 1},
         {.name = "counter", .value = 0x101000, .size = 8, .type = STT_OBJECT, .section = 2}},
        6);
    sections.insert(sections.end(), symbols.begin(), symbols.end());
    const std::vector<SegmentSpec> segments{{.type = PT_LOAD, .section = 1, .address = 0x100000},
                                            {.type = PT_LOAD, .section = 2, .address = 0x101000},
                                            {.type = PT_NOTE, .section = 4}};
    return is64 ? elftest::elf64(segments, sections) : elftest::elf32(segments, sections);
}

elftest::BuiltElf kernel64() {
    return smallKernel<Elf64_Sym>(true);
}

elftest::BuiltElf kernel32() {
    return smallKernel<Elf32_Sym>(false);
}

// The message of the LoadError `function` throws, or a marker no check matches.
template <typename Function> std::string loadError(Function&& function) {
    try {
        function();
    } catch (const LoadError& error) {
        return error.what();
    }
    return "(nothing was thrown)";
}

std::string openError(const std::vector<uint8_t>& bytes) {
    return loadError([&] { ElfFile file(bytes, kPath); });
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::string text(std::span<const uint8_t> bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::vector<uint8_t> vectorOf(std::span<const uint8_t> bytes) {
    return {bytes.begin(), bytes.end()};
}

// The section header field at `field` of section `index` in an ELF64 file built above.
uint64_t shdr64Field(const elftest::BuiltElf& file, unsigned index, size_t field) {
    return file.sectionHeaderOffset + index * sizeof(Elf64_Shdr) + field;
}

// Walks every note of `area`.
std::vector<ElfNote> allNotes(const ElfNoteArea& area) {
    std::vector<ElfNote> notes;
    ElfNotes reader(area, kPath);
    while (const auto note = reader.next())
        notes.push_back(*note);
    return notes;
}

} // namespace

class ElfFileTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void goodFileOfEitherClassGivesEveryView() {
        for (const auto& built : {kernel64(), kernel32()}) {
            const ElfFile file(built.bytes, kPath);
            const bool is64 = built.bytes[EI_CLASS] == ELFCLASS64;
            QCOMPARE(file.is64(), is64);
            QCOMPARE(file.machine(), uint16_t(is64 ? EM_X86_64 : EM_386));
            QCOMPARE(file.type(), uint16_t(ET_EXEC));
            QCOMPARE(file.entry(), uint64_t{0x100000});
            QCOMPARE(file.path(), std::string(kPath));

            const std::vector<Elf64_Phdr> headers = file.programHeaders();
            QCOMPARE(headers.size(), size_t{3});
            QCOMPARE(headers[1].p_paddr, uint64_t{0x101000});
            QCOMPARE(vectorOf(file.segmentBytes(headers[1], 1)),
                     (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8}));

            const std::vector<ElfSection> sections = file.sections();
            QCOMPARE(sections.size(), size_t{8}); // the null section, then seven
            QCOMPARE(file.sectionName(sections[0]), std::string_view());
            QCOMPARE(file.sectionName(sections[1]), std::string_view(".text"));
            QCOMPARE(file.sectionName(sections[7]), std::string_view(".shstrtab"));
            const auto text = file.sectionNamed(".text");
            QVERIFY(text);
            QCOMPARE(text->index, 1u);
            QCOMPARE(vectorOf(file.sectionBytes(*text)),
                     (std::vector<uint8_t>{0xfa, 0xf4, 0xeb, 0xfd}));
            // SHT_NOBITS takes no room in the file, whatever its sh_offset and sh_size.
            const auto bss = file.sectionNamed(".bss");
            QVERIFY(bss);
            QCOMPARE(bss->header.sh_size, uint64_t{0x1000});
            QVERIFY(file.sectionBytes(*bss).empty());
            QVERIFY(!file.sectionNamed(".debug_info"));
            QVERIFY(!file.sectionNamed(".tex")); // whole names only

            // The same note through its PT_NOTE segment and through its SHT_NOTE section.
            const auto segments = file.noteSegments();
            const auto noteSections = file.noteSections();
            QCOMPARE(segments.size(), size_t{1});
            QCOMPARE(noteSections.size(), size_t{1});
            QCOMPARE(segments[0].where, std::string("PT_NOTE program header 2"));
            QCOMPARE(noteSections[0].where, std::string("SHT_NOTE section 4"));
            for (const ElfNoteArea& area : {segments[0], noteSections[0]}) {
                const auto notes = allNotes(area);
                QCOMPARE(notes.size(), size_t{1});
                QVERIFY(notes[0].isNamed("GNU"));
                QCOMPARE(notes[0].type, kGnuBuildId);
                QCOMPARE(vectorOf(notes[0].descriptor),
                         (std::vector<uint8_t>{0xaa, 0xbb, 0xcc, 0xdd}));
            }

            const auto symtab = file.sectionNamed(".symtab");
            QVERIFY(symtab);
            const ElfSymbols symbols = file.symbols(*symtab);
            QCOMPARE(symbols.count(), uint64_t{3}); // the undefined symbol, then two
            const Elf64_Sym counter = symbols.entry(2);
            QCOMPARE(symbols.name(counter, 2), std::string_view("counter"));
            QCOMPARE(counter.st_value, uint64_t{0x101000});
            QCOMPARE(counter.st_size, uint64_t{8});
            QCOMPARE(ELF64_ST_TYPE(counter.st_info), STT_OBJECT);
            QCOMPARE(counter.st_shndx, uint16_t{2});
        }
    }

    void fileWithoutTablesHasNoHeadersAndNoSections() {
        // A relocatable object has no program headers; a stripped one may have no sections.
        auto built = elftest::elf64({}, {}, 0, ET_REL);
        put<uint64_t>(built.bytes, offsetof(Elf64_Ehdr, e_shoff), 0);
        const ElfFile file(built.bytes, kPath);
        QVERIFY(file.programHeaders().empty());
        QVERIFY(file.sections().empty());
        QVERIFY(file.noteSegments().empty());
        QVERIFY(file.noteSections().empty());
        QVERIFY(!file.sectionNamed(".text"));
    }

    void truncatedHeaderIsRefused() {
        std::string message = openError({0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB});
        QVERIFY2(contains(message, kPath) && contains(message, "6 bytes") &&
                     contains(message, "too short for the ELF identification (16 bytes)"),
                 message.c_str());
        auto bytes = kernel64().bytes;
        bytes.resize(40);
        message = openError(bytes);
        QVERIFY2(
            contains(message, "the file is 40 bytes, too short for the ELF64 header (64 bytes)"),
            message.c_str());
        bytes = kernel32().bytes;
        bytes.resize(51);
        message = openError(bytes);
        QVERIFY2(contains(message, "too short for the ELF32 header (52 bytes)"), message.c_str());
    }

    void identificationAndHeaderFieldsAreChecked() {
        std::string message = openError({'M', 'Z', 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        QVERIFY2(contains(message, "not an ELF file: it starts with 4d 5a 90 00"), message.c_str());
        const auto withByte = [](size_t offset, uint8_t value) {
            auto bytes = kernel64().bytes;
            bytes[offset] = value;
            return openError(bytes);
        };
        message = withByte(EI_CLASS, 3);
        QVERIFY2(contains(message, "e_ident[EI_CLASS] is 3"), message.c_str());
        message = withByte(EI_DATA, ELFDATA2MSB);
        QVERIFY2(contains(message, "e_ident[EI_DATA] is 2, expected 1 (ELFDATA2LSB)"),
                 message.c_str());
        message = withByte(EI_VERSION, 2);
        QVERIFY2(contains(message, "e_ident[EI_VERSION] is 2"), message.c_str());

        auto bytes = kernel64().bytes;
        put<uint16_t>(bytes, offsetof(Elf64_Ehdr, e_machine), EM_386);
        message = openError(bytes);
        QVERIFY2(contains(message, "e_machine is 3, expected 62 (EM_X86_64) for an ELF64 image"),
                 message.c_str());
        bytes = kernel32().bytes;
        put<uint16_t>(bytes, offsetof(Elf32_Ehdr, e_machine), EM_ARM);
        message = openError(bytes);
        QVERIFY2(contains(message, "e_machine is 40, expected 3 (EM_386)"), message.c_str());
        bytes = kernel64().bytes;
        put<uint32_t>(bytes, offsetof(Elf64_Ehdr, e_version), 7);
        message = openError(bytes);
        QVERIFY2(contains(message, "e_version is 7, expected 1 (EV_CURRENT)"), message.c_str());
    }

    void programHeaderTableOutsideTheFileIsRefused() {
        auto built = kernel64();
        const auto headersError = [&] {
            const ElfFile file(built.bytes, kPath); // the header alone is fine
            return loadError([&] { file.programHeaders(); });
        };
        put<uint64_t>(built.bytes, offsetof(Elf64_Ehdr, e_phoff), built.bytes.size() - 8);
        std::string message = headersError();
        QVERIFY2(contains(message, kPath) && contains(message, "the program header table") &&
                     contains(message, "e_phnum 3, e_phentsize 56") &&
                     contains(message, "extends beyond the end of the file"),
                 message.c_str());
        // An offset that would wrap around when the table's size is added.
        put<uint64_t>(built.bytes, offsetof(Elf64_Ehdr, e_phoff), 0xfffffffffffffff7);
        message = headersError();
        QVERIFY2(contains(message, "e_phoff 0xfffffffffffffff7"), message.c_str());

        built = kernel64();
        put<uint16_t>(built.bytes, offsetof(Elf64_Ehdr, e_phentsize), 32);
        message = headersError();
        QVERIFY2(contains(message, "e_phentsize is 32, expected 56"), message.c_str());
        put<uint16_t>(built.bytes, offsetof(Elf64_Ehdr, e_phnum), PN_XNUM);
        message = headersError();
        QVERIFY2(contains(message, "e_phnum is 0xffff (PN_XNUM)"), message.c_str());
        // The section table is not the program headers' business, nor the other way round.
        QCOMPARE(ElfFile(built.bytes, kPath).sections().size(), size_t{8});
    }

    void sectionTableOutsideTheFileIsRefused() {
        auto built = kernel64();
        const auto sectionsError = [&] {
            const ElfFile file(built.bytes, kPath);
            return loadError([&] { file.sections(); });
        };
        put<uint64_t>(built.bytes, offsetof(Elf64_Ehdr, e_shoff), built.bytes.size() + 0x100);
        std::string message = sectionsError();
        QVERIFY2(contains(message, kPath) &&
                     contains(message, fmt::format("the section header table (e_shoff {:#x}, "
                                                   "e_shnum 8) extends beyond the end of the file "
                                                   "({:#x} bytes)",
                                                   built.bytes.size() + 0x100, built.bytes.size())),
                 message.c_str());
        // The table starts inside the file but its last entry does not fit.
        built = kernel64();
        built.bytes.resize(built.bytes.size() - 1);
        message = sectionsError();
        QVERIFY2(contains(message, "e_shnum 8) extends beyond the end of the file"),
                 message.c_str());
        put<uint64_t>(built.bytes, offsetof(Elf64_Ehdr, e_shoff), UINT64_MAX);
        message = sectionsError();
        QVERIFY2(contains(message, "e_shoff 0xffffffffffffffff"), message.c_str());

        built = kernel64();
        put<uint16_t>(built.bytes, offsetof(Elf64_Ehdr, e_shentsize), 40);
        message = sectionsError();
        QVERIFY2(contains(message, "e_shentsize is 40, expected 64"), message.c_str());
        // Program headers do not depend on the section table.
        QCOMPARE(ElfFile(built.bytes, kPath).programHeaders().size(), size_t{3});
    }

    void offsetsThatOverflowAreRefused() {
        auto built = kernel64();
        // .data's sh_offset so high that sh_offset + sh_size wraps past zero.
        put<uint64_t>(built.bytes, shdr64Field(built, 2, offsetof(Elf64_Shdr, sh_offset)),
                      0xfffffffffffffffc);
        const ElfFile file(built.bytes, kPath);
        const auto data = file.sectionNamed(".data");
        QVERIFY(data);
        std::string message = loadError([&] { file.sectionBytes(*data); });
        QVERIFY2(contains(message, "section 2: sh_offset 0xfffffffffffffffc + sh_size 0x8 "
                                   "extends beyond the end of the file"),
                 message.c_str());

        // A segment whose p_filesz wraps p_offset around.
        Elf64_Phdr segment = file.programHeaders()[0];
        segment.p_filesz = UINT64_MAX;
        message = loadError([&] { file.segmentBytes(segment, 0); });
        QVERIFY2(contains(message, "program header 0: p_offset") &&
                     contains(message, "p_filesz 0xffffffffffffffff extends beyond the end"),
                 message.c_str());

        // A PT_NOTE segment past the end is named by its kind and index.
        built = kernel64();
        put<uint64_t>(built.bytes,
                      built.programHeaderOffset + 2 * sizeof(Elf64_Phdr) +
                          offsetof(Elf64_Phdr, p_offset),
                      UINT64_MAX);
        message = loadError([&] { ElfFile(built.bytes, kPath).noteSegments(); });
        QVERIFY2(contains(message, "PT_NOTE program header 2: p_offset 0xffffffffffffffff"),
                 message.c_str());
    }

    void notesWithOddSizesArePaddedToFourBytes() {
        // Names of 1, 2, 5 and 8 bytes with their NUL, descriptors of 0, 1, 3 and 5 bytes: each
        // part starts on the next 4-byte boundary (gABI "Note Section").
        std::vector<uint8_t> bytes;
        for (const auto& part : {elftest::note("", 1, {}), elftest::note("a", 2, {0x11}),
                                 elftest::note("Linux", 3, {0x21, 0x22, 0x23}),
                                 elftest::note("longname", 4, {0x31, 0x32, 0x33, 0x34, 0x35})})
            bytes.insert(bytes.end(), part.begin(), part.end());
        // The last note's padding is missing: the area ends with its descriptor.
        bytes.resize(bytes.size() - 3);
        const auto notes = allNotes({"SHT_NOTE section 1", bytes, 4});
        QCOMPARE(notes.size(), size_t{4});
        QCOMPARE(notes[0].offset, uint64_t{0});
        QVERIFY(notes[0].isNamed(""));
        QVERIFY(notes[0].descriptor.empty());
        QCOMPARE(notes[1].offset, uint64_t{16}); // 12 + name 1 -> 4
        QVERIFY(notes[1].isNamed("a"));
        QCOMPARE(vectorOf(notes[1].descriptor), (std::vector<uint8_t>{0x11}));
        QCOMPARE(notes[2].offset, uint64_t{36}); // 16 + 12 + name 2 -> 4 + descriptor 1 -> 4
        QVERIFY(notes[2].isNamed("Linux"));
        QVERIFY(!notes[2].isNamed("Linu"));
        QVERIFY(!notes[2].isNamed("Linux2"));
        QCOMPARE(text(notes[2].name), std::string("Linux", 6));
        QCOMPARE(vectorOf(notes[2].descriptor), (std::vector<uint8_t>{0x21, 0x22, 0x23}));
        QCOMPARE(notes[3].offset, uint64_t{60}); // 36 + 12 + name 6 -> 8 + descriptor 3 -> 4
        QVERIFY(notes[3].isNamed("longname"));
        QCOMPARE(notes[3].type, 4u);
        QCOMPARE(vectorOf(notes[3].descriptor),
                 (std::vector<uint8_t>{0x31, 0x32, 0x33, 0x34, 0x35}));
    }

    void notesOfAnEightByteAlignedAreaArePaddedToEight() {
        std::vector<uint8_t> bytes = elftest::note("GNU", 5, {1, 2, 3, 4, 5}, 8);
        const auto second = elftest::note("Xen", 6, {9}, 8);
        bytes.insert(bytes.end(), second.begin(), second.end());
        const auto notes = allNotes({"PT_NOTE program header 3", bytes, 8});
        QCOMPARE(notes.size(), size_t{2});
        QCOMPARE(vectorOf(notes[0].descriptor), (std::vector<uint8_t>{1, 2, 3, 4, 5}));
        // The descriptor starts at 16 (12 + name 4, already 8-aligned), the next note at 24
        // (16 + descriptor 5, aligned up to 8).
        QCOMPARE(notes[0].descriptor.data(), bytes.data() + 16);
        QCOMPARE(notes[1].offset, uint64_t{24});
        QVERIFY(notes[1].isNamed("Xen"));
        QCOMPARE(vectorOf(notes[1].descriptor), (std::vector<uint8_t>{9}));
    }

    void truncatedNotesAreRefused() {
        std::string message = loadError([] {
            allNotes({"PT_NOTE program header 1", std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 0, 0}, 4});
        });
        QVERIFY2(contains(message, kPath) &&
                     contains(message, "PT_NOTE program header 1: the note at offset 0x0 in it is "
                                       "truncated: 8 bytes left, a note header needs 12"),
                 message.c_str());
        // A descriptor size that runs past the area, and one that would overflow 32 bits when
        // padded.
        for (const uint32_t descriptorSize : {8u, 0xffffffffu}) {
            auto bytes = elftest::note("Xen", 18, {1, 2, 3, 4});
            put<uint32_t>(bytes, 4, descriptorSize);
            message = loadError([&] { allNotes({"SHT_NOTE section 5", bytes, 4}); });
            QVERIFY2(contains(message, fmt::format("SHT_NOTE section 5: the note at offset 0x0 in "
                                                   "it is truncated: n_namesz 4 and n_descsz {} "
                                                   "run past the end of its 0x14 bytes",
                                                   descriptorSize)),
                     message.c_str());
        }
        // A name size of 2^32 - 1: padded, it is past the area too.
        auto bytes = elftest::note("Xen", 18, {});
        put<uint32_t>(bytes, 0, 0xffffffffu);
        message = loadError([&] { allNotes({"SHT_NOTE section 5", bytes, 4}); });
        QVERIFY2(contains(message, "n_namesz 4294967295 and n_descsz 0 run past the end"),
                 message.c_str());
    }

    void extendedSectionNumberingIsFollowed() {
        // With e_shnum 0 the count is section 0's sh_size, and with e_shstrndx SHN_XINDEX the
        // name table's index is section 0's sh_link (gABI "Extended Section Numbering").
        auto built = kernel64();
        put<uint16_t>(built.bytes, offsetof(Elf64_Ehdr, e_shnum), 0);
        put<uint16_t>(built.bytes, offsetof(Elf64_Ehdr, e_shstrndx), SHN_XINDEX);
        put<uint64_t>(built.bytes, shdr64Field(built, 0, offsetof(Elf64_Shdr, sh_size)), 8);
        put<uint32_t>(built.bytes, shdr64Field(built, 0, offsetof(Elf64_Shdr, sh_link)),
                      built.sectionNameTableIndex);
        const ElfFile file(built.bytes, kPath);
        QCOMPARE(file.sections().size(), size_t{8});
        QVERIFY(file.sectionNamed(".symtab"));

        put<uint64_t>(built.bytes, shdr64Field(built, 0, offsetof(Elf64_Shdr, sh_size)), 9);
        const std::string message = loadError([&] { ElfFile(built.bytes, kPath).sections(); });
        QVERIFY2(contains(message, "section 0's sh_size 9 for e_shnum 0") &&
                     contains(message, "extends beyond the end of the file"),
                 message.c_str());
    }

    void badSectionNamesAreRefused() {
        auto built = kernel64();
        put<uint16_t>(built.bytes, offsetof(Elf64_Ehdr, e_shstrndx), 8);
        std::string message = loadError([&] { ElfFile(built.bytes, kPath).sectionNamed(".text"); });
        QVERIFY2(contains(message, "e_shstrndx is 8, but the section header table has 8 entries"),
                 message.c_str());
        built = kernel64();
        put<uint32_t>(built.bytes, shdr64Field(built, 1, offsetof(Elf64_Shdr, sh_name)), 0x1000);
        message = loadError([&] { ElfFile(built.bytes, kPath).sectionNamed(".data"); });
        QVERIFY2(contains(message, "section 1: sh_name 0x1000 lies outside the section name "
                                   "string table"),
                 message.c_str());
        // No name table at all: every section is nameless, none is found by name.
        put<uint16_t>(built.bytes, offsetof(Elf64_Ehdr, e_shstrndx), SHN_UNDEF);
        QVERIFY(!ElfFile(built.bytes, kPath).sectionNamed(".data"));
    }

    void badSymbolTablesAreRefused() {
        const auto symbolsError = [](const elftest::BuiltElf& built) {
            return loadError([&] {
                const ElfFile file(built.bytes, kPath);
                const ElfSymbols symbols = file.symbols(*file.sectionNamed(".symtab"));
                for (uint64_t index = 0; index < symbols.count(); ++index)
                    symbols.name(symbols.entry(index), index);
            });
        };
        constexpr unsigned kSymtab = 5;
        auto built = kernel64();
        put<uint64_t>(built.bytes, shdr64Field(built, kSymtab, offsetof(Elf64_Shdr, sh_entsize)),
                      16);
        std::string message = symbolsError(built);
        QVERIFY2(contains(message, "SHT_SYMTAB section 5: sh_entsize is 16, expected 24"),
                 message.c_str());

        built = kernel64();
        put<uint32_t>(built.bytes, shdr64Field(built, kSymtab, offsetof(Elf64_Shdr, sh_link)), 99);
        message = symbolsError(built);
        QVERIFY2(contains(message, "SHT_SYMTAB section 5: sh_link 99 names no section"),
                 message.c_str());
        put<uint32_t>(built.bytes, shdr64Field(built, kSymtab, offsetof(Elf64_Shdr, sh_link)), 1);
        message = symbolsError(built);
        QVERIFY2(contains(message, "sh_link 1 names a section of sh_type 1, not a string table"),
                 message.c_str());

        built = kernel64();
        put<uint64_t>(built.bytes, shdr64Field(built, kSymtab, offsetof(Elf64_Shdr, sh_size)),
                      UINT64_MAX / 24 * 24);
        message = symbolsError(built);
        QVERIFY2(contains(message, "SHT_SYMTAB section 5: sh_offset") &&
                     contains(message, "extends beyond the end of the file"),
                 message.c_str());

        // Symbol 2's st_name points past .strtab.
        built = kernel64();
        const uint64_t symtabOffset = built.sectionOffsets[kSymtab];
        put<uint32_t>(built.bytes, symtabOffset + 2 * sizeof(Elf64_Sym), 0x400);
        message = symbolsError(built);
        QVERIFY2(contains(message, kPath) &&
                     contains(message, "symbol 2: st_name 0x400 lies outside its string table"),
                 message.c_str());
    }
};

QTEST_GUILESS_MAIN(ElfFileTest)
#include "ElfFileTest.moc"
