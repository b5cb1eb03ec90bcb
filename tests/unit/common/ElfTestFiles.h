#pragma once
// ELF files with program headers, sections, notes and symbols, built from <elf.h> structures for
// the tests of common/ElfFile.h and its users. The layout is the one GNU ld writes: the header,
// the program headers, each section's bytes, then the section header table, with the section
// name string table (.shstrtab) as the last section. Header-only so each test stays one file plus
// this.
#include <cstdint>
#include <cstring>
#include <elf.h>
#include <string>
#include <vector>

namespace elftest {

struct SectionSpec {
    std::string name{};
    uint32_t type = SHT_PROGBITS;
    std::vector<uint8_t> bytes{}; // nothing for SHT_NOBITS: nobitsSize is its sh_size
    uint64_t nobitsSize = 0;
    uint32_t link = 0;
    uint64_t entrySize = 0;
    uint64_t alignment = 1;
};

// A segment whose bytes are section `section`'s (its p_offset and p_filesz), loaded at `address`.
struct SegmentSpec {
    uint32_t type = PT_LOAD;
    uint32_t section = 0; // index into the built file's sections (1 is the first spec)
    uint64_t address = 0; // p_vaddr and p_paddr
    uint64_t alignment = 4;
};

struct BuiltElf {
    std::vector<uint8_t> bytes;
    uint64_t programHeaderOffset = 0;
    uint64_t sectionHeaderOffset = 0;
    std::vector<uint64_t> sectionOffsets; // file offset of each section's bytes, 0 for the null
    uint32_t sectionNameTableIndex = 0;
};

template <typename T> void put(std::vector<uint8_t>& bytes, uint64_t offset, const T& value) {
    if (bytes.size() < offset + sizeof value)
        bytes.resize(offset + sizeof value);
    std::memcpy(bytes.data() + offset, &value, sizeof value);
}

template <typename T> T get(const std::vector<uint8_t>& bytes, uint64_t offset) {
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof value);
    return value;
}

inline uint64_t alignUp(uint64_t value, uint64_t alignment) {
    return (value + alignment - 1) / alignment * alignment;
}

// One note as the gABI lays it out: the 12-byte header, then the name (with its NUL) and the
// descriptor, each padded to `alignment`.
inline std::vector<uint8_t> note(const std::string& name, uint32_t type,
                                 const std::vector<uint8_t>& descriptor, uint64_t alignment = 4) {
    std::vector<uint8_t> bytes;
    put<uint32_t>(bytes, 0, static_cast<uint32_t>(name.size() + 1));
    put<uint32_t>(bytes, 4, static_cast<uint32_t>(descriptor.size()));
    put<uint32_t>(bytes, 8, type);
    bytes.insert(bytes.end(), name.begin(), name.end());
    bytes.resize(alignUp(bytes.size() + 1, alignment), 0);
    bytes.insert(bytes.end(), descriptor.begin(), descriptor.end());
    bytes.resize(alignUp(bytes.size(), alignment), 0);
    return bytes;
}

template <typename Ehdr, typename Phdr, typename Shdr>
BuiltElf buildElf(uint8_t elfClass, uint16_t machine, uint16_t type, uint64_t entry,
                  const std::vector<SegmentSpec>& segments, std::vector<SectionSpec> sections) {
    // .shstrtab: every name, then its own.
    std::vector<uint8_t> names{0};
    std::vector<uint32_t> nameOffsets;
    sections.push_back({.name = ".shstrtab", .type = SHT_STRTAB});
    for (const SectionSpec& section : sections) {
        nameOffsets.push_back(static_cast<uint32_t>(names.size()));
        names.insert(names.end(), section.name.begin(), section.name.end());
        names.push_back(0);
    }
    sections.back().bytes = names;

    BuiltElf file;
    file.programHeaderOffset = sizeof(Ehdr);
    uint64_t offset = sizeof(Ehdr) + segments.size() * sizeof(Phdr);
    file.sectionOffsets.push_back(0);
    std::vector<uint8_t>& bytes = file.bytes;
    bytes.resize(offset, 0);
    for (const SectionSpec& section : sections) {
        offset = alignUp(offset, section.alignment ? section.alignment : 1);
        file.sectionOffsets.push_back(offset);
        if (section.type == SHT_NOBITS)
            continue;
        bytes.resize(offset, 0);
        bytes.insert(bytes.end(), section.bytes.begin(), section.bytes.end());
        offset = bytes.size();
    }
    file.sectionHeaderOffset = alignUp(offset, 8);
    file.sectionNameTableIndex = static_cast<uint32_t>(sections.size());

    std::vector<Shdr> headers(sections.size() + 1); // entry 0 is the null section
    for (size_t i = 0; i < sections.size(); ++i) {
        const SectionSpec& spec = sections[i];
        Shdr& header = headers[i + 1];
        header.sh_name = nameOffsets[i];
        header.sh_type = spec.type;
        header.sh_offset = static_cast<decltype(header.sh_offset)>(file.sectionOffsets[i + 1]);
        header.sh_size = static_cast<decltype(header.sh_size)>(
            spec.type == SHT_NOBITS ? spec.nobitsSize : spec.bytes.size());
        header.sh_link = spec.link;
        header.sh_addralign = static_cast<decltype(header.sh_addralign)>(spec.alignment);
        header.sh_entsize = static_cast<decltype(header.sh_entsize)>(spec.entrySize);
    }
    for (size_t i = 0; i < headers.size(); ++i)
        put(bytes, file.sectionHeaderOffset + i * sizeof(Shdr), headers[i]);

    for (size_t i = 0; i < segments.size(); ++i) {
        const SegmentSpec& spec = segments[i];
        const Shdr& section = headers[spec.section];
        Phdr header{};
        header.p_type = spec.type;
        header.p_flags = PF_R;
        header.p_offset = section.sh_offset;
        header.p_vaddr = static_cast<decltype(header.p_vaddr)>(spec.address);
        header.p_paddr = static_cast<decltype(header.p_paddr)>(spec.address);
        header.p_filesz = section.sh_type == SHT_NOBITS ? 0 : section.sh_size;
        header.p_memsz = section.sh_size;
        header.p_align = static_cast<decltype(header.p_align)>(spec.alignment);
        put(bytes, file.programHeaderOffset + i * sizeof(Phdr), header);
    }

    Ehdr header{};
    std::memcpy(header.e_ident, ELFMAG, SELFMAG);
    header.e_ident[EI_CLASS] = elfClass;
    header.e_ident[EI_DATA] = ELFDATA2LSB;
    header.e_ident[EI_VERSION] = EV_CURRENT;
    header.e_type = type;
    header.e_machine = machine;
    header.e_version = EV_CURRENT;
    header.e_entry = static_cast<decltype(header.e_entry)>(entry);
    header.e_phoff = segments.empty() ? 0 : sizeof(Ehdr);
    header.e_shoff = static_cast<decltype(header.e_shoff)>(file.sectionHeaderOffset);
    header.e_ehsize = sizeof(Ehdr);
    header.e_phentsize = segments.empty() ? 0 : sizeof(Phdr);
    header.e_phnum = static_cast<uint16_t>(segments.size());
    header.e_shentsize = sizeof(Shdr);
    header.e_shnum = static_cast<uint16_t>(headers.size());
    header.e_shstrndx = static_cast<uint16_t>(file.sectionNameTableIndex);
    put(bytes, 0, header);
    return file;
}

inline BuiltElf elf64(const std::vector<SegmentSpec>& segments,
                      const std::vector<SectionSpec>& sections, uint64_t entry = 0x100000,
                      uint16_t type = ET_EXEC) {
    return buildElf<Elf64_Ehdr, Elf64_Phdr, Elf64_Shdr>(ELFCLASS64, EM_X86_64, type, entry,
                                                        segments, sections);
}

inline BuiltElf elf32(const std::vector<SegmentSpec>& segments,
                      const std::vector<SectionSpec>& sections, uint64_t entry = 0x100000,
                      uint16_t type = ET_EXEC) {
    return buildElf<Elf32_Ehdr, Elf32_Phdr, Elf32_Shdr>(ELFCLASS32, EM_386, type, entry, segments,
                                                        sections);
}

struct SymbolSpec {
    std::string name{};
    uint64_t value = 0;
    uint64_t size = 0;
    unsigned char type = STT_FUNC;
    uint16_t section = 1; // st_shndx
};

// A .symtab (linked to the section at `stringTableIndex`) and its .strtab, entry 0 the undefined
// symbol as the gABI requires.
template <typename Sym>
std::vector<SectionSpec> symbolSections(const std::vector<SymbolSpec>& symbols,
                                        uint32_t stringTableIndex) {
    std::vector<uint8_t> strings{0};
    std::vector<uint8_t> table(sizeof(Sym), 0);
    for (const SymbolSpec& spec : symbols) {
        Sym symbol{};
        symbol.st_name = static_cast<uint32_t>(strings.size());
        symbol.st_value = static_cast<decltype(symbol.st_value)>(spec.value);
        symbol.st_size = static_cast<decltype(symbol.st_size)>(spec.size);
        symbol.st_info = static_cast<unsigned char>(STB_GLOBAL << 4 | spec.type);
        symbol.st_shndx = spec.section;
        put(table, table.size(), symbol);
        strings.insert(strings.end(), spec.name.begin(), spec.name.end());
        strings.push_back(0);
    }
    return {{.name = ".symtab",
             .type = SHT_SYMTAB,
             .bytes = table,
             .link = stringTableIndex,
             .entrySize = sizeof(Sym),
             .alignment = 8},
            {.name = ".strtab", .type = SHT_STRTAB, .bytes = strings}};
}

} // namespace elftest
