#include "boot/ElfImage.h"

#include "boot/GuestCopy.h"
#include "boot/ImagePlacement.h"

#include <algorithm>
#include <elf.h>
#include <fmt/format.h>

namespace kvmscope::boot {
namespace {

ElfSegment checkSegment(const ElfFile& file, const Elf64_Phdr& header, unsigned index) {
    const std::string& path = file.path();
    if (header.p_filesz > header.p_memsz)
        throw LoadError(path, fmt::format("program header {}: p_filesz {:#x} exceeds p_memsz {:#x}",
                                          index, header.p_filesz, header.p_memsz));
    file.segmentBytes(header, index); // inside the file, or a LoadError naming p_offset
    if (header.p_memsz > UINT64_MAX - header.p_paddr)
        throw LoadError(path, fmt::format("program header {}: p_paddr {:#x} + p_memsz {:#x} "
                                          "overflows",
                                          index, header.p_paddr, header.p_memsz));
    return {index,          header.p_offset, header.p_filesz,
            header.p_memsz, header.p_paddr,  header.p_vaddr};
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

ElfImage parseElf(const ElfFile& file) {
    const std::string& path = file.path();
    if (file.type() != ET_EXEC)
        throw LoadError(path, fmt::format("e_type is {}, expected 2 (ET_EXEC): only statically "
                                          "linked executables can be booted",
                                          file.type()));
    if (file.programHeaderCount() == 0)
        throw LoadError(path, "e_phnum is 0: the image has no program headers");
    ElfImage image;
    image.is64 = file.is64();
    image.machine = file.machine();
    image.entry = file.entry();
    const std::vector<Elf64_Phdr> headers = file.programHeaders();
    for (unsigned index = 0; index < headers.size(); ++index) {
        // Only PT_LOAD occupies memory; an empty one has nothing to load.
        if (headers[index].p_type != PT_LOAD || headers[index].p_memsz == 0)
            continue;
        image.segments.push_back(checkSegment(file, headers[index], index));
    }
    if (image.segments.empty())
        throw LoadError(path, "no PT_LOAD program header with p_memsz > 0: nothing to load");
    checkNoOverlap(image.segments, path);
    return image;
}

ElfImage parseElf(std::span<const uint8_t> file, const std::string& path) {
    return parseElf(ElfFile(file, path));
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
