/* Multiboot 2 (Multiboot2 Specification version 2.0): the header a kernel carries (section 3.1)
 * and the boot information the boot loader hands it in EBX (section 3.6). The framebuffer tag
 * has the layout GRUB writes (a 16-bit reserved field before the colour information). */
#ifndef KVMSCOPE_GUEST_MULTIBOOT2_H
#define KVMSCOPE_GUEST_MULTIBOOT2_H

/* 3.1.1-3.1.2: header magic and architecture (0: i386 protected mode). */
#define MULTIBOOT2_HEADER_MAGIC 0xE85250D6
#define MULTIBOOT2_ARCHITECTURE_I386 0
/* 3.1.3: header tag types and the optional flag. */
#define MULTIBOOT2_HEADER_TAG_END 0
#define MULTIBOOT2_HEADER_TAG_INFORMATION_REQUEST 1
#define MULTIBOOT2_HEADER_TAG_ENTRY_ADDRESS 3
#define MULTIBOOT2_HEADER_TAG_MODULE_ALIGNMENT 6
#define MULTIBOOT2_HEADER_TAG_OPTIONAL 1
/* 3.2: EAX on entry. */
#define MULTIBOOT2_BOOTLOADER_MAGIC 0x36D76289

/* 3.6: boot information tag types. */
#define MULTIBOOT2_TAG_END 0
#define MULTIBOOT2_TAG_CMDLINE 1
#define MULTIBOOT2_TAG_BOOT_LOADER_NAME 2
#define MULTIBOOT2_TAG_MODULE 3
#define MULTIBOOT2_TAG_BASIC_MEMINFO 4
#define MULTIBOOT2_TAG_MMAP 6
#define MULTIBOOT2_TAG_FRAMEBUFFER 8
#define MULTIBOOT2_TAG_ACPI_OLD 14
#define MULTIBOOT2_TAG_ACPI_NEW 15
#define MULTIBOOT2_TAG_LOAD_BASE_ADDR 21

#ifndef __ASSEMBLER__
#include <stdint.h>

struct multiboot2_info {
    uint32_t total_size;
    uint32_t reserved;
};

struct multiboot2_tag {
    uint32_t type;
    uint32_t size;
};

struct multiboot2_tag_string {
    struct multiboot2_tag tag;
    char string[];
};

struct multiboot2_tag_module {
    struct multiboot2_tag tag;
    uint32_t mod_start;
    uint32_t mod_end;
    char string[];
};

struct multiboot2_tag_basic_meminfo {
    struct multiboot2_tag tag;
    uint32_t mem_lower;
    uint32_t mem_upper;
};

struct multiboot2_mmap_entry {
    uint64_t base_addr;
    uint64_t length;
    uint32_t type;
    uint32_t reserved;
};

struct multiboot2_tag_mmap {
    struct multiboot2_tag tag;
    uint32_t entry_size;
    uint32_t entry_version;
};

struct __attribute__((packed)) multiboot2_tag_framebuffer {
    struct multiboot2_tag tag;
    uint64_t framebuffer_addr;
    uint32_t framebuffer_pitch;
    uint32_t framebuffer_width;
    uint32_t framebuffer_height;
    uint8_t framebuffer_bpp;
    uint8_t framebuffer_type;
    uint16_t reserved;
};

struct multiboot2_tag_load_base_addr {
    struct multiboot2_tag tag;
    uint32_t load_base_addr;
};
#endif

#endif
