#pragma once
// kvmscope's one reader of ELF files (System V gABI, chapter 4 "Object Files": "ELF Header",
// "Sections", "String Table", "Symbol Table"; chapter 5 "Program Header", "Note Section"), used by
// the ELF and multiboot loaders (boot/ElfImage.h), the PVH loader's entry note
// (boot/linux/PvhLoader.h) and the debugger's symbols (debug/SymbolTable.h).
//
// It reads a span of bytes that someone else owns (a MappedFile's, a decompressed vmlinux's
// scratch pages) and copies none of it: every view it returns points into that span, which must
// outlive the ElfFile and the views (which do not need the ElfFile itself). Every offset, size and
// count taken from the file is checked against the file's size before a byte is read, in arithmetic
// that cannot overflow; a malformed file is a LoadError naming the file, the field and its value.
//
// The ELF header is checked when the ElfFile is made. The program header table and the section
// header table are checked each time they are asked for, each on its own: a loader reads only
// program headers and must not refuse a kernel for a broken section table it never uses, and a
// symbol file may have no program headers at all.
#include <cstdint>
#include <elf.h>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kvmscope {

// True when `file` starts with the ELF magic, \x7fELF (gABI, "ELF Identification").
bool hasElfMagic(std::span<const uint8_t> file);

// One entry of the section header table, widened to the ELF64 layout whatever the file's class.
struct ElfSection {
    uint32_t index = 0; // in the section header table, for messages
    Elf64_Shdr header{};
};

// A run of notes (gABI "Note Section"): a PT_NOTE segment's or an SHT_NOTE section's bytes.
struct ElfNoteArea {
    std::string where; // "PT_NOTE program header 4" or "SHT_NOTE section 12", for messages
    std::span<const uint8_t> bytes;
    // The boundary, counted from the area's start, on which each descriptor and each note after
    // the first begin: 4 bytes, as the gABI says and every x86 toolchain writes, or 8 where the
    // segment's p_align or the section's sh_addralign is 8 (the GNU property notes of ELF64
    // files).
    uint64_t alignment = 4;
};

struct ElfNote {
    uint64_t offset = 0;                 // of the note's header in its area, for messages
    uint32_t type = 0;                   // n_type; its meaning depends on the name
    std::span<const uint8_t> name;       // n_namesz bytes, the terminating NUL included
    std::span<const uint8_t> descriptor; // n_descsz bytes

    // True when the name is `owner` with its terminating NUL and nothing else, as the gABI
    // writes it (n_namesz counts the NUL).
    bool isNamed(std::string_view owner) const;
};

// The notes of one area, in file order. A class rather than a vector so that a reader looking
// for one note stops at it, as a loader does, and does not read on into the rest.
class ElfNotes {
public:
    ElfNotes(ElfNoteArea area, std::string path) : area_(std::move(area)), path_(std::move(path)) {}

    // The next note, or nullopt after the last. Throws LoadError for a note whose header, name
    // or descriptor runs past the end of the area. The padding after the last descriptor may be
    // missing: the area then simply ends.
    std::optional<ElfNote> next();

private:
    ElfNoteArea area_;
    std::string path_;
    uint64_t position_ = 0;
};

// An SHT_SYMTAB or SHT_DYNSYM section and the string table its sh_link names, both checked to
// lie inside the file.
class ElfSymbols {
public:
    // How many entries the table holds; entry 0 is the undefined symbol (gABI "Symbol Table").
    uint64_t count() const { return count_; }
    // Entry `index` (< count()), widened to the ELF64 layout.
    Elf64_Sym entry(uint64_t index) const;
    // The entry's name: the string table's bytes from st_name up to the first NUL, or up to the
    // table's end when no NUL follows. Throws LoadError for an st_name outside the string table.
    // `index` names the entry in the message.
    std::string_view name(const Elf64_Sym& entry, uint64_t index) const;

private:
    friend class ElfFile;
    ElfSymbols(std::span<const uint8_t> table, std::span<const uint8_t> strings, bool is64,
               std::string path);

    std::span<const uint8_t> table_;
    std::span<const uint8_t> strings_;
    bool is64_;
    std::string path_;
    uint64_t count_;
};

class ElfFile {
public:
    // Checks e_ident (the magic, EI_CLASS 32 or 64, EI_DATA little-endian, EI_VERSION), that the
    // file holds a whole header of its class, e_machine (EM_386 for ELF32, EM_X86_64 for ELF64)
    // and e_version. e_ehsize is not checked: nothing is read by it, the header's size follows
    // from the class. `path` names the file in errors. Throws LoadError(path, ...).
    ElfFile(std::span<const uint8_t> bytes, std::string path);

    const std::string& path() const { return path_; }
    std::span<const uint8_t> bytes() const { return bytes_; }
    bool is64() const { return is64_; }
    uint16_t type() const { return header_.e_type; }
    uint16_t machine() const { return header_.e_machine; }
    uint64_t entry() const { return header_.e_entry; }
    // e_phnum as the header has it (PN_XNUM included), before programHeaders() checks the table.
    uint16_t programHeaderCount() const { return header_.e_phnum; }

    // The program header table, entry i at index i, widened to the ELF64 layout; empty when
    // e_phnum is 0. Throws LoadError for e_phnum PN_XNUM (extended numbering is not supported),
    // an e_phentsize that is not the class's, or a table that runs past the end of the file.
    std::vector<Elf64_Phdr> programHeaders() const;
    // The segment's bytes in the file, [p_offset, p_offset + p_filesz). Throws LoadError when
    // they run past the end of the file; `index` names the program header in the message.
    std::span<const uint8_t> segmentBytes(const Elf64_Phdr& header, unsigned index) const;

    // The section header table; empty when e_shoff is 0 (no table). With e_shnum 0 and e_shoff
    // set, the count is section 0's sh_size (gABI "Extended Section Numbering"). Throws LoadError
    // for an e_shentsize that is not the class's or a table that runs past the end of the file.
    std::vector<ElfSection> sections() const;
    // The section's bytes, [sh_offset, sh_offset + sh_size); empty for SHT_NOBITS, which takes no
    // room in the file. Throws LoadError when they run past the end of the file.
    std::span<const uint8_t> sectionBytes(const ElfSection& section) const;
    // The section's name from the section name string table (e_shstrndx); empty when the file
    // has none. Throws LoadError for an e_shstrndx past the table or an sh_name past the strings.
    std::string_view sectionName(const ElfSection& section) const;
    // The first section called `name`, or nullopt.
    std::optional<ElfSection> sectionNamed(std::string_view name) const;

    // The bytes of every PT_NOTE segment, and of every SHT_NOTE section, each checked to lie
    // inside the file. Walk each with ElfNotes.
    std::vector<ElfNoteArea> noteSegments() const;
    std::vector<ElfNoteArea> noteSections() const;

    // The symbol table `section` (SHT_SYMTAB or SHT_DYNSYM; std::invalid_argument for another
    // type) with its string table. Throws LoadError for an sh_entsize that is not the class's
    // symbol size, an sh_link that names no string table, or either table running past the end
    // of the file.
    ElfSymbols symbols(const ElfSection& section) const;

private:
    // `bytes_`[offset, offset + size), or a LoadError "`where`: `offsetField` ... + `sizeField`
    // ... extends beyond the end of the file".
    std::span<const uint8_t> fileBytes(uint64_t offset, uint64_t size, const std::string& where,
                                       const char* offsetField, const char* sizeField) const;
    ElfSection readSection(uint64_t tableOffset, uint32_t index) const;

    std::span<const uint8_t> bytes_;
    std::string path_;
    bool is64_ = false;
    Elf64_Ehdr header_{}; // either class's header, widened to the ELF64 layout
};

} // namespace kvmscope
