#pragma once
// Multiboot 2 structures, as defined by the Multiboot2 Specification version 2.0: the header a
// kernel carries with its tags (section 3.1) and the boot information the loader hands over
// (section 3.6). Debian ships no header for them, so they are spelt out here, once. The
// framebuffer tag follows the layout GRUB and the kernels built for it use (a 16-bit reserved
// field before the colour information), which is what the specification's own example header
// declares.
#include <cstddef>
#include <cstdint>

namespace kvmscope::boot::multiboot2 {

// 3.1.1: the header lies 64-bit aligned, completely within the first 32768 bytes of the image.
constexpr uint32_t kHeaderMagic = 0xE85250D6;
constexpr uint64_t kHeaderSearchLimit = 32768;
constexpr uint64_t kHeaderAlignment = 8;
// 3.1.2: architecture 0 is 32-bit (protected mode) i386, 4 is 32-bit MIPS.
constexpr uint32_t kArchitectureI386 = 0;
constexpr uint32_t kArchitectureMips32 = 4;

// 3.1.2, "Magic fields": magic + architecture + header_length + checksum == 0 (mod 2^32).
struct HeaderFixedPart {
    uint32_t magic;
    uint32_t architecture;
    uint32_t header_length; // of the whole header, these fields and every tag included
    uint32_t checksum;
};
static_assert(sizeof(HeaderFixedPart) == 16);

// 3.1.3, "General tag structure": tags follow the fixed part, each on an 8-byte boundary; `size`
// counts the tag's header and fields, not the padding after it. The list ends with type 0, size 8.
struct HeaderTag {
    uint16_t type;
    uint16_t flags; // bit 0: optional (a loader that does not know the tag may skip it)
    uint32_t size;
};
static_assert(sizeof(HeaderTag) == 8);
constexpr uint16_t kHeaderTagOptional = 1u << 0;
constexpr uint64_t kTagAlignment = 8;

// Header tag types (3.1.3-3.1.14).
constexpr uint16_t kHeaderTagEnd = 0;
constexpr uint16_t kHeaderTagInformationRequest = 1; // 3.1.4: u32 tag types follow
constexpr uint16_t kHeaderTagAddress = 2;            // 3.1.5
constexpr uint16_t kHeaderTagEntryAddress = 3;       // 3.1.6
constexpr uint16_t kHeaderTagConsoleFlags = 4;       // 3.1.8
constexpr uint16_t kHeaderTagFramebuffer = 5;        // 3.1.9
constexpr uint16_t kHeaderTagModuleAlignment = 6;    // 3.1.10
constexpr uint16_t kHeaderTagEfiBootServices = 7;    // 3.1.11
constexpr uint16_t kHeaderTagEntryAddressEfi32 = 8;  // 3.1.7
constexpr uint16_t kHeaderTagEntryAddressEfi64 = 9;  // 3.1.7
constexpr uint16_t kHeaderTagRelocatable = 10;       // 3.1.12

// 3.1.5: where the file's bytes go, independent of the file format (the "a.out kludge").
struct AddressTagFields {
    uint32_t header_addr;   // the physical address the header's first byte is loaded to
    uint32_t load_addr;     // the text segment's start; 0xFFFFFFFF: load from the file's start
    uint32_t load_end_addr; // end of the data segment; 0: the rest of the file
    uint32_t bss_end_addr;  // end of the bss; 0: no bss
};
constexpr uint32_t kLoadFromFileStart = 0xFFFFFFFF;
constexpr uint32_t kAddressTagSize = sizeof(HeaderTag) + sizeof(AddressTagFields);
constexpr uint32_t kEntryAddressTagSize = sizeof(HeaderTag) + 4;
// 3.1.8: console_flags bit 0: a console must be present and described; bit 1: the kernel
// handles EGA text.
constexpr uint32_t kConsoleFlagsTagSize = sizeof(HeaderTag) + 4;
constexpr uint32_t kConsoleRequired = 1u << 0;
constexpr uint32_t kConsoleEgaTextSupported = 1u << 1;
// 3.1.9: the preferred mode; 0 in a field means no preference.
struct FramebufferTagFields {
    uint32_t width;
    uint32_t height;
    uint32_t depth;
};
constexpr uint32_t kFramebufferTagSize = sizeof(HeaderTag) + sizeof(FramebufferTagFields);
constexpr uint32_t kModuleAlignmentTagSize = sizeof(HeaderTag);
// 3.1.12: the image may be loaded anywhere in [min_addr, max_addr], aligned to `align`.
struct RelocatableTagFields {
    uint32_t min_addr;
    uint32_t max_addr;
    uint32_t align;
    uint32_t preference; // 0 none, 1 lowest, 2 highest address
};
constexpr uint32_t kRelocatableTagSize = sizeof(HeaderTag) + sizeof(RelocatableTagFields);

// 3.2: EAX on entry to the kernel.
constexpr uint32_t kBootloaderMagic = 0x36D76289;

// 3.6.1: the boot information starts with total_size (itself and the end tag included) and a
// reserved word, 8-byte aligned; tags follow on 8-byte boundaries, each starting with `Tag`.
struct InfoFixedPart {
    uint32_t total_size;
    uint32_t reserved;
};
struct Tag {
    uint32_t type;
    uint32_t size; // the tag's bytes without the padding after it
};
static_assert(sizeof(Tag) == 8);

// Boot information tag types (3.6.2-3.6.15; 21 from the specification's later revisions, as
// GRUB writes it).
constexpr uint32_t kTagEnd = 0;
constexpr uint32_t kTagCommandLine = 1;       // 3.6.4: a NUL-terminated string
constexpr uint32_t kTagBootLoaderName = 2;    // 3.6.9: a NUL-terminated string
constexpr uint32_t kTagModule = 3;            // 3.6.5
constexpr uint32_t kTagBasicMemoryInfo = 4;   // 3.6.2
constexpr uint32_t kTagBiosBootDevice = 5;    // 3.6.3
constexpr uint32_t kTagMemoryMap = 6;         // 3.6.8
constexpr uint32_t kTagVbeInfo = 7;           // 3.6.11
constexpr uint32_t kTagFramebufferInfo = 8;   // 3.6.12
constexpr uint32_t kTagElfSections = 9;       // 3.6.6
constexpr uint32_t kTagApmTable = 10;         // 3.6.10
constexpr uint32_t kTagEfi32SystemTable = 11; // 3.6.13
constexpr uint32_t kTagEfi64SystemTable = 12; // 3.6.13
constexpr uint32_t kTagSmbiosTables = 13;     // 3.6.14
constexpr uint32_t kTagAcpiOldRsdp = 14;      // 3.6.15: a copy of the ACPI 1.0 RSDP
constexpr uint32_t kTagAcpiNewRsdp = 15;      // 3.6.15: a copy of the ACPI 2.0+ RSDP
constexpr uint32_t kTagNetwork = 16;
constexpr uint32_t kTagEfiMemoryMap = 17;
constexpr uint32_t kTagEfiBootServicesNotTerminated = 18;
constexpr uint32_t kTagEfi32ImageHandle = 19;
constexpr uint32_t kTagEfi64ImageHandle = 20;
constexpr uint32_t kTagLoadBaseAddress = 21; // the physical address the image was loaded at

// 3.6.5: one module; mod_end is the address after its last byte; a NUL-terminated string
// follows.
struct ModuleTag {
    Tag tag;
    uint32_t mod_start;
    uint32_t mod_end;
};
static_assert(sizeof(ModuleTag) == 16);

// 3.6.2: KiB of lower memory (from 0) and of upper memory (from 1 MiB to the first hole).
struct BasicMemoryInfoTag {
    Tag tag;
    uint32_t mem_lower;
    uint32_t mem_upper;
};
static_assert(sizeof(BasicMemoryInfoTag) == 16);

// 3.6.8: the memory map tag's header, then entry_size-byte entries.
struct MemoryMapTag {
    Tag tag;
    uint32_t entry_size;    // 24
    uint32_t entry_version; // 0
};
static_assert(sizeof(MemoryMapTag) == 16);
struct MemoryMapEntry {
    uint64_t base_addr;
    uint64_t length;
    uint32_t type; // 1 available, 3 ACPI, 4 preserve on hibernation, 5 defective; others reserved
    uint32_t reserved;
};
static_assert(sizeof(MemoryMapEntry) == 24);
constexpr uint32_t kMemoryMapEntryVersion = 0;

// 3.6.12: the framebuffer; colour information follows for the RGB type.
struct __attribute__((packed)) FramebufferInfoTag {
    Tag tag;
    uint64_t framebuffer_addr;
    uint32_t framebuffer_pitch; // bytes per row
    uint32_t framebuffer_width; // pixels, or characters for EGA text
    uint32_t framebuffer_height;
    uint8_t framebuffer_bpp;
    uint8_t framebuffer_type;
    uint16_t reserved;
};
static_assert(sizeof(FramebufferInfoTag) == 32);
constexpr uint8_t kFramebufferTypeIndexed = 0;
constexpr uint8_t kFramebufferTypeRgb = 1;
constexpr uint8_t kFramebufferTypeEgaText = 2;
// The RGB type's colour information: each channel's lowest bit and width.
struct FramebufferRgbFields {
    uint8_t red_field_position;
    uint8_t red_mask_size;
    uint8_t green_field_position;
    uint8_t green_mask_size;
    uint8_t blue_field_position;
    uint8_t blue_mask_size;
};
static_assert(sizeof(FramebufferRgbFields) == 6);

// The load base address tag (21).
struct LoadBaseAddressTag {
    Tag tag;
    uint32_t load_base_addr;
};
static_assert(sizeof(LoadBaseAddressTag) == 12);

// EGA text mode as a PC leaves it (3.6.12: width and height in characters, bpp 16, pitch in
// bytes per text row).
constexpr uint64_t kEgaTextAddress = 0xB8000;
constexpr uint32_t kEgaTextColumns = 80;
constexpr uint32_t kEgaTextRows = 25;

} // namespace kvmscope::boot::multiboot2
