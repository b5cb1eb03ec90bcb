/* elf-default-layout: an ELF64 kernel linked the way a first kernel usually is, without a linker
 * script (ld -static -nostdlib -Ttext=0x100000 -e _start). GNU ld's default layout with
 * -z separate-code gives it four PT_LOAD segments: the ELF and program headers alone, one page
 * below .text (0xff000), then .text at 1 MiB, .rodata, and .data with .bss at an address that is
 * not page aligned. The guest checks that each arrived, prints what it found on COM1 and powers
 * off; a segment that is missing ends it through the debug-exit port with a failure code. */
#include "console.h"
#include "io.h"

#include <stdint.h>

#define ELF_HEADERS_MISSING 0x11
#define DATA_MISSING 0x12
#define BSS_NOT_ZERO 0x13

/* Defined by GNU ld when the ELF header lies in a loaded segment. */
extern const unsigned char __ehdr_start[];

static volatile uint32_t data_word = 0x5eed1e55;
static volatile uint32_t bss_words[64];

static __attribute__((noreturn)) void fail(const char* what, uint8_t code) {
    console_puts("elf-default-layout: ");
    console_puts(what);
    console_puts("\n");
    debug_exit(code);
}

void guest_main(void) {
    if (__ehdr_start[0] != 0x7f || __ehdr_start[1] != 'E' || __ehdr_start[2] != 'L' ||
        __ehdr_start[3] != 'F')
        fail("no ELF header at __ehdr_start", ELF_HEADERS_MISSING);
    if (data_word != 0x5eed1e55)
        fail(".data was not loaded", DATA_MISSING);
    for (unsigned i = 0; i < sizeof bss_words / sizeof bss_words[0]; ++i)
        if (bss_words[i] != 0)
            fail(".bss is not zero", BSS_NOT_ZERO);
    console_puts("elf-default-layout: ELF header at ");
    console_hex64((uint64_t)(uintptr_t)__ehdr_start);
    console_puts(", .text at ");
    console_hex64((uint64_t)(uintptr_t)guest_main);
    console_puts(", .data and .bss ok\n");
    power_off();
}
