#pragma once
// Finding and reading the Multiboot 2 header of an image (Multiboot2 Specification 2.0, 3.1): the
// magic, 64-bit aligned, within the first 32768 bytes, with magic + architecture + header_length +
// checksum == 0; then its tags. Pure: no guest memory, so it is tested and fuzzed on bytes alone.
#include "boot/Multiboot2.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kvmscope::boot {

struct Multiboot2HeaderSearch {
    // The first aligned magic whose checksum holds: the header.
    std::optional<uint64_t> headerOffset;
    // The first aligned magic found at all, valid or not, and its fields, so that an error can
    // say why it was not taken.
    std::optional<uint64_t> firstMagicOffset;
    uint32_t firstMagicArchitecture = 0;
    uint32_t firstMagicHeaderLength = 0;
    uint32_t firstMagicChecksum = 0;
};

Multiboot2HeaderSearch searchMultiboot2Header(std::span<const uint8_t> image);

// What the header's tags ask for, checked for form (sizes, alignment, lengths) and for what
// kvmscope can provide.
struct Multiboot2Header {
    uint64_t offset = 0; // in the file
    uint32_t headerLength = 0;
    // 3.1.4: information the kernel asks for; `required` unless the request tag is optional.
    std::vector<uint32_t> requestedTags;
    std::vector<uint32_t> optionalRequestedTags;
    std::optional<multiboot2::AddressTagFields> address;
    std::optional<uint32_t> entryAddress;
    std::optional<uint32_t> consoleFlags;
    std::optional<multiboot2::FramebufferTagFields> framebuffer;
    bool moduleAlignment = false;
    std::optional<multiboot2::RelocatableTagFields> relocatable;
    // Optional tags kvmscope skipped (unknown ones, EFI ones), one sentence each.
    std::vector<std::string> skipped;

    bool requests(uint32_t tagType) const;
};

// The boot information tags kvmscope writes (Multiboot2Loader.h), which an information request
// may require; the end tag counts as provided.
bool isProvidedMultiboot2Tag(uint32_t tagType);
// A tag type's name for messages ("memory map", "EFI 64-bit system table"), or "unknown".
const char* multiboot2TagName(uint32_t tagType);

// Reads the header found at `offset` (a checksum-valid magic from searchMultiboot2Header). Throws
// LoadError(path, ...) naming the field or tag, its offset in the file and its value when:
// the architecture is not 0 (i386); header_length is too short for the fixed part and the end
// tag, runs past the file or past the first 32768 bytes; a tag's 8-byte header or its size runs
// past header_length; a tag's size is below 8 (a size of 0 would never advance) or below what
// its type needs; no end tag comes before header_length ends; a required tag is unknown or
// asks for EFI; a required information request names a tag kvmscope does not provide; an address
// tag comes without an entry address tag.
Multiboot2Header parseMultiboot2Header(std::span<const uint8_t> image, uint64_t offset,
                                       const std::string& path);

// searchMultiboot2Header, then parseMultiboot2Header on what it found; a magic with a wrong
// checksum, or none, is a LoadError saying so.
Multiboot2Header readMultiboot2Header(std::span<const uint8_t> image, const std::string& path);

} // namespace kvmscope::boot
