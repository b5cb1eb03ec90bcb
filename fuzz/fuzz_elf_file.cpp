// common/ElfFile.h, kvmscope's one ELF reader, on any bytes: every view it offers is asked for,
// each whatever the one before threw, and every byte range it hands out must lie inside the input
// (a note's name and descriptor inside its area). Then its users that take bytes rather than a
// path: boot::parseElf, boot::findPvhEntryNote and debug::SymbolTable::fromElf.
// Input: the file.
#include "FuzzSupport.h"
#include "boot/ElfImage.h"
#include "boot/linux/PvhLoader.h"
#include "common/ElfFile.h"
#include "common/Error.h"
#include "debug/SymbolTable.h"

namespace {

using namespace kvmscope;

const std::string kPath = "fuzz.elf";

// A LoadError (an InputError) is how the reader refuses a malformed file; any other way out is a
// finding.
template <typename Function> void refusable(const char* what, Function&& function) {
    try {
        function();
    } catch (const InputError&) {
    } catch (const std::exception& error) {
        fuzz::failOnException(what, error);
    }
}

bool inside(const void* data, size_t size, std::span<const uint8_t> whole) {
    const auto* first = static_cast<const uint8_t*>(data);
    return size == 0 || (first >= whole.data() && size <= whole.size() &&
                         size_t(first - whole.data()) <= whole.size() - size);
}

void checkInside(std::span<const uint8_t> part, std::span<const uint8_t> whole, const char* what) {
    fuzz::check(inside(part.data(), part.size(), whole), what);
}

void readNotes(const std::vector<ElfNoteArea>& areas, std::span<const uint8_t> file) {
    for (const ElfNoteArea& area : areas) {
        checkInside(area.bytes, file, "a note area lies outside the file");
        refusable("ElfNotes::next", [&] {
            ElfNotes notes(area, kPath);
            while (const auto note = notes.next()) {
                checkInside(note->name, area.bytes, "a note's name lies outside its area");
                checkInside(note->descriptor, area.bytes,
                            "a note's descriptor lies outside its area");
                note->isNamed("Xen");
            }
        });
    }
}

void readSymbols(const ElfFile& elf, const ElfSection& section, std::span<const uint8_t> file) {
    const ElfSymbols symbols = elf.symbols(section);
    for (uint64_t index = 0; index < symbols.count(); ++index) {
        const Elf64_Sym symbol = symbols.entry(index);
        refusable("ElfSymbols::name", [&] {
            const std::string_view name = symbols.name(symbol, index);
            fuzz::check(inside(name.data(), name.size(), file),
                        "a symbol's name lies outside the file");
        });
    }
}

void readEveryView(const ElfFile& elf, std::span<const uint8_t> file) {
    refusable("ElfFile::programHeaders", [&] {
        const std::vector<Elf64_Phdr> headers = elf.programHeaders();
        for (unsigned index = 0; index < headers.size(); ++index)
            refusable("ElfFile::segmentBytes", [&] {
                checkInside(elf.segmentBytes(headers[index], index), file,
                            "a segment lies outside the file");
            });
    });
    refusable("ElfFile::sections", [&] {
        for (const ElfSection& section : elf.sections()) {
            refusable("ElfFile::sectionBytes", [&] {
                checkInside(elf.sectionBytes(section), file, "a section lies outside the file");
            });
            refusable("ElfFile::sectionName", [&] {
                const std::string_view name = elf.sectionName(section);
                fuzz::check(inside(name.data(), name.size(), file),
                            "a section's name lies outside the file");
            });
            if (section.header.sh_type == SHT_SYMTAB || section.header.sh_type == SHT_DYNSYM)
                refusable("ElfFile::symbols", [&] { readSymbols(elf, section, file); });
        }
    });
    refusable("ElfFile::sectionNamed", [&] {
        if (const auto symtab = elf.sectionNamed(".symtab"))
            fuzz::check(symtab->index < elf.sections().size(),
                        "sectionNamed gave a section the table does not have");
    });
    refusable("ElfFile::noteSegments", [&] { readNotes(elf.noteSegments(), file); });
    refusable("ElfFile::noteSections", [&] { readNotes(elf.noteSections(), file); });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> file(data, size);
    refusable("ElfFile", [&] {
        const ElfFile elf(file, kPath);
        readEveryView(elf, file);
        refusable("boot::parseElf", [&] { boot::parseElf(elf); });
        refusable("boot::findPvhEntryNote", [&] { boot::findPvhEntryNote(elf); });
    });
    refusable("debug::SymbolTable::fromElf", [&] { debug::SymbolTable::fromElf(file, kPath); });
    return 0;
}
