/* hostile-mmio-sweep: touches the whole 32-bit physical address space outside RAM, from the end of
 * RAM (multiboot mem_upper) to 4 GiB (the MMIO sweep of docs/guests.md, "Hostile guests"). At every
 * address it reads 1, 2 and 4 bytes and writes 1, 2 and 4 bytes of a pattern; every access that
 * finds no memory there is an MMIO exit to the VMM. It touches one address per MiB everywhere, and
 * every 4 KiB page in a few windows: the first MiB past the end of RAM, the first MiB of the
 * 32-bit hole (0xC0000000), the IOAPIC's and the LAPIC's 64 KiB, and the top MiB below 4 GiB, whose
 * last bytes it also reads and writes with accesses that end exactly at 4 GiB.
 *
 * Unbacked addresses must read as all ones (a floating bus). Every touched address that does not
 * is printed as "backed 0x...": the test checks that each one is a device kvmscope has there
 * (in-kernel IOAPIC and LAPIC, the linear framebuffer). Paging is off (Multiboot), so addresses
 * are physical. Ends with HOSTILE_MMIO_SWEEP_DONE on the debug-exit port. */
#include "../hostile-common/hostile.h"
#include "console.h"
#include "io.h"
#include "multiboot.h"

#include <stdint.h>

#define MIB 0x100000ull
#define PAGE 0x1000ull
#define TOP (1ull << 32)
#define WINDOW_SIZE 0x10000ull /* 64 KiB */
#define HOLE_START 0xC0000000ull
#define IOAPIC_BASE 0xFEC00000ull
#define PATTERN 0x5A5A5A5Au
#define MAX_REPORTED 64

static uint32_t touched;
static uint32_t backed;

static void report_backed(uint32_t address) {
    ++backed;
    if (backed <= MAX_REPORTED) {
        console_puts("backed ");
        console_hex32(address);
        console_putc('\n');
    }
}

/* Reads, then writes, 1, 2 and 4 bytes at `address` (4-byte aligned, at most TOP - 4). */
static void touch(uint32_t address) {
    const uint8_t byte = hostile_read8(address);
    const uint16_t word = hostile_read16(address);
    const uint32_t dword = hostile_read32(address);
    hostile_write8(address, (uint8_t)PATTERN);
    hostile_write16(address, (uint16_t)PATTERN);
    hostile_write32(address, PATTERN);
    ++touched;
    if (byte != 0xFF || word != 0xFFFF || dword != 0xFFFFFFFFu)
        report_backed(address);
}

/* Every page of [start, start + size) that lies at or above `ram_end`. */
static void touch_pages(uint64_t start, uint64_t size, uint64_t ram_end) {
    for (uint64_t address = start; address < start + size && address < TOP; address += PAGE)
        if (address >= ram_end)
            touch((uint32_t)address);
}

void guest_main(uint32_t magic, const struct multiboot_info* info) {
    console_puts("hostile-mmio-sweep\n");
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC || !(info->flags & MULTIBOOT_INFO_MEMORY)) {
        console_puts("no multiboot memory information\n");
        debug_exit(GUEST_EXIT_EXCEPTION);
    }
    /* mem_upper: KiB from 1 MiB up to the first hole, i.e. RAM ends there (docs/boot.md). */
    const uint64_t ram_end = MIB + (uint64_t)info->mem_upper * 1024;
    const uint64_t first_mib = (ram_end + MIB - 1) & ~(MIB - 1);
    console_puts("RAM ends at ");
    console_hex32((uint32_t)ram_end);
    console_putc('\n');

    for (uint64_t address = first_mib; address < TOP; address += MIB)
        touch((uint32_t)address);
    touch_pages(ram_end, MIB, ram_end);
    touch_pages(HOLE_START, MIB, ram_end);
    touch_pages(IOAPIC_BASE, WINDOW_SIZE, ram_end);
    touch_pages(LAPIC_DEFAULT_BASE, WINDOW_SIZE, ram_end);
    touch_pages(TOP - MIB, MIB, ram_end);
    /* The last bytes below 4 GiB: accesses that end exactly at the top of the space. */
    touch((uint32_t)(TOP - 4));
    const uint16_t last_word = hostile_read16((uint32_t)(TOP - 2));
    const uint8_t last_byte = hostile_read8((uint32_t)(TOP - 1));
    hostile_write16((uint32_t)(TOP - 2), (uint16_t)PATTERN);
    hostile_write8((uint32_t)(TOP - 1), (uint8_t)PATTERN);
    if (last_word != 0xFFFF || last_byte != 0xFF)
        report_backed((uint32_t)(TOP - 2));

    console_puts("touched ");
    console_dec(touched);
    console_puts(" addresses, backed ");
    console_dec(backed);
    console_putc('\n');
    debug_exit(HOSTILE_MMIO_SWEEP_DONE);
}
