#pragma once
// Multiboot 1 structures, as defined by the Multiboot Specification version 0.6.96: the header a
// kernel carries (section 3.1) and the boot information the loader hands over (section 3.3).
// Debian ships no header for them, so they are spelt out here, once.
#include <cstddef>
#include <cstdint>

namespace kvmscope::boot::multiboot {

// 3.1.1: the header lies 32-bit aligned within the first 8192 bytes of the image.
constexpr uint32_t kHeaderMagic = 0x1BADB002;
constexpr uint64_t kHeaderSearchLimit = 8192;
constexpr uint64_t kHeaderAlignment = 4;

// 3.1.2: flags. Bits 0-15 are requirements (a loader that cannot meet one must refuse the
// kernel); bits 16-31 are optional features.
constexpr uint32_t kFlagPageAlignModules = 1u << 0;
constexpr uint32_t kFlagMemoryInfo = 1u << 1;
constexpr uint32_t kFlagVideoMode = 1u << 2;
constexpr uint32_t kFlagAddressFields = 1u << 16; // the "a.out kludge"
constexpr uint32_t kRequiredFlagsMask = 0xffff;

// 3.1.1, "The layout of Multiboot header". The address fields (3.1.3) are valid with flags bit 16,
// the graphics fields (3.1.4) with bit 2.
struct Header {
    uint32_t magic;
    uint32_t flags;
    uint32_t checksum; // magic + flags + checksum == 0 (mod 2^32)
    uint32_t header_addr;
    uint32_t load_addr;
    uint32_t load_end_addr;
    uint32_t bss_end_addr;
    uint32_t entry_addr;
    uint32_t mode_type;
    uint32_t width;
    uint32_t height;
    uint32_t depth;
};
constexpr size_t kHeaderMinimumSize = offsetof(Header, header_addr);    // magic, flags, checksum
constexpr size_t kHeaderAddressFieldsEnd = offsetof(Header, mode_type); // through entry_addr

// 3.2: EAX on entry to the kernel.
constexpr uint32_t kBootloaderMagic = 0x2BADB002;

// 3.3: which fields of Info are valid.
constexpr uint32_t kInfoMemory = 1u << 0;
constexpr uint32_t kInfoCommandLine = 1u << 2;
constexpr uint32_t kInfoModules = 1u << 3;
constexpr uint32_t kInfoMemoryMap = 1u << 6;
constexpr uint32_t kInfoBootLoaderName = 1u << 9;

// 3.3: the boot information structure; EBX points at it.
struct Info {
    uint32_t flags;
    uint32_t mem_lower; // KiB from 0
    uint32_t mem_upper; // KiB from 1 MiB to the first hole
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count;
    uint32_t mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length;
    uint32_t mmap_addr;
    uint32_t drives_length;
    uint32_t drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
    uint32_t apm_table;
    uint32_t vbe_control_info;
    uint32_t vbe_mode_info;
    uint16_t vbe_mode;
    uint16_t vbe_interface_seg;
    uint16_t vbe_interface_off;
    uint16_t vbe_interface_len;
};
static_assert(sizeof(Info) == 88);

// 3.3: one memory map entry. `size` does not count itself: the next entry starts size + 4 bytes
// further on. Packed, because base_addr sits at offset 4.
struct __attribute__((packed)) MemoryMapEntry {
    uint32_t size;
    uint64_t base_addr;
    uint64_t length;
    uint32_t type;
};
static_assert(sizeof(MemoryMapEntry) == 24);
constexpr uint32_t kMemoryAvailable = 1;
constexpr uint32_t kMemoryReserved = 2;

// 3.3: one boot module; mod_end is the address after its last byte.
struct Module {
    uint32_t mod_start;
    uint32_t mod_end;
    uint32_t string;
    uint32_t reserved;
};
static_assert(sizeof(Module) == 16);

} // namespace kvmscope::boot::multiboot
