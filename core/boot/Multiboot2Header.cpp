#include "boot/Multiboot2Header.h"

#include "common/Error.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace kvmscope::boot {
namespace {

template <typename T> T readAt(std::span<const uint8_t> image, uint64_t offset) {
    T value;
    std::memcpy(&value, image.data() + offset, sizeof value);
    return value;
}

uint32_t checksumSum(uint32_t architecture, uint32_t headerLength, uint32_t checksum) {
    return static_cast<uint32_t>(multiboot2::kHeaderMagic + architecture + headerLength + checksum);
}

uint64_t alignUp(uint64_t value, uint64_t alignment) {
    return (value + alignment - 1) / alignment * alignment;
}

const char* headerTagName(uint16_t type) {
    switch (type) {
    case multiboot2::kHeaderTagEnd:
        return "end";
    case multiboot2::kHeaderTagInformationRequest:
        return "information request";
    case multiboot2::kHeaderTagAddress:
        return "address";
    case multiboot2::kHeaderTagEntryAddress:
        return "entry address";
    case multiboot2::kHeaderTagConsoleFlags:
        return "console flags";
    case multiboot2::kHeaderTagFramebuffer:
        return "framebuffer";
    case multiboot2::kHeaderTagModuleAlignment:
        return "module alignment";
    case multiboot2::kHeaderTagEfiBootServices:
        return "EFI boot services";
    case multiboot2::kHeaderTagEntryAddressEfi32:
        return "EFI i386 entry address";
    case multiboot2::kHeaderTagEntryAddressEfi64:
        return "EFI amd64 entry address";
    case multiboot2::kHeaderTagRelocatable:
        return "relocatable";
    }
    return "unknown";
}

// The size each known header tag has (3.1.4-3.1.12); the information request is variable.
uint32_t expectedTagSize(uint16_t type) {
    switch (type) {
    case multiboot2::kHeaderTagAddress:
        return multiboot2::kAddressTagSize;
    case multiboot2::kHeaderTagEntryAddress:
    case multiboot2::kHeaderTagEntryAddressEfi32:
    case multiboot2::kHeaderTagEntryAddressEfi64:
        return multiboot2::kEntryAddressTagSize;
    case multiboot2::kHeaderTagConsoleFlags:
        return multiboot2::kConsoleFlagsTagSize;
    case multiboot2::kHeaderTagFramebuffer:
        return multiboot2::kFramebufferTagSize;
    case multiboot2::kHeaderTagRelocatable:
        return multiboot2::kRelocatableTagSize;
    }
    return sizeof(multiboot2::HeaderTag);
}

} // namespace

bool Multiboot2Header::requests(uint32_t tagType) const {
    return std::find(requestedTags.begin(), requestedTags.end(), tagType) != requestedTags.end() ||
           std::find(optionalRequestedTags.begin(), optionalRequestedTags.end(), tagType) !=
               optionalRequestedTags.end();
}

bool isProvidedMultiboot2Tag(uint32_t tagType) {
    switch (tagType) {
    case multiboot2::kTagEnd:
    case multiboot2::kTagCommandLine:
    case multiboot2::kTagBootLoaderName:
    case multiboot2::kTagModule:
    case multiboot2::kTagBasicMemoryInfo:
    case multiboot2::kTagMemoryMap:
    case multiboot2::kTagFramebufferInfo:
    case multiboot2::kTagAcpiOldRsdp:
    case multiboot2::kTagAcpiNewRsdp:
    case multiboot2::kTagLoadBaseAddress:
        return true;
    }
    return false;
}

const char* multiboot2TagName(uint32_t tagType) {
    switch (tagType) {
    case multiboot2::kTagEnd:
        return "end";
    case multiboot2::kTagCommandLine:
        return "boot command line";
    case multiboot2::kTagBootLoaderName:
        return "boot loader name";
    case multiboot2::kTagModule:
        return "modules";
    case multiboot2::kTagBasicMemoryInfo:
        return "basic memory information";
    case multiboot2::kTagBiosBootDevice:
        return "BIOS boot device";
    case multiboot2::kTagMemoryMap:
        return "memory map";
    case multiboot2::kTagVbeInfo:
        return "VBE information";
    case multiboot2::kTagFramebufferInfo:
        return "framebuffer information";
    case multiboot2::kTagElfSections:
        return "ELF sections";
    case multiboot2::kTagApmTable:
        return "APM table";
    case multiboot2::kTagEfi32SystemTable:
        return "EFI 32-bit system table";
    case multiboot2::kTagEfi64SystemTable:
        return "EFI 64-bit system table";
    case multiboot2::kTagSmbiosTables:
        return "SMBIOS tables";
    case multiboot2::kTagAcpiOldRsdp:
        return "ACPI old RSDP";
    case multiboot2::kTagAcpiNewRsdp:
        return "ACPI new RSDP";
    case multiboot2::kTagNetwork:
        return "networking information";
    case multiboot2::kTagEfiMemoryMap:
        return "EFI memory map";
    case multiboot2::kTagEfiBootServicesNotTerminated:
        return "EFI boot services not terminated";
    case multiboot2::kTagEfi32ImageHandle:
        return "EFI 32-bit image handle";
    case multiboot2::kTagEfi64ImageHandle:
        return "EFI 64-bit image handle";
    case multiboot2::kTagLoadBaseAddress:
        return "image load base physical address";
    }
    return "unknown";
}

Multiboot2HeaderSearch searchMultiboot2Header(std::span<const uint8_t> image) {
    Multiboot2HeaderSearch search;
    // 3.1.1: the header lies completely within the first 32768 bytes (and within the file); its
    // fixed part at least.
    const uint64_t limit = std::min<uint64_t>(image.size(), multiboot2::kHeaderSearchLimit);
    for (uint64_t offset = 0; offset + sizeof(multiboot2::HeaderFixedPart) <= limit;
         offset += multiboot2::kHeaderAlignment) {
        const auto fixed = readAt<multiboot2::HeaderFixedPart>(image, offset);
        if (fixed.magic != multiboot2::kHeaderMagic)
            continue;
        if (!search.firstMagicOffset) {
            search.firstMagicOffset = offset;
            search.firstMagicArchitecture = fixed.architecture;
            search.firstMagicHeaderLength = fixed.header_length;
            search.firstMagicChecksum = fixed.checksum;
        }
        if (checksumSum(fixed.architecture, fixed.header_length, fixed.checksum) == 0) {
            search.headerOffset = offset;
            break;
        }
    }
    return search;
}

Multiboot2Header parseMultiboot2Header(std::span<const uint8_t> image, uint64_t offset,
                                       const std::string& path) {
    if (offset + sizeof(multiboot2::HeaderFixedPart) > image.size())
        throw LoadError(path, fmt::format("multiboot2 header at offset {:#x}: the file ends "
                                          "before its 16-byte fixed part ({:#x} bytes)",
                                          offset, image.size()));
    const auto fixed = readAt<multiboot2::HeaderFixedPart>(image, offset);
    const std::string where = fmt::format("multiboot2 header at offset {:#x}", offset);
    if (fixed.architecture != multiboot2::kArchitectureI386)
        throw LoadError(path, fmt::format("{}: architecture {} is not 0 (i386, 32-bit protected "
                                          "mode){}",
                                          where, fixed.architecture,
                                          fixed.architecture == multiboot2::kArchitectureMips32
                                              ? ": 4 is 32-bit MIPS"
                                              : ""));
    const uint64_t headerLength = fixed.header_length;
    constexpr uint64_t kMinimumLength =
        sizeof(multiboot2::HeaderFixedPart) + sizeof(multiboot2::HeaderTag);
    if (headerLength < kMinimumLength)
        throw LoadError(path, fmt::format("{}: header_length {:#x} does not cover the tags: the "
                                          "16-byte fixed part and the 8-byte end tag need {:#x}",
                                          where, headerLength, kMinimumLength));
    if (offset + headerLength > image.size())
        throw LoadError(path, fmt::format("{}: header_length {:#x} runs past the end of the file "
                                          "({:#x} bytes)",
                                          where, headerLength, image.size()));
    if (offset + headerLength > multiboot2::kHeaderSearchLimit)
        throw LoadError(path, fmt::format("{}: header_length {:#x} ends at {:#x}, beyond the "
                                          "first {} bytes the header must lie in",
                                          where, headerLength, offset + headerLength,
                                          multiboot2::kHeaderSearchLimit));

    Multiboot2Header header;
    header.offset = offset;
    header.headerLength = fixed.header_length;
    const uint64_t end = offset + headerLength;
    bool ended = false;
    // Each step advances by at least 8 bytes (sizes below 8 are refused), so the walk ends.
    for (uint64_t at = offset + sizeof(multiboot2::HeaderFixedPart); at < end && !ended;) {
        if (at + sizeof(multiboot2::HeaderTag) > end)
            throw LoadError(path, fmt::format("{}: the tag at offset {:#x} has no room for its "
                                              "8-byte header before header_length ends at {:#x}",
                                              where, at, end));
        const auto tag = readAt<multiboot2::HeaderTag>(image, at);
        const bool optional = (tag.flags & multiboot2::kHeaderTagOptional) != 0;
        const std::string what = fmt::format("{}: tag type {} ({}) at offset {:#x}", where,
                                             tag.type, headerTagName(tag.type), at);
        if (tag.size < sizeof(multiboot2::HeaderTag))
            throw LoadError(path, fmt::format("{}: size {} is smaller than the 8-byte tag header",
                                              what, tag.size));
        if (tag.size > end - at)
            throw LoadError(path, fmt::format("{}: size {:#x} runs past header_length (the "
                                              "header ends at {:#x})",
                                              what, tag.size, end));
        const uint32_t needed = expectedTagSize(tag.type);
        if (tag.size < needed)
            throw LoadError(path, fmt::format("{}: size {} is smaller than the {} bytes this tag "
                                              "has",
                                              what, tag.size, needed));
        const uint64_t fields = at + sizeof(multiboot2::HeaderTag);
        switch (tag.type) {
        case multiboot2::kHeaderTagEnd:
            ended = true;
            break;
        case multiboot2::kHeaderTagInformationRequest: {
            auto& list = optional ? header.optionalRequestedTags : header.requestedTags;
            for (uint64_t entry = fields; entry + 4 <= at + tag.size; entry += 4) {
                const uint32_t requested = readAt<uint32_t>(image, entry);
                if (!optional && !isProvidedMultiboot2Tag(requested))
                    throw LoadError(path,
                                    fmt::format("{}: requires boot information tag {} ({}), "
                                                "which kvmscope does not provide",
                                                what, requested, multiboot2TagName(requested)));
                list.push_back(requested);
            }
            break;
        }
        case multiboot2::kHeaderTagAddress:
            header.address = readAt<multiboot2::AddressTagFields>(image, fields);
            break;
        case multiboot2::kHeaderTagEntryAddress:
            header.entryAddress = readAt<uint32_t>(image, fields);
            break;
        case multiboot2::kHeaderTagConsoleFlags:
            header.consoleFlags = readAt<uint32_t>(image, fields);
            break;
        case multiboot2::kHeaderTagFramebuffer:
            header.framebuffer = readAt<multiboot2::FramebufferTagFields>(image, fields);
            break;
        case multiboot2::kHeaderTagModuleAlignment:
            header.moduleAlignment = true;
            break;
        case multiboot2::kHeaderTagRelocatable:
            header.relocatable = readAt<multiboot2::RelocatableTagFields>(image, fields);
            break;
        case multiboot2::kHeaderTagEfiBootServices:
        case multiboot2::kHeaderTagEntryAddressEfi32:
        case multiboot2::kHeaderTagEntryAddressEfi64:
            if (!optional)
                throw LoadError(path, fmt::format("{}: required (flags {:#x}), but kvmscope boots "
                                                  "without EFI",
                                                  what, tag.flags));
            header.skipped.push_back(fmt::format("{}: optional, skipped (no EFI)", what));
            break;
        default:
            if (!optional)
                throw LoadError(path, fmt::format("{}: required (flags {:#x}), and kvmscope does "
                                                  "not know this tag",
                                                  what, tag.flags));
            header.skipped.push_back(fmt::format("{}: optional and unknown, skipped", what));
            break;
        }
        at += alignUp(tag.size, multiboot2::kTagAlignment);
    }
    if (!ended)
        throw LoadError(path, fmt::format("{}: no end tag (type 0) before header_length {:#x} "
                                          "ends",
                                          where, headerLength));
    // 3.1.5 and 3.1.6: with the address tag the image need not be ELF, so nothing else says
    // where it starts.
    if (header.address && !header.entryAddress)
        throw LoadError(path, fmt::format("{}: an address tag without an entry address tag "
                                          "(type 3): there is no entry point",
                                          where));
    return header;
}

Multiboot2Header readMultiboot2Header(std::span<const uint8_t> image, const std::string& path) {
    const Multiboot2HeaderSearch search = searchMultiboot2Header(image);
    if (search.headerOffset)
        return parseMultiboot2Header(image, *search.headerOffset, path);
    if (search.firstMagicOffset)
        throw LoadError(
            path,
            fmt::format("multiboot2 header at offset {:#x}: checksum {:#010x} is wrong: "
                        "magic + architecture ({:#x}) + header_length ({:#x}) + checksum "
                        "= {:#010x}, not 0",
                        *search.firstMagicOffset, search.firstMagicChecksum,
                        search.firstMagicArchitecture, search.firstMagicHeaderLength,
                        checksumSum(search.firstMagicArchitecture, search.firstMagicHeaderLength,
                                    search.firstMagicChecksum)));
    throw LoadError(path, fmt::format("no multiboot2 header: magic {:#x} not found 8-byte "
                                      "aligned within the first {} bytes",
                                      multiboot2::kHeaderMagic, multiboot2::kHeaderSearchLimit));
}

} // namespace kvmscope::boot
