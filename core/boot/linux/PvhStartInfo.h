#pragma once
// The PVH boot ABI's start-of-day structures (Xen's docs/misc/pvh.pandoc and
// xen/include/public/arch-x86/hvm/start_info.h; Linux has its copy in
// include/xen/interface/hvm/start_info.h, which is not exported to user space, and Debian 12's
// /usr/include/xen has none). The loader fills them in guest memory and enters the kernel with
// EBX = the address of hvm_start_info. Every field is little-endian; the layout is fixed by the
// ABI and checked below.
#include <cstddef>
#include <cstdint>

namespace kvmscope::boot::pvh {

// xen/include/public/elfnote.h: the note that marks a PVH-capable kernel. Name "Xen", type 18,
// descriptor the 32-bit physical entry address (Linux emits it as a pointer-sized value, 8 bytes
// on x86-64, with the upper half zero).
constexpr char kXenNoteName[] = "Xen";
constexpr uint32_t kXenElfNotePhys32Entry = 18; // XEN_ELFNOTE_PHYS32_ENTRY

constexpr uint32_t kStartInfoMagic = 0x336ec578; // XEN_HVM_START_MAGIC_VALUE
// Version 1 added memmap_paddr / memmap_entries; Linux needs them outside Xen (it has no
// hypercall to ask for the memory map).
constexpr uint32_t kStartInfoVersion = 1;

// start_info.h: "The layout of the hvm_start_info structure is as follows".
struct hvm_start_info {
    uint32_t magic;          // kStartInfoMagic
    uint32_t version;        // kStartInfoVersion
    uint32_t flags;          // SIF_xxx; none apply outside Xen
    uint32_t nr_modules;     // entries at modlist_paddr
    uint64_t modlist_paddr;  // array of hvm_modlist_entry; Linux takes module 0 as the initrd
    uint64_t cmdline_paddr;  // NUL-terminated kernel command line
    uint64_t rsdp_paddr;     // the ACPI RSDP
    uint64_t memmap_paddr;   // array of hvm_memmap_table_entry (version >= 1)
    uint32_t memmap_entries; // 0: no map given
    uint32_t reserved;       // must be zero
};

struct hvm_modlist_entry {
    uint64_t paddr;         // physical address of the module
    uint64_t size;          // in bytes
    uint64_t cmdline_paddr; // the module's command line, 0 for none
    uint64_t reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr;     // base of the region
    uint64_t size;     // in bytes
    uint32_t type;     // XEN_HVM_MEMMAP_TYPE_*: the e820 type values (1 RAM, 2 reserved, ...)
    uint32_t reserved; // must be zero for version 1
};

static_assert(sizeof(hvm_start_info) == 56);
static_assert(offsetof(hvm_start_info, modlist_paddr) == 16);
static_assert(offsetof(hvm_start_info, cmdline_paddr) == 24);
static_assert(offsetof(hvm_start_info, rsdp_paddr) == 32);
static_assert(offsetof(hvm_start_info, memmap_paddr) == 40);
static_assert(offsetof(hvm_start_info, memmap_entries) == 48);
static_assert(sizeof(hvm_modlist_entry) == 32);
static_assert(sizeof(hvm_memmap_table_entry) == 24);
static_assert(offsetof(hvm_memmap_table_entry, type) == 16);

} // namespace kvmscope::boot::pvh
