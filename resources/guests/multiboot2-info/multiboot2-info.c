/* multiboot2-info: prints on COM1 what a Multiboot 2 boot loader handed it, in a fixed order and
 * form whatever the order of the tags, so that two loaders (kvmscope's direct boot, GRUB from an
 * ISO) can be compared line by line; then ends through the debug-exit port with
 * MB2_INFO_EXIT_OK, or MB2_INFO_EXIT_BAD_INFO when the magic or the structure is wrong. */
#include "console.h"
#include "io.h"
#include "multiboot2.h"

#include <stdint.h>

#define MB2_INFO_EXIT_OK 0x10       /* exit status (0x10 << 1) | 1 = 33 */
#define MB2_INFO_EXIT_BAD_INFO 0x11 /* 35 */
#define MAX_TAG_TYPE 32
#define MODULE_BYTES_SHOWN 32
#define ACPI_RSDP_V1_LENGTH 20

static const struct multiboot2_tag* tags_by_type[MAX_TAG_TYPE];
static unsigned tag_counts[MAX_TAG_TYPE];

static void print_line(const char* label, const char* text) {
    console_puts(label);
    console_puts(text);
    console_putc('\n');
}

static void print_quoted(const char* text, uint32_t limit) {
    console_putc('"');
    for (uint32_t i = 0; i < limit && text[i]; ++i)
        console_putc(text[i]);
    console_putc('"');
}

static uint8_t byte_sum(const uint8_t* bytes, uint32_t length) {
    uint8_t sum = 0;
    for (uint32_t i = 0; i < length; ++i)
        sum = (uint8_t)(sum + bytes[i]);
    return sum;
}

/* The module's first bytes: as text up to the first NUL or newline when they are printable,
 * otherwise in hexadecimal. */
static void print_module_bytes(const uint8_t* bytes, uint32_t size) {
    const uint32_t shown = size < MODULE_BYTES_SHOWN ? size : MODULE_BYTES_SHOWN;
    int printable = 1;
    uint32_t text_length = 0;
    for (; text_length < shown; ++text_length) {
        const uint8_t c = bytes[text_length];
        if (c == 0 || c == '\n')
            break;
        if (c < 0x20 || c > 0x7E)
            printable = 0;
    }
    if (printable) {
        console_puts("text ");
        print_quoted((const char*)bytes, text_length);
        return;
    }
    console_puts("bytes");
    for (uint32_t i = 0; i < shown; ++i) {
        console_putc(' ');
        console_hex(bytes[i], 2);
    }
}

static void print_rsdp(const char* label, const struct multiboot2_tag* tag, int extended) {
    console_puts(label);
    if (!tag) {
        console_puts(" absent\n");
        return;
    }
    const uint8_t* rsdp = (const uint8_t*)(tag + 1);
    const uint32_t length = tag->size - sizeof *tag;
    console_puts(" signature ");
    print_quoted((const char*)rsdp, 8);
    console_puts(" revision ");
    console_dec(rsdp[15]);
    console_puts(" checksum ");
    console_puts(length >= ACPI_RSDP_V1_LENGTH && byte_sum(rsdp, ACPI_RSDP_V1_LENGTH) == 0 ? "ok"
                                                                                           : "bad");
    if (extended) {
        const uint32_t rsdp_length = *(const uint32_t*)(rsdp + 20);
        console_puts(" length ");
        console_dec(rsdp_length);
        console_puts(" extended checksum ");
        console_puts(rsdp_length <= length && byte_sum(rsdp, rsdp_length) == 0 ? "ok" : "bad");
    }
    console_putc('\n');
}

void guest_main(uint32_t magic, const struct multiboot2_info* info) {
    console_puts("multiboot2-info: magic ");
    console_hex32(magic);
    console_puts(magic == MULTIBOOT2_BOOTLOADER_MAGIC ? " ok\n" : " wrong\n");
    if (magic != MULTIBOOT2_BOOTLOADER_MAGIC)
        debug_exit(MB2_INFO_EXIT_BAD_INFO);
    /* 3.6.1: 8-byte aligned, total_size covering at least itself and the end tag. */
    print_line("info: 8-byte aligned ", ((uintptr_t)info & 7) == 0 ? "yes" : "no");
    if (((uintptr_t)info & 7) != 0 || info->total_size < 16)
        debug_exit(MB2_INFO_EXIT_BAD_INFO);

    const uint8_t* const start = (const uint8_t*)info;
    const uint8_t* const end = start + info->total_size;
    const uint8_t* at = start + sizeof *info;
    int ended = 0;
    unsigned modules = 0;
    while (at + sizeof(struct multiboot2_tag) <= end) {
        const struct multiboot2_tag* tag = (const struct multiboot2_tag*)at;
        if (tag->size < sizeof *tag || tag->size > (uint32_t)(end - at))
            break;
        if (tag->type == MULTIBOOT2_TAG_END) {
            ended = 1;
            break;
        }
        if (tag->type < MAX_TAG_TYPE) {
            if (!tags_by_type[tag->type])
                tags_by_type[tag->type] = tag;
            ++tag_counts[tag->type];
        }
        if (tag->type == MULTIBOOT2_TAG_MODULE)
            ++modules;
        at += (tag->size + 7) & ~7u;
    }
    print_line("info: end tag ", ended ? "found" : "missing");
    if (!ended)
        debug_exit(MB2_INFO_EXIT_BAD_INFO);

    console_puts("tags:");
    for (unsigned type = 1; type < MAX_TAG_TYPE; ++type) {
        if (tag_counts[type]) {
            console_putc(' ');
            console_dec(type);
        }
    }
    console_putc('\n');

    const struct multiboot2_tag_string* name =
        (const struct multiboot2_tag_string*)tags_by_type[MULTIBOOT2_TAG_BOOT_LOADER_NAME];
    console_puts("boot loader name: ");
    if (name)
        print_quoted(name->string, name->tag.size - sizeof name->tag);
    console_putc('\n');

    const struct multiboot2_tag_string* cmdline =
        (const struct multiboot2_tag_string*)tags_by_type[MULTIBOOT2_TAG_CMDLINE];
    console_puts("command line: ");
    if (cmdline)
        print_quoted(cmdline->string, cmdline->tag.size - sizeof cmdline->tag);
    console_putc('\n');

    console_puts("modules: ");
    console_dec(modules);
    console_putc('\n');
    unsigned index = 0;
    for (at = start + sizeof *info; at < end;
         at += (((const struct multiboot2_tag*)at)->size + 7) & ~7u) {
        const struct multiboot2_tag* tag = (const struct multiboot2_tag*)at;
        if (tag->type == MULTIBOOT2_TAG_END)
            break;
        if (tag->type != MULTIBOOT2_TAG_MODULE)
            continue;
        const struct multiboot2_tag_module* module = (const struct multiboot2_tag_module*)tag;
        console_puts("module ");
        console_dec(index++);
        console_puts(": start ");
        console_hex32(module->mod_start);
        console_puts(" end ");
        console_hex32(module->mod_end);
        console_puts(" size ");
        console_dec(module->mod_end - module->mod_start);
        console_puts((module->mod_start & 0xFFF) ? " unaligned" : " page-aligned");
        console_puts(" string ");
        print_quoted(module->string, module->tag.size - sizeof *module);
        console_puts(" first ");
        print_module_bytes((const uint8_t*)(uintptr_t)module->mod_start,
                           module->mod_end - module->mod_start);
        console_putc('\n');
    }

    const struct multiboot2_tag_basic_meminfo* meminfo =
        (const struct multiboot2_tag_basic_meminfo*)tags_by_type[MULTIBOOT2_TAG_BASIC_MEMINFO];
    console_puts("basic memory: ");
    if (meminfo) {
        console_puts("lower ");
        console_dec(meminfo->mem_lower);
        console_puts(" KiB upper ");
        console_dec(meminfo->mem_upper);
        console_puts(" KiB");
    }
    console_putc('\n');

    const struct multiboot2_tag_mmap* mmap =
        (const struct multiboot2_tag_mmap*)tags_by_type[MULTIBOOT2_TAG_MMAP];
    console_puts("memory map: ");
    if (mmap && mmap->entry_size >= sizeof(struct multiboot2_mmap_entry)) {
        const uint32_t count = (mmap->tag.size - sizeof *mmap) / mmap->entry_size;
        console_puts("entry size ");
        console_dec(mmap->entry_size);
        console_puts(" version ");
        console_dec(mmap->entry_version);
        console_puts(", ");
        console_dec(count);
        console_puts(" entries\n");
        for (uint32_t i = 0; i < count; ++i) {
            const struct multiboot2_mmap_entry* entry =
                (const struct multiboot2_mmap_entry*)((const uint8_t*)(mmap + 1) +
                                                      i * mmap->entry_size);
            console_puts("  base ");
            console_hex64(entry->base_addr);
            console_puts(" length ");
            console_hex64(entry->length);
            console_puts(" type ");
            console_dec(entry->type);
            console_putc('\n');
        }
    } else {
        console_puts("missing\n");
    }

    const struct multiboot2_tag_framebuffer* fb =
        (const struct multiboot2_tag_framebuffer*)tags_by_type[MULTIBOOT2_TAG_FRAMEBUFFER];
    console_puts("framebuffer: ");
    if (fb) {
        console_puts("type ");
        console_dec(fb->framebuffer_type);
        console_puts(" address ");
        console_hex64(fb->framebuffer_addr);
        console_puts(" ");
        console_dec(fb->framebuffer_width);
        console_puts("x");
        console_dec(fb->framebuffer_height);
        console_puts(" bpp ");
        console_dec(fb->framebuffer_bpp);
        console_puts(" pitch ");
        console_dec(fb->framebuffer_pitch);
    } else {
        console_puts("none");
    }
    console_putc('\n');

    print_rsdp("acpi old rsdp:", tags_by_type[MULTIBOOT2_TAG_ACPI_OLD], 0);
    print_rsdp("acpi new rsdp:", tags_by_type[MULTIBOOT2_TAG_ACPI_NEW], 1);

    const struct multiboot2_tag_load_base_addr* base =
        (const struct multiboot2_tag_load_base_addr*)tags_by_type[MULTIBOOT2_TAG_LOAD_BASE_ADDR];
    console_puts("load base: ");
    if (base)
        console_hex32(base->load_base_addr);
    else
        console_puts("none");
    console_putc('\n');

    console_puts("multiboot2-info: done\n");
    debug_exit(MB2_INFO_EXIT_OK);
}
