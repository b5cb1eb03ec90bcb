#include "boot/ElfImage.h"

#include "boot/GuestCopy.h"
#include "boot/ImagePlacement.h"

#include <algorithm>
#include <cstring>
#include <elf.h>
#include <fmt/format.h>

namespace kvmscope::boot {
namespace {

// The fields kvmscope needs from either ELF class, widened to 64 bits.
struct HeaderFields {
    uint16_t type, machine, phentsize, phnum;
    uint32_t version;
    uint64_t entry, phoff;
};

struct ProgramHeaderFields {
    uint32_t type;
    uint64_t offset, vaddr, paddr, filesz, memsz;
};

template <typename T> T readStruct(std::span<const uint8_t> file, uint64_t offset) {
    T value;
    std::memcpy(&value, file.data() + offset, sizeof value); // bounds checked by the callers
    return value;
}

template <typename Ehdr> HeaderFields headerFields(const Ehdr& header) {
    return {header.e_type,    header.e_machine, header.e_phentsize, header.e_phnum,
            header.e_version, header.e_entry,   header.e_phoff};
}

template <typename Phdr> ProgramHeaderFields programHeaderFields(const Phdr& header) {
    return {header.p_type,  header.p_offset, header.p_vaddr,
            header.p_paddr, header.p_filesz, header.p_memsz};
}

void checkIdentification(std::span<const uint8_t> file, const std::string& path) {
    if (file.size() < EI_NIDENT)
        throw LoadError(path, fmt::format("the file is {} bytes, too short for the ELF "
                                          "identification ({} bytes)",
                                          file.size(), EI_NIDENT));
    if (!hasElfMagic(file))
        throw LoadError(path, fmt::format("not an ELF file: it starts with {:02x} {:02x} {:02x} "
                                          "{:02x}, not 7f 45 4c 46 (\\x7fELF)",
                                          file[0], file[1], file[2], file[3]));
    const uint8_t elfClass = file[EI_CLASS];
    if (elfClass != ELFCLASS32 && elfClass != ELFCLASS64)
        throw LoadError(path, fmt::format("e_ident[EI_CLASS] is {}, expected 1 (ELFCLASS32) or 2 "
                                          "(ELFCLASS64)",
                                          elfClass));
    if (file[EI_DATA] != ELFDATA2LSB)
        throw LoadError(path, fmt::format("e_ident[EI_DATA] is {}, expected 1 (ELFDATA2LSB): x86 "
                                          "images are little-endian",
                                          file[EI_DATA]));
    if (file[EI_VERSION] != EV_CURRENT)
        throw LoadError(path, fmt::format("e_ident[EI_VERSION] is {}, expected 1 (EV_CURRENT)",
                                          file[EI_VERSION]));
}

HeaderFields readHeader(std::span<const uint8_t> file, const std::string& path, bool is64) {
    const size_t headerSize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    if (file.size() < headerSize)
        throw LoadError(path, fmt::format("the file is {} bytes, too short for the ELF{} header "
                                          "({} bytes)",
                                          file.size(), is64 ? 64 : 32, headerSize));
    return is64 ? headerFields(readStruct<Elf64_Ehdr>(file, 0))
                : headerFields(readStruct<Elf32_Ehdr>(file, 0));
}

void checkHeader(const HeaderFields& header, const std::string& path, bool is64,
                 uint64_t fileSize) {
    if (header.type != ET_EXEC)
        throw LoadError(path, fmt::format("e_type is {}, expected 2 (ET_EXEC): only statically "
                                          "linked executables can be booted",
                                          header.type));
    const uint16_t expectedMachine = is64 ? EM_X86_64 : EM_386;
    if (header.machine != expectedMachine)
        throw LoadError(path, fmt::format("e_machine is {}, expected {} ({}) for an ELF{} image",
                                          header.machine, expectedMachine,
                                          is64 ? "EM_X86_64" : "EM_386", is64 ? 64 : 32));
    if (header.version != EV_CURRENT)
        throw LoadError(path,
                        fmt::format("e_version is {}, expected 1 (EV_CURRENT)", header.version));
    if (header.phnum == 0)
        throw LoadError(path, "e_phnum is 0: the image has no program headers");
    if (header.phnum == PN_XNUM)
        throw LoadError(path, fmt::format("e_phnum is {:#x} (PN_XNUM): extended program header "
                                          "numbering is not supported",
                                          header.phnum));
    const size_t entrySize = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if (header.phentsize != entrySize)
        throw LoadError(path,
                        fmt::format("e_phentsize is {}, expected {}", header.phentsize, entrySize));
    const uint64_t tableSize = uint64_t(header.phnum) * entrySize; // at most 65535 * 56
    if (header.phoff > fileSize || tableSize > fileSize - header.phoff)
        throw LoadError(path, fmt::format("the program header table (e_phoff {:#x}, e_phnum {}, "
                                          "e_phentsize {}) extends beyond the end of the file "
                                          "({:#x} bytes)",
                                          header.phoff, header.phnum, header.phentsize, fileSize));
}

ElfSegment checkSegment(const ProgramHeaderFields& header, unsigned index, const std::string& path,
                        uint64_t fileSize) {
    if (header.filesz > header.memsz)
        throw LoadError(path, fmt::format("program header {}: p_filesz {:#x} exceeds p_memsz {:#x}",
                                          index, header.filesz, header.memsz));
    if (header.offset > fileSize || header.filesz > fileSize - header.offset)
        throw LoadError(path, fmt::format("program header {}: p_offset {:#x} + p_filesz {:#x} "
                                          "extends beyond the end of the file ({:#x} bytes)",
                                          index, header.offset, header.filesz, fileSize));
    if (header.memsz > UINT64_MAX - header.paddr)
        throw LoadError(path, fmt::format("program header {}: p_paddr {:#x} + p_memsz {:#x} "
                                          "overflows",
                                          index, header.paddr, header.memsz));
    return {index, header.offset, header.filesz, header.memsz, header.paddr, header.vaddr};
}

void checkNoOverlap(const std::vector<ElfSegment>& segments, const std::string& path) {
    for (size_t a = 0; a < segments.size(); ++a) {
        for (size_t b = a + 1; b < segments.size(); ++b) {
            const ElfSegment& first = segments[a];
            const ElfSegment& second = segments[b];
            if (rangesOverlap(first.physicalAddress, first.memorySize, second.physicalAddress,
                              second.memorySize))
                throw LoadError(
                    path, fmt::format("program headers {} and {} overlap in guest memory: "
                                      "p_paddr {:#x} p_memsz {:#x} and p_paddr {:#x} p_memsz {:#x}",
                                      first.index, second.index, first.physicalAddress,
                                      first.memorySize, second.physicalAddress, second.memorySize));
        }
    }
}

} // namespace

bool hasElfMagic(std::span<const uint8_t> file) {
    return file.size() >= SELFMAG && std::memcmp(file.data(), ELFMAG, SELFMAG) == 0;
}

ElfImage parseElf(std::span<const uint8_t> file, const std::string& path) {
    checkIdentification(file, path);
    ElfImage image;
    image.is64 = file[EI_CLASS] == ELFCLASS64;
    const HeaderFields header = readHeader(file, path, image.is64);
    checkHeader(header, path, image.is64, file.size());
    image.machine = header.machine;
    image.entry = header.entry;

    for (unsigned index = 0; index < header.phnum; ++index) {
        const uint64_t offset = header.phoff + uint64_t(index) * header.phentsize;
        const ProgramHeaderFields programHeader =
            image.is64 ? programHeaderFields(readStruct<Elf64_Phdr>(file, offset))
                       : programHeaderFields(readStruct<Elf32_Phdr>(file, offset));
        // Only PT_LOAD occupies memory; an empty one has nothing to load.
        if (programHeader.type != PT_LOAD || programHeader.memsz == 0)
            continue;
        image.segments.push_back(checkSegment(programHeader, index, path, file.size()));
    }
    if (image.segments.empty())
        throw LoadError(path, "no PT_LOAD program header with p_memsz > 0: nothing to load");
    checkNoOverlap(image.segments, path);
    return image;
}

LoadedRange checkElfSegmentsPlacement(const ElfImage& image, const std::string& path,
                                      const GuestMemory& memory,
                                      std::initializer_list<layout::ReservedRange> alsoReserved) {
    LoadedRange range{UINT64_MAX, 0};
    for (const ElfSegment& segment : image.segments) {
        checkImagePlacement(path,
                            fmt::format("program header {} (p_paddr {:#x}, p_memsz {:#x})",
                                        segment.index, segment.physicalAddress, segment.memorySize),
                            segment.physicalAddress, segment.memorySize, memory, alsoReserved);
        range.start = std::min(range.start, segment.physicalAddress);
        range.end = std::max(range.end, segment.physicalAddress + segment.memorySize);
    }
    return range;
}

LoadedRange loadElfSegments(const ElfImage& image, std::span<const uint8_t> file,
                            const std::string& path, GuestMemory& memory,
                            std::initializer_list<layout::ReservedRange> alsoReserved) {
    const LoadedRange range = checkElfSegmentsPlacement(image, path, memory, alsoReserved);
    for (const ElfSegment& segment : image.segments) {
        copyIntoGuest(memory, segment.physicalAddress,
                      file.subspan(segment.fileOffset, segment.fileSize));
        // The part beyond p_filesz is the bss: the gABI says it reads as zero.
        memory.fill(segment.physicalAddress + segment.fileSize, 0,
                    segment.memorySize - segment.fileSize);
    }
    return range;
}

uint64_t physicalEntry(const ElfImage& image, const std::string& path) {
    for (const ElfSegment& segment : image.segments) {
        if (image.entry >= segment.virtualAddress &&
            image.entry - segment.virtualAddress < segment.fileSize)
            return segment.physicalAddress + (image.entry - segment.virtualAddress);
    }
    throw LoadError(path, fmt::format("e_entry {:#x} is not inside the file-backed part of any "
                                      "PT_LOAD segment",
                                      image.entry));
}

} // namespace kvmscope::boot
