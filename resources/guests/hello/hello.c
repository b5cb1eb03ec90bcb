/* hello: the default demo. A Multiboot 1 kernel that greets on COM1, prints what the boot loader
 * told it (Multiboot 0.6.96, 3.3: loader name, command line, mem_lower/mem_upper, the memory map,
 * modules), writes a coloured greeting to the VGA text screen, places the cursor after it and
 * powers off. */
#include "console.h"
#include "io.h"
#include "multiboot.h"

#include <stdint.h>

/* Bright foreground colours on black: 0x09 (light blue) to 0x0F (white). */
#define VGA_FIRST_BRIGHT 0x09
#define VGA_LAST_BRIGHT 0x0F
#define VGA_TITLE_ATTRIBUTE 0x1F /* white on blue */
#define VGA_TEXT_ATTRIBUTE 0x07  /* light grey on black */
#define VGA_BLANK_ATTRIBUTE 0x07

static volatile uint16_t* const vga = (volatile uint16_t*)VGA_TEXT_BASE;

static void vga_put(int row, int column, char c, uint8_t attribute) {
    vga[row * VGA_COLUMNS + column] = (uint16_t)((attribute << 8) | (uint8_t)c);
}

/* Writes `text` from (row, column); returns the column after it. */
static int vga_write(int row, int column, const char* text, uint8_t attribute) {
    while (*text && column < VGA_COLUMNS)
        vga_put(row, column++, *text++, attribute);
    return column;
}

static void vga_set_cursor(int row, int column) {
    const uint16_t cell = (uint16_t)(row * VGA_COLUMNS + column);
    outb(VGA_CRTC_INDEX, VGA_CRTC_CURSOR_HIGH);
    outb(VGA_CRTC_DATA, (uint8_t)(cell >> 8));
    outb(VGA_CRTC_INDEX, VGA_CRTC_CURSOR_LOW);
    outb(VGA_CRTC_DATA, (uint8_t)cell);
}

static void draw_screen(void) {
    for (int row = 0; row < VGA_ROWS; ++row)
        for (int column = 0; column < VGA_COLUMNS; ++column)
            vga_put(row, column, ' ', row == 0 ? VGA_TITLE_ATTRIBUTE : VGA_BLANK_ATTRIBUTE);
    vga_write(0, 2, "kvmscope - hello demo", VGA_TITLE_ATTRIBUTE);

    /* The greeting, each letter in the next bright colour. */
    static const char greeting[] = "Hello from the kvmscope hello demo";
    uint8_t colour = VGA_FIRST_BRIGHT;
    int column = 2;
    for (const char* c = greeting; *c; ++c) {
        vga_put(2, column++, *c, colour);
        if (*c != ' ')
            colour = colour == VGA_LAST_BRIGHT ? VGA_FIRST_BRIGHT : (uint8_t)(colour + 1);
    }
    column = vga_write(4, 2, "This text was written to VGA memory at 0xB8000.", VGA_TEXT_ATTRIBUTE);
    vga_set_cursor(4, column);
}

static const char* memory_type_name(uint32_t type) {
    switch (type) {
    case MULTIBOOT_MEMORY_AVAILABLE:
        return "available";
    case 2:
        return "reserved";
    case 3:
        return "ACPI reclaimable";
    case 4:
        return "ACPI NVS";
    case 5:
        return "bad";
    default:
        return "unknown";
    }
}

static void print_memory_map(const struct multiboot_info* info) {
    console_puts("memory map:\n");
    uintptr_t entry_address = info->mmap_addr;
    const uintptr_t end = info->mmap_addr + info->mmap_length;
    /* Each entry's `size` excludes the size field itself (3.3); a zero size would loop for ever. */
    while (entry_address < end) {
        const struct multiboot_mmap_entry* entry =
            (const struct multiboot_mmap_entry*)entry_address;
        console_puts("  ");
        console_hex64(entry->base_addr);
        console_puts(" - ");
        console_hex64(entry->base_addr + entry->length - 1);
        console_puts(" ");
        console_puts(memory_type_name(entry->type));
        console_puts("\n");
        if (entry->size == 0)
            break;
        entry_address += entry->size + sizeof(entry->size);
    }
}

static void print_boot_information(const struct multiboot_info* info) {
    if (info->flags & MULTIBOOT_INFO_BOOT_LOADER_NAME) {
        console_puts("boot loader: ");
        console_puts((const char*)(uintptr_t)info->boot_loader_name);
        console_puts("\n");
    }
    if (info->flags & MULTIBOOT_INFO_CMDLINE) {
        console_puts("command line: ");
        console_puts((const char*)(uintptr_t)info->cmdline);
        console_puts("\n");
    }
    if (info->flags & MULTIBOOT_INFO_MEMORY) {
        console_puts("mem_lower: ");
        console_dec(info->mem_lower);
        console_puts(" KiB, mem_upper: ");
        console_dec(info->mem_upper);
        console_puts(" KiB\n");
    }
    if (info->flags & MULTIBOOT_INFO_MEM_MAP)
        print_memory_map(info);
    if (info->flags & MULTIBOOT_INFO_MODS) {
        console_puts("modules: ");
        console_dec(info->mods_count);
        console_puts("\n");
        const struct multiboot_module* modules =
            (const struct multiboot_module*)(uintptr_t)info->mods_addr;
        for (uint32_t i = 0; i < info->mods_count; ++i) {
            console_puts("  ");
            console_hex32(modules[i].mod_start);
            console_puts(" - ");
            console_hex32(modules[i].mod_end);
            if (modules[i].string) {
                console_puts(" ");
                console_puts((const char*)(uintptr_t)modules[i].string);
            }
            console_puts("\n");
        }
    }
}

void guest_main(uint32_t magic, const struct multiboot_info* info) {
    console_puts("Hello from the kvmscope hello demo\n");
    if (magic == MULTIBOOT_BOOTLOADER_MAGIC) {
        print_boot_information(info);
    } else {
        console_puts("not started by a Multiboot loader: EAX = ");
        console_hex32(magic);
        console_puts("\n");
    }
    draw_screen();
    console_puts("wrote the greeting to VGA text memory\n");
    console_puts("powering off\n");
    power_off();
}
