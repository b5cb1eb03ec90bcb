/* Multiboot 1 (Multiboot Specification version 0.6.96): the header a kernel carries (section
 * 3.1) and the information structure the boot loader hands it in EBX (section 3.3). */
#ifndef KVMSCOPE_GUEST_MULTIBOOT_H
#define KVMSCOPE_GUEST_MULTIBOOT_H

/* 3.1.2: header magic, and the flags these guests ask for. */
#define MULTIBOOT_HEADER_MAGIC 0x1BADB002
#define MULTIBOOT_PAGE_ALIGN 0x00000001 /* bit 0: align modules on 4 KiB */
#define MULTIBOOT_MEMORY_INFO 0x00000002 /* bit 1: provide mem_* and mmap_* */
/* 3.2: EAX on entry. */
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002

#ifndef __ASSEMBLER__
#include <stdint.h>

/* 3.3: bits of multiboot_info.flags saying which fields are valid. */
#define MULTIBOOT_INFO_MEMORY 0x00000001
#define MULTIBOOT_INFO_CMDLINE 0x00000004
#define MULTIBOOT_INFO_MODS 0x00000008
#define MULTIBOOT_INFO_MEM_MAP 0x00000040
#define MULTIBOOT_INFO_BOOT_LOADER_NAME 0x00000200

/* 3.3: the boot information structure (only the fields up to boot_loader_name are used). */
struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower; /* KiB of memory from 0, at most 640 */
    uint32_t mem_upper; /* KiB of memory from 1 MiB to the first hole */
    uint32_t boot_device;
    uint32_t cmdline; /* physical address of a NUL-terminated string */
    uint32_t mods_count;
    uint32_t mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length; /* bytes of memory map buffer */
    uint32_t mmap_addr;
    uint32_t drives_length;
    uint32_t drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name; /* physical address of a NUL-terminated string */
};

/* 3.3: one memory map entry; `size` does not count itself, so the next entry starts at
 * (char*)entry + entry->size + 4. Packed: base_addr sits at offset 4. */
struct __attribute__((packed)) multiboot_mmap_entry {
    uint32_t size;
    uint64_t base_addr;
    uint64_t length;
    uint32_t type; /* 1 = available RAM, anything else reserved */
};
#define MULTIBOOT_MEMORY_AVAILABLE 1

/* 3.3: one module. */
struct multiboot_module {
    uint32_t mod_start;
    uint32_t mod_end;
    uint32_t string;
    uint32_t reserved;
};

/* Defined by each multiboot guest, called by multiboot_start.S with EAX and EBX as entered. */
void guest_main(uint32_t magic, const struct multiboot_info* info);
#endif

#endif
