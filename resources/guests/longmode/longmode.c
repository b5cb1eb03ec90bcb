/* longmode: the ELF64 demo. Entered in 64-bit long mode at 1 MiB (identity paging, flat GDT,
 * interrupts off), it
 *   1. prints a greeting, CR0, CR3, CR4 and EFER as the VMM set them, and checks that it runs in
 *      64-bit mode (EFER.LMA = 1 and the L bit of the CS descriptor);
 *   2. builds its own GDT (ring-0 and ring-3 segments, a TSS) and IDT (exceptions 0-31) with
 *      ring0.c, and page tables (the first 2 MiB page supervisor-only, the second — where
 *      user.c lives — user-accessible);
 *   3. drops to ring 3 with iretq, where user.c counts the primes below 100000;
 *   4. comes back to ring 0 through a deliberate `ud2` at `ring3_exit`, prints the count and
 *      powers off.
 * Why `ud2` and not `int 0x80` or `syscall`: hosts whose KVM runs guest ring 3 natively through a
 * software layer (PVM) turn `int 0x80` from ring 3 into #UD and do not switch to ring 0 on
 * `syscall` unless the guest speaks that layer's own ABI; an exception from ring 3 is delivered
 * through the guest's IDT everywhere. The #UD handler (ring3_return_entry in start.S) treats a
 * #UD at exactly `ring3_exit` as the return and reports any other as an unexpected exception.
 * Any unexpected exception prints its vector and ends the VM through the debug-exit port with
 * GUEST_EXIT_EXCEPTION. */
#include "longmode.h"

#include "console.h"
#include "io.h"

#include <stdint.h>

/* Control registers and EFER (Intel SDM vol. 3A, 2.5 and 2.2.1). */
#define MSR_EFER 0xC0000080
#define EFER_LMA (1ull << 10)

/* The L bit of a code-segment descriptor (Intel SDM vol. 3A, 3.4.5). */
#define DESC_LONG_MODE_BIT (1ull << 53)

/* 4-level paging entries (Intel SDM vol. 3A, 4.5). */
#define PAGE_PRESENT 0x001
#define PAGE_WRITABLE 0x002
#define PAGE_USER 0x004
#define PAGE_LARGE 0x080 /* in a page-directory entry: maps a 2 MiB page */
#define LARGE_PAGE_SIZE 0x200000ull
#define PAGE_TABLE_ENTRIES 512

/* From longmode.ld: the user-accessible range. */
extern char user_start[], user_end[];

static uint64_t pml4[PAGE_TABLE_ENTRIES] __attribute__((aligned(4096)));
static uint64_t pdpt[PAGE_TABLE_ENTRIES] __attribute__((aligned(4096)));
static uint64_t page_directory[PAGE_TABLE_ENTRIES] __attribute__((aligned(4096)));

static uint64_t read_cr0(void) {
    uint64_t value;
    __asm__ volatile("mov %%cr0, %0" : "=r"(value));
    return value;
}

static uint64_t read_cr3(void) {
    uint64_t value;
    __asm__ volatile("mov %%cr3, %0" : "=r"(value));
    return value;
}

static uint64_t read_cr4(void) {
    uint64_t value;
    __asm__ volatile("mov %%cr4, %0" : "=r"(value));
    return value;
}

static uint64_t rdmsr(uint32_t msr) {
    uint32_t low, high;
    __asm__ volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
    return ((uint64_t)high << 32) | low;
}

static uint16_t read_cs(void) {
    uint16_t value;
    __asm__ volatile("mov %%cs, %0" : "=r"(value));
    return value;
}

static void print_register(const char* name, uint64_t value) {
    console_puts(name);
    console_puts(" = ");
    console_hex64(value);
    console_puts("\n");
}

/* Long mode is active (EFER.LMA) and CS is a 64-bit code segment (its L bit): 64-bit mode
 * (Intel SDM vol. 3A, 2.2.1 and 5.2.1). The descriptor comes from the VMM's GDT. */
static int in_64bit_mode(uint64_t efer) {
    struct descriptor_pointer gdtr;
    __asm__ volatile("sgdt %0" : "=m"(gdtr));
    const uint16_t index = read_cs() >> 3;
    const uint64_t descriptor = ((const uint64_t*)gdtr.base)[index];
    return (efer & EFER_LMA) && (descriptor & DESC_LONG_MODE_BIT);
}

/* Identity-maps the first 1 GiB with 2 MiB pages, user-accessible only where user.c lives. The
 * upper levels allow user access; the page-directory entries decide (Intel SDM vol. 3A, 4.6.1:
 * access rights combine across levels). */
static void set_up_paging(void) {
    for (unsigned i = 0; i < PAGE_TABLE_ENTRIES; ++i) {
        pml4[i] = 0;
        pdpt[i] = 0;
    }
    pml4[0] = (uint64_t)pdpt | PAGE_PRESENT | PAGE_WRITABLE | PAGE_USER;
    pdpt[0] = (uint64_t)page_directory | PAGE_PRESENT | PAGE_WRITABLE | PAGE_USER;
    const uint64_t user_first = (uint64_t)user_start, user_last = (uint64_t)user_end - 1;
    for (unsigned i = 0; i < PAGE_TABLE_ENTRIES; ++i) {
        const uint64_t address = i * LARGE_PAGE_SIZE;
        const int user =
            address + LARGE_PAGE_SIZE > user_first && address <= user_last; /* overlaps */
        page_directory[i] =
            address | PAGE_PRESENT | PAGE_WRITABLE | PAGE_LARGE | (user ? PAGE_USER : 0);
    }
    __asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)pml4) : "memory");
}

void kernel_main(void) {
    console_puts("Hello from the kvmscope longmode demo\n");
    const uint64_t efer = rdmsr(MSR_EFER);
    print_register("CR0 ", read_cr0());
    print_register("CR3 ", read_cr3());
    print_register("CR4 ", read_cr4());
    print_register("EFER", efer);
    if (in_64bit_mode(efer))
        console_puts("running in 64-bit mode (EFER.LMA = 1, CS.L = 1)\n");
    else
        console_puts("not in 64-bit mode?\n");

    set_up_gdt_and_tss();
    set_up_idt();
    /* #UD doubles as ring 3's way back (see the top of this file). */
    set_idt_gate(6, ring3_return_entry);
    set_up_paging();

    console_puts("entering ring 3 to count the primes below ");
    console_dec(SIEVE_LIMIT);
    console_puts("\n");
    const uint64_t primes =
        run_in_ring3(user_main, (uint64_t)(user_stack + USER_STACK_SIZE - sizeof(uint64_t)));
    console_puts("back in ring ");
    console_dec(read_cs() & 3);
    console_puts(" through ud2 at ring3_exit\n");
    console_puts("primes below ");
    console_dec(SIEVE_LIMIT);
    console_puts(": ");
    console_dec((uint32_t)primes);
    console_puts("\n");
    console_puts("powering off\n");
    power_off();
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
