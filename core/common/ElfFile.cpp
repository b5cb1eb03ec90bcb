#include "common/ElfFile.h"

#include "common/Error.h"

#include <cstring>
#include <fmt/format.h>
#include <stdexcept>

namespace kvmscope {
namespace {

// gABI "Note Section": n_namesz, n_descsz and n_type, four bytes each, then the name and the
// descriptor.
constexpr uint64_t kNoteHeaderSize = 12;

uint64_t alignUp(uint64_t value, uint64_t alignment) {
    return (value + alignment - 1) & ~(alignment - 1);
}

// The callers check that [offset, offset + sizeof(T)) lies inside `bytes`; memcpy because ELF
// structures in a file need not be aligned in memory.
template <typename T> T readAt(std::span<const uint8_t> bytes, uint64_t offset) {
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof value);
    return value;
}

// The ELF32 structures widened to the ELF64 ones: same fields, wider types (gABI, "Data
// Representation"), so that readers handle one layout.
Elf64_Ehdr widen(const Elf32_Ehdr& header) {
    Elf64_Ehdr wide{};
    std::memcpy(wide.e_ident, header.e_ident, EI_NIDENT);
    wide.e_type = header.e_type;
    wide.e_machine = header.e_machine;
    wide.e_version = header.e_version;
    wide.e_entry = header.e_entry;
    wide.e_phoff = header.e_phoff;
    wide.e_shoff = header.e_shoff;
    wide.e_flags = header.e_flags;
    wide.e_ehsize = header.e_ehsize;
    wide.e_phentsize = header.e_phentsize;
    wide.e_phnum = header.e_phnum;
    wide.e_shentsize = header.e_shentsize;
    wide.e_shnum = header.e_shnum;
    wide.e_shstrndx = header.e_shstrndx;
    return wide;
}

Elf64_Phdr widen(const Elf32_Phdr& header) {
    return {header.p_type,  header.p_flags,  header.p_offset, header.p_vaddr,
            header.p_paddr, header.p_filesz, header.p_memsz,  header.p_align};
}

Elf64_Shdr widen(const Elf32_Shdr& header) {
    return {header.sh_name,      header.sh_type,   header.sh_flags, header.sh_addr,
            header.sh_offset,    header.sh_size,   header.sh_link,  header.sh_info,
            header.sh_addralign, header.sh_entsize};
}

Elf64_Sym widen(const Elf32_Sym& symbol) {
    return {symbol.st_name,  symbol.st_info,  symbol.st_other,
            symbol.st_shndx, symbol.st_value, symbol.st_size};
}

// The string at `offset` in a string table (gABI "String Table"): up to its NUL, or up to the
// table's end when the table lacks the final NUL the gABI promises. The caller checks `offset`.
std::string_view stringAt(std::span<const uint8_t> table, uint64_t offset) {
    const auto* start = reinterpret_cast<const char*>(table.data() + offset);
    return {start, ::strnlen(start, table.size() - offset)};
}

} // namespace

bool hasElfMagic(std::span<const uint8_t> file) {
    return file.size() >= SELFMAG && std::memcmp(file.data(), ELFMAG, SELFMAG) == 0;
}

bool ElfNote::isNamed(std::string_view owner) const {
    return name.size() == owner.size() + 1 &&
           std::memcmp(name.data(), owner.data(), owner.size()) == 0 && name.back() == 0;
}

std::optional<ElfNote> ElfNotes::next() {
    const std::span<const uint8_t> bytes = area_.bytes;
    if (position_ >= bytes.size())
        return std::nullopt;
    if (bytes.size() - position_ < kNoteHeaderSize)
        throw LoadError(path_, fmt::format("{}: the note at offset {:#x} in it is truncated: "
                                           "{} bytes left, a note header needs {}",
                                           area_.where, position_, bytes.size() - position_,
                                           kNoteHeaderSize));
    const uint64_t nameSize = readAt<uint32_t>(bytes, position_);
    const uint64_t descriptorSize = readAt<uint32_t>(bytes, position_ + 4);
    const uint32_t type = readAt<uint32_t>(bytes, position_ + 8);
    // The descriptor and the next note start on the area's alignment, counted from the area's
    // start, as readers of 8-byte aligned notes (GNU property notes) count it. With 4-byte
    // alignment that is the same as padding n_namesz and n_descsz to 4. Both sizes are 32-bit
    // and the area lies in memory: none of these sums can overflow.
    const uint64_t name = position_ + kNoteHeaderSize;
    const uint64_t descriptor = alignUp(name + nameSize, area_.alignment);
    if (descriptor > bytes.size() || descriptorSize > bytes.size() - descriptor)
        throw LoadError(path_, fmt::format("{}: the note at offset {:#x} in it is truncated: "
                                           "n_namesz {} and n_descsz {} run past the end of its "
                                           "{:#x} bytes",
                                           area_.where, position_, nameSize, descriptorSize,
                                           bytes.size()));
    const ElfNote note{position_, type, bytes.subspan(name, nameSize),
                       bytes.subspan(descriptor, descriptorSize)};
    position_ = alignUp(descriptor + descriptorSize, area_.alignment);
    return note;
}

ElfSymbols::ElfSymbols(std::span<const uint8_t> table, std::span<const uint8_t> strings, bool is64,
                       std::string path)
    : table_(table), strings_(strings), is64_(is64), path_(std::move(path)),
      count_(table.size() / (is64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym))) {}

Elf64_Sym ElfSymbols::entry(uint64_t index) const {
    if (index >= count_)
        throw std::out_of_range(fmt::format("symbol {} of {}", index, count_));
    return is64_ ? readAt<Elf64_Sym>(table_, index * sizeof(Elf64_Sym))
                 : widen(readAt<Elf32_Sym>(table_, index * sizeof(Elf32_Sym)));
}

std::string_view ElfSymbols::name(const Elf64_Sym& entry, uint64_t index) const {
    if (entry.st_name >= strings_.size())
        throw LoadError(path_, fmt::format("symbol {}: st_name {:#x} lies outside its string "
                                           "table ({:#x} bytes)",
                                           index, entry.st_name, strings_.size()));
    return stringAt(strings_, entry.st_name);
}

ElfFile::ElfFile(std::span<const uint8_t> bytes, std::string path)
    : bytes_(bytes), path_(std::move(path)) {
    // gABI "ELF Identification".
    if (bytes.size() < EI_NIDENT)
        throw LoadError(path_, fmt::format("the file is {} bytes, too short for the ELF "
                                           "identification ({} bytes)",
                                           bytes.size(), EI_NIDENT));
    if (!hasElfMagic(bytes))
        throw LoadError(path_, fmt::format("not an ELF file: it starts with {:02x} {:02x} {:02x} "
                                           "{:02x}, not 7f 45 4c 46 (\\x7fELF)",
                                           bytes[0], bytes[1], bytes[2], bytes[3]));
    const uint8_t elfClass = bytes[EI_CLASS];
    if (elfClass != ELFCLASS32 && elfClass != ELFCLASS64)
        throw LoadError(path_, fmt::format("e_ident[EI_CLASS] is {}, expected 1 (ELFCLASS32) or "
                                           "2 (ELFCLASS64)",
                                           elfClass));
    if (bytes[EI_DATA] != ELFDATA2LSB)
        throw LoadError(path_, fmt::format("e_ident[EI_DATA] is {}, expected 1 (ELFDATA2LSB): "
                                           "x86 files are little-endian",
                                           bytes[EI_DATA]));
    if (bytes[EI_VERSION] != EV_CURRENT)
        throw LoadError(path_, fmt::format("e_ident[EI_VERSION] is {}, expected 1 (EV_CURRENT)",
                                           bytes[EI_VERSION]));
    is64_ = elfClass == ELFCLASS64;

    // gABI "ELF Header".
    const size_t headerSize = is64_ ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    if (bytes.size() < headerSize)
        throw LoadError(path_, fmt::format("the file is {} bytes, too short for the ELF{} header "
                                           "({} bytes)",
                                           bytes.size(), is64_ ? 64 : 32, headerSize));
    header_ = is64_ ? readAt<Elf64_Ehdr>(bytes, 0) : widen(readAt<Elf32_Ehdr>(bytes, 0));
    // The x86 psABIs: ELF32 files are EM_386 (i386 psABI), ELF64 files EM_X86_64 (x86-64
    // psABI). kvmscope runs x86 guests only, so anything else is someone else's file.
    const uint16_t expectedMachine = is64_ ? EM_X86_64 : EM_386;
    if (header_.e_machine != expectedMachine)
        throw LoadError(path_, fmt::format("e_machine is {}, expected {} ({}) for an ELF{} image",
                                           header_.e_machine, expectedMachine,
                                           is64_ ? "EM_X86_64" : "EM_386", is64_ ? 64 : 32));
    if (header_.e_version != EV_CURRENT)
        throw LoadError(path_,
                        fmt::format("e_version is {}, expected 1 (EV_CURRENT)", header_.e_version));
}

std::span<const uint8_t> ElfFile::fileBytes(uint64_t offset, uint64_t size,
                                            const std::string& where, const char* offsetField,
                                            const char* sizeField) const {
    if (offset > bytes_.size() || size > bytes_.size() - offset)
        throw LoadError(path_,
                        fmt::format("{}: {} {:#x} + {} {:#x} extends beyond the end of the "
                                    "file ({:#x} bytes)",
                                    where, offsetField, offset, sizeField, size, bytes_.size()));
    return bytes_.subspan(offset, size);
}

std::vector<Elf64_Phdr> ElfFile::programHeaders() const {
    const uint16_t count = header_.e_phnum;
    if (count == 0)
        return {};
    // gABI "Extended Program Header Numbering" keeps the real count in section 0's sh_info; only
    // core dumps have that many program headers, never a kernel.
    if (count == PN_XNUM)
        throw LoadError(path_, fmt::format("e_phnum is {:#x} (PN_XNUM): extended program header "
                                           "numbering is not supported",
                                           count));
    const size_t entrySize = is64_ ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if (header_.e_phentsize != entrySize)
        throw LoadError(
            path_, fmt::format("e_phentsize is {}, expected {}", header_.e_phentsize, entrySize));
    const uint64_t tableSize = uint64_t{count} * entrySize; // at most 65534 * 56
    if (header_.e_phoff > bytes_.size() || tableSize > bytes_.size() - header_.e_phoff)
        throw LoadError(path_,
                        fmt::format("the program header table (e_phoff {:#x}, e_phnum {}, "
                                    "e_phentsize {}) extends beyond the end of the file "
                                    "({:#x} bytes)",
                                    header_.e_phoff, count, header_.e_phentsize, bytes_.size()));
    std::vector<Elf64_Phdr> headers;
    headers.reserve(count);
    for (uint64_t index = 0; index < count; ++index) {
        const uint64_t offset = header_.e_phoff + index * entrySize;
        headers.push_back(is64_ ? readAt<Elf64_Phdr>(bytes_, offset)
                                : widen(readAt<Elf32_Phdr>(bytes_, offset)));
    }
    return headers;
}

std::span<const uint8_t> ElfFile::segmentBytes(const Elf64_Phdr& header, unsigned index) const {
    return fileBytes(header.p_offset, header.p_filesz, fmt::format("program header {}", index),
                     "p_offset", "p_filesz");
}

ElfSection ElfFile::readSection(uint64_t tableOffset, uint32_t index) const {
    const uint64_t offset =
        tableOffset + uint64_t{index} * (is64_ ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr));
    return {index,
            is64_ ? readAt<Elf64_Shdr>(bytes_, offset) : widen(readAt<Elf32_Shdr>(bytes_, offset))};
}

std::vector<ElfSection> ElfFile::sections() const {
    const uint64_t tableOffset = header_.e_shoff;
    if (tableOffset == 0)
        return {}; // gABI: "If the file has no section header table, this member holds zero."
    const size_t entrySize = is64_ ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
    if (header_.e_shentsize != entrySize)
        throw LoadError(
            path_, fmt::format("e_shentsize is {}, expected {}", header_.e_shentsize, entrySize));
    const uint64_t available =
        tableOffset > bytes_.size() ? 0 : (bytes_.size() - tableOffset) / entrySize;
    uint64_t count = header_.e_shnum;
    std::string countField = fmt::format("e_shnum {}", count);
    if (count == 0) {
        // gABI "Extended Section Numbering": with SHN_LORESERVE (0xff00) sections or more,
        // e_shnum is 0 and section 0's sh_size holds the count.
        if (available == 0)
            throw LoadError(path_, fmt::format("the section header table (e_shoff {:#x}, e_shnum "
                                               "0: the count is in section 0) extends beyond the "
                                               "end of the file ({:#x} bytes)",
                                               tableOffset, bytes_.size()));
        count = readSection(tableOffset, 0).header.sh_size;
        countField = fmt::format("section 0's sh_size {} for e_shnum 0", count);
        // Section indexes (sh_link, st_shndx's extension) are 32-bit words.
        if (count > UINT32_MAX)
            throw LoadError(path_, fmt::format("section 0's sh_size {} (the section count, e_shnum "
                                               "being 0) is more than 32-bit indexes can name",
                                               count));
    }
    if (count > available)
        throw LoadError(path_, fmt::format("the section header table (e_shoff {:#x}, {}) extends "
                                           "beyond the end of the file ({:#x} bytes)",
                                           tableOffset, countField, bytes_.size()));
    std::vector<ElfSection> sections;
    sections.reserve(count);
    for (uint64_t index = 0; index < count; ++index)
        sections.push_back(readSection(tableOffset, static_cast<uint32_t>(index)));
    return sections;
}

std::span<const uint8_t> ElfFile::sectionBytes(const ElfSection& section) const {
    // gABI "Sections", SHT_NOBITS: "occupies no space in the file".
    if (section.header.sh_type == SHT_NOBITS)
        return {};
    return fileBytes(section.header.sh_offset, section.header.sh_size,
                     fmt::format("section {}", section.index), "sh_offset", "sh_size");
}

namespace {

// The section name string table's bytes, or an empty span when the file has none.
std::span<const uint8_t> sectionNameTable(const ElfFile& file, uint16_t nameTableIndex,
                                          const std::vector<ElfSection>& sections) {
    uint64_t index = nameTableIndex;
    // With no section header table e_shstrndx means nothing (a stripper that drops the table may
    // leave it as it was).
    if (index == SHN_UNDEF || sections.empty())
        return {};
    // gABI "Extended Section Numbering": an index of SHN_LORESERVE or more is in section 0's
    // sh_link, and e_shstrndx holds SHN_XINDEX.
    if (index == SHN_XINDEX)
        index = sections.front().header.sh_link;
    if (index >= sections.size())
        throw LoadError(file.path(), fmt::format("e_shstrndx is {}, but the section header table "
                                                 "has {} entries",
                                                 index, sections.size()));
    return file.sectionBytes(sections[index]);
}

std::string_view nameIn(const ElfFile& file, std::span<const uint8_t> names,
                        const ElfSection& section) {
    if (names.empty())
        return {};
    if (section.header.sh_name >= names.size())
        throw LoadError(file.path(),
                        fmt::format("section {}: sh_name {:#x} lies outside the "
                                    "section name string table ({:#x} bytes)",
                                    section.index, section.header.sh_name, names.size()));
    return stringAt(names, section.header.sh_name);
}

} // namespace

std::string_view ElfFile::sectionName(const ElfSection& section) const {
    return nameIn(*this, sectionNameTable(*this, header_.e_shstrndx, sections()), section);
}

std::optional<ElfSection> ElfFile::sectionNamed(std::string_view name) const {
    const std::vector<ElfSection> all = sections();
    const std::span<const uint8_t> names = sectionNameTable(*this, header_.e_shstrndx, all);
    for (const ElfSection& section : all)
        if (nameIn(*this, names, section) == name)
            return section;
    return std::nullopt;
}

std::vector<ElfNoteArea> ElfFile::noteSegments() const {
    std::vector<ElfNoteArea> areas;
    const std::vector<Elf64_Phdr> headers = programHeaders();
    for (unsigned index = 0; index < headers.size(); ++index) {
        const Elf64_Phdr& header = headers[index];
        if (header.p_type != PT_NOTE)
            continue;
        std::string where = fmt::format("PT_NOTE program header {}", index);
        const auto bytes =
            fileBytes(header.p_offset, header.p_filesz, where, "p_offset", "p_filesz");
        areas.push_back({std::move(where), bytes, header.p_align == 8 ? uint64_t{8} : 4});
    }
    return areas;
}

std::vector<ElfNoteArea> ElfFile::noteSections() const {
    std::vector<ElfNoteArea> areas;
    for (const ElfSection& section : sections()) {
        if (section.header.sh_type != SHT_NOTE)
            continue;
        std::string where = fmt::format("SHT_NOTE section {}", section.index);
        const auto bytes = fileBytes(section.header.sh_offset, section.header.sh_size, where,
                                     "sh_offset", "sh_size");
        areas.push_back(
            {std::move(where), bytes, section.header.sh_addralign == 8 ? uint64_t{8} : 4});
    }
    return areas;
}

ElfSymbols ElfFile::symbols(const ElfSection& section) const {
    if (section.header.sh_type != SHT_SYMTAB && section.header.sh_type != SHT_DYNSYM)
        throw std::invalid_argument(fmt::format("ElfFile::symbols: section {} has sh_type {}, "
                                                "not SHT_SYMTAB or SHT_DYNSYM",
                                                section.index, section.header.sh_type));
    const std::string where = fmt::format(
        "{} section {}", section.header.sh_type == SHT_SYMTAB ? "SHT_SYMTAB" : "SHT_DYNSYM",
        section.index);
    const size_t entrySize = is64_ ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
    if (section.header.sh_entsize != entrySize)
        throw LoadError(path_, fmt::format("{}: sh_entsize is {}, expected {}", where,
                                           section.header.sh_entsize, entrySize));
    const auto table =
        fileBytes(section.header.sh_offset, section.header.sh_size, where, "sh_offset", "sh_size");
    // gABI "Sections", sh_link of SHT_SYMTAB and SHT_DYNSYM: "The section header index of the
    // associated string table."
    const std::vector<ElfSection> all = sections();
    const uint32_t link = section.header.sh_link;
    if (link >= all.size())
        throw LoadError(path_, fmt::format("{}: sh_link {} names no section (the section header "
                                           "table has {} entries)",
                                           where, link, all.size()));
    const ElfSection& strings = all[link];
    if (strings.header.sh_type != SHT_STRTAB)
        throw LoadError(path_, fmt::format("{}: sh_link {} names a section of sh_type {}, not a "
                                           "string table (SHT_STRTAB, 3)",
                                           where, link, strings.header.sh_type));
    return ElfSymbols(table, sectionBytes(strings), is64_, path_);
}

} // namespace kvmscope
