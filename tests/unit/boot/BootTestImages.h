#pragma once
// Small boot images built byte by byte in memory for the boot loader tests: ELF32/ELF64
// executables from <elf.h> structures, Multiboot 1 headers (Multiboot Specification 0.6.96,
// 3.1.1) and Multiboot 2 headers (Multiboot2 Specification 2.0, 3.1). Header-only so each test
// stays one file plus this.
#include <cstdint>
#include <cstring>
#include <elf.h>
#include <string>
#include <vector>

namespace boottest {

struct Segment {
    uint64_t paddr = 0;
    uint64_t vaddr = 0;
    std::vector<uint8_t> bytes; // p_filesz = bytes.size()
    uint64_t memsz = 0;         // 0: same as bytes.size()
    uint32_t type = PT_LOAD;
};

struct ElfFile {
    std::vector<uint8_t> bytes;
    std::vector<uint64_t> segmentOffsets; // file offset of each segment's bytes
    uint64_t programHeaderOffset = 0;
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

// Header, program headers right after it, then each segment's bytes on a 16-byte boundary.
template <typename Ehdr, typename Phdr>
ElfFile buildElf(uint8_t elfClass, uint16_t machine, uint64_t entry,
                 const std::vector<Segment>& segments) {
    ElfFile file;
    Ehdr header{};
    std::memcpy(header.e_ident, ELFMAG, SELFMAG);
    header.e_ident[EI_CLASS] = elfClass;
    header.e_ident[EI_DATA] = ELFDATA2LSB;
    header.e_ident[EI_VERSION] = EV_CURRENT;
    header.e_type = ET_EXEC;
    header.e_machine = machine;
    header.e_version = EV_CURRENT;
    header.e_entry = static_cast<decltype(header.e_entry)>(entry);
    header.e_phoff = sizeof(Ehdr);
    header.e_ehsize = sizeof(Ehdr);
    header.e_phentsize = sizeof(Phdr);
    header.e_phnum = static_cast<uint16_t>(segments.size());
    put(file.bytes, 0, header);
    file.programHeaderOffset = sizeof(Ehdr);

    uint64_t dataOffset = sizeof(Ehdr) + segments.size() * sizeof(Phdr);
    for (size_t i = 0; i < segments.size(); ++i) {
        dataOffset = (dataOffset + 15) & ~uint64_t(15);
        const Segment& segment = segments[i];
        Phdr programHeader{};
        programHeader.p_type = segment.type;
        programHeader.p_offset = static_cast<decltype(programHeader.p_offset)>(dataOffset);
        programHeader.p_vaddr = static_cast<decltype(programHeader.p_vaddr)>(segment.vaddr);
        programHeader.p_paddr = static_cast<decltype(programHeader.p_paddr)>(segment.paddr);
        programHeader.p_filesz =
            static_cast<decltype(programHeader.p_filesz)>(segment.bytes.size());
        programHeader.p_memsz = static_cast<decltype(programHeader.p_memsz)>(
            segment.memsz ? segment.memsz : segment.bytes.size());
        programHeader.p_flags = PF_R | PF_X;
        put(file.bytes, sizeof(Ehdr) + i * sizeof(Phdr), programHeader);
        file.segmentOffsets.push_back(dataOffset);
        if (file.bytes.size() < dataOffset + segment.bytes.size())
            file.bytes.resize(dataOffset + segment.bytes.size());
        std::memcpy(file.bytes.data() + dataOffset, segment.bytes.data(), segment.bytes.size());
        dataOffset += segment.bytes.size();
    }
    return file;
}

inline ElfFile elf64(uint64_t entry, const std::vector<Segment>& segments,
                     uint16_t machine = EM_X86_64) {
    return buildElf<Elf64_Ehdr, Elf64_Phdr>(ELFCLASS64, machine, entry, segments);
}

inline ElfFile elf32(uint32_t entry, const std::vector<Segment>& segments,
                     uint16_t machine = EM_386) {
    return buildElf<Elf32_Ehdr, Elf32_Phdr>(ELFCLASS32, machine, entry, segments);
}

// Offset of program header `index`'s field in an ELF64 file built above.
inline uint64_t phdr64Field(const ElfFile& file, unsigned index, size_t fieldOffset) {
    return file.programHeaderOffset + index * sizeof(Elf64_Phdr) + fieldOffset;
}

// Bytes that are recognisably not zero, so copies and zeroing can be seen.
inline std::vector<uint8_t> pattern(size_t size, uint8_t seed) {
    std::vector<uint8_t> bytes(size);
    for (size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<uint8_t>(seed + i * 7 + 1);
    return bytes;
}

constexpr uint32_t kMultibootMagic = 0x1BADB002;

struct MultibootAddressFields {
    uint32_t headerAddr, loadAddr, loadEndAddr, bssEndAddr, entryAddr;
};

// Writes magic, flags and a correct checksum (plus the address fields when given) at `offset`.
inline void putMultibootHeader(std::vector<uint8_t>& bytes, uint64_t offset, uint32_t flags,
                               const MultibootAddressFields* address = nullptr) {
    put<uint32_t>(bytes, offset, kMultibootMagic);
    put<uint32_t>(bytes, offset + 4, flags);
    put<uint32_t>(bytes, offset + 8, static_cast<uint32_t>(0u - kMultibootMagic - flags));
    if (address) {
        put(bytes, offset + 12, address->headerAddr);
        put(bytes, offset + 16, address->loadAddr);
        put(bytes, offset + 20, address->loadEndAddr);
        put(bytes, offset + 24, address->bssEndAddr);
        put(bytes, offset + 28, address->entryAddr);
    }
}

// Multiboot2 Specification 2.0, 3.1: a header tag (type, flags, the u32 fields after the tag
// header) and a header made of tags, padded to 8 bytes each, with the end tag appended.
struct Multiboot2Tag {
    uint16_t type = 0;
    uint16_t flags = 0;
    std::vector<uint32_t> fields;
    uint32_t size = 0; // 0: 8 + 4 * fields.size()
};

constexpr uint32_t kMultiboot2Magic = 0xE85250D6;

inline std::vector<uint8_t> multiboot2Header(const std::vector<Multiboot2Tag>& tags,
                                             uint32_t architecture = 0) {
    std::vector<uint8_t> bytes(16);
    for (const Multiboot2Tag& tag : tags) {
        const uint64_t at = bytes.size();
        put<uint16_t>(bytes, at, tag.type);
        put<uint16_t>(bytes, at + 2, tag.flags);
        put<uint32_t>(bytes, at + 4,
                      tag.size ? tag.size : static_cast<uint32_t>(8 + 4 * tag.fields.size()));
        for (size_t i = 0; i < tag.fields.size(); ++i)
            put<uint32_t>(bytes, at + 8 + 4 * i, tag.fields[i]);
        bytes.resize((bytes.size() + 7) & ~size_t(7));
    }
    put<uint32_t>(bytes, bytes.size(), 0); // end tag: type 0, flags 0
    put<uint32_t>(bytes, bytes.size(), 8);
    const auto length = static_cast<uint32_t>(bytes.size());
    put<uint32_t>(bytes, 0, kMultiboot2Magic);
    put<uint32_t>(bytes, 4, architecture);
    put<uint32_t>(bytes, 8, length);
    put<uint32_t>(bytes, 12, 0u - kMultiboot2Magic - architecture - length);
    return bytes;
}

// The message of the LoadError (or other kvmscope error) `function` throws, or a marker that
// makes every "contains" check fail when it throws nothing.
template <typename Error, typename Function> std::string errorOf(Function&& function) {
    try {
        function();
    } catch (const Error& error) {
        return error.what();
    }
    return "(nothing was thrown)";
}

inline bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

} // namespace boottest
