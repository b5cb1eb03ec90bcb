/* plasma: the graphics demo. An ELF64 kernel entered in long mode at 1 MiB that
 *   1. sets 640x480x32 through the Bochs VBE dispi (ports 0x1CE/0x1CF) and says so on COM1;
 *   2. builds its own GDT with ring-3 segments, a TSS, an IDT for exceptions and page tables that
 *      identity-map the first GiB (user-accessible only where user.c lives) and the framebuffer
 *      at 0xE0000000 (user-accessible);
 *   3. enters ring 3, where user.c draws an animated plasma forever.
 * Ring 3 does the drawing so that it runs natively on hosts whose KVM emulates ring-0 code
 * (docs/guests.md). The ring-3 entry and the exception stubs are the longmode demo's
 * (longmode/start.S, longmode/longmode.h), and so are its GDT, TSS and IDT (longmode/ring0.c); an
 * unexpected exception prints its vector and ends the VM through the debug-exit port with
 * GUEST_EXIT_EXCEPTION. */
#include "plasma.h"

#include "../longmode/longmode.h"
#include "console.h"
#include "dispi.h"
#include "io.h"

#include <stdint.h>

/* 4-level paging (Intel SDM vol. 3A, 4.5). */
#define PAGE_PRESENT 0x001
#define PAGE_WRITABLE 0x002
#define PAGE_USER 0x004
#define PAGE_LARGE 0x080
#define LARGE_PAGE_SIZE 0x200000ull
#define GIB 0x40000000ull
#define PAGE_TABLE_ENTRIES 512
/* The framebuffer's part: the visible screen, rounded up to 2 MiB pages. */
#define FRAMEBUFFER_BYTES ((uint64_t)PLASMA_WIDTH * PLASMA_HEIGHT * (PLASMA_BPP / 8))

extern char user_start[], user_end[];

static uint64_t pml4[PAGE_TABLE_ENTRIES] __attribute__((aligned(4096)));
static uint64_t pdpt[PAGE_TABLE_ENTRIES] __attribute__((aligned(4096)));
static uint64_t low_directory[PAGE_TABLE_ENTRIES] __attribute__((aligned(4096)));
static uint64_t high_directory[PAGE_TABLE_ENTRIES] __attribute__((aligned(4096)));

/* The first GiB identity-mapped with 2 MiB pages, user-accessible only where user.c lives, and
 * the framebuffer identity-mapped and user-accessible in the fourth GiB. The upper levels allow
 * user access; the page-directory entries decide (Intel SDM vol. 3A, 4.6.1). */
static void set_up_paging(void) {
    for (unsigned i = 0; i < PAGE_TABLE_ENTRIES; ++i) {
        pml4[i] = 0;
        pdpt[i] = 0;
        high_directory[i] = 0;
    }
    pml4[0] = (uint64_t)pdpt | PAGE_PRESENT | PAGE_WRITABLE | PAGE_USER;
    pdpt[0] = (uint64_t)low_directory | PAGE_PRESENT | PAGE_WRITABLE | PAGE_USER;
    pdpt[PLASMA_LFB_ADDRESS / GIB] =
        (uint64_t)high_directory | PAGE_PRESENT | PAGE_WRITABLE | PAGE_USER;
    const uint64_t user_first = (uint64_t)user_start, user_last = (uint64_t)user_end - 1;
    for (unsigned i = 0; i < PAGE_TABLE_ENTRIES; ++i) {
        const uint64_t address = i * LARGE_PAGE_SIZE;
        const int user = address + LARGE_PAGE_SIZE > user_first && address <= user_last;
        low_directory[i] =
            address | PAGE_PRESENT | PAGE_WRITABLE | PAGE_LARGE | (user ? PAGE_USER : 0);
    }
    const unsigned first = (unsigned)((PLASMA_LFB_ADDRESS % GIB) / LARGE_PAGE_SIZE);
    const unsigned count = (unsigned)((FRAMEBUFFER_BYTES + LARGE_PAGE_SIZE - 1) / LARGE_PAGE_SIZE);
    for (unsigned i = 0; i < count; ++i)
        high_directory[first + i] = (PLASMA_LFB_ADDRESS + i * LARGE_PAGE_SIZE) | PAGE_PRESENT |
                                    PAGE_WRITABLE | PAGE_LARGE | PAGE_USER;
    __asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)pml4) : "memory");
}

void kernel_main(void) {
    console_puts("Hello from the kvmscope plasma demo\n");
    if (!dispi_set_mode(PLASMA_WIDTH, PLASMA_HEIGHT, PLASMA_BPP)) {
        console_puts("no Bochs VBE dispi, or it refused the mode\n");
        debug_exit(GUEST_EXIT_EXCEPTION);
    }
    console_puts("plasma: ");
    console_dec(PLASMA_WIDTH);
    console_puts("x");
    console_dec(PLASMA_HEIGHT);
    console_puts("x");
    console_dec(PLASMA_BPP);
    console_puts(" set through the Bochs VBE dispi, framebuffer at ");
    console_hex32((uint32_t)PLASMA_LFB_ADDRESS);
    console_puts("\n");
    set_up_gdt_and_tss();
    set_up_idt();
    set_up_paging();
    console_puts("plasma: drawing in ring 3\n");
    run_in_ring3(user_main, (uint64_t)(user_stack + USER_STACK_SIZE - sizeof(uint64_t)));
    /* Not reached: the drawing loop does not return. */
    debug_exit(GUEST_EXIT_EXCEPTION);
}

void exception_handler(const struct exception_frame* frame) {
    console_puts("\nunexpected exception ");
    console_dec((uint32_t)frame->vector);
    console_puts(" error code ");
    console_hex32((uint32_t)frame->error_code);
    console_puts(" at CS:RIP ");
    console_hex((uint32_t)frame->cs, 4);
    console_puts(":");
    console_hex64(frame->rip);
    console_puts("\n");
    debug_exit(GUEST_EXIT_EXCEPTION);
}
