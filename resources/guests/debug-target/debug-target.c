/* debug-target: the guest the debugger's tests drive (docs/debugger.md). An ELF64 kernel entered
 * in long mode at 1 MiB, linked with its symbol table kept, that
 *   1. prints "debug-target" on COM1 — its first write to the UART's THR, the target of the exit
 *      breakpoint test;
 *   2. builds its own 4-level page tables with every page size the CPU offers: the first 2 MiB in
 *      4 KiB pages, the rest of the first GiB in 2 MiB pages, an alias GiB at 1 GiB mapped by one
 *      1 GiB page when CPUID.80000001H:EDX.Page1GB says so (else by 2 MiB pages), and one 4 KiB
 *      alias page at 2 GiB onto `watched_counter`'s page; then calls paging_ready();
 *   3. calls add_step(total, n) for n = 1..8 (a function to break at, with its arguments in RDI
 *      and RSI), each call adding n to `watched_counter` (a variable to watch);
 *   4. calls frame_outer -> frame_middle -> frame_leaf (built with frame pointers, for the
 *      call-stack view);
 *   5. prints the total and powers off.
 * Paging follows Intel SDM vol. 3A, 4.5. */
#include "console.h"
#include "io.h"

#include <stdint.h>

#define PAGE_PRESENT 0x001
#define PAGE_WRITABLE 0x002
#define PAGE_LARGE 0x080 /* PS: a 2 MiB page in a PDE, a 1 GiB page in a PDPTE */
#define PAGE_NO_EXECUTE (1ull << 63)
#define PAGE_TABLE_ENTRIES 512
#define PAGE_4K 0x1000ull
#define PAGE_2M 0x200000ull
#define PAGE_1G 0x40000000ull
#define MSR_EFER 0xC0000080
#define EFER_NXE (1ull << 11)
/* CPUID.80000001H:EDX bit 26: 1 GiB pages (SDM vol. 2A, CPUID). */
#define CPUID_EXT_FEATURES 0x80000001
#define CPUID_EDX_PAGE1GB (1u << 26)

#define ALIAS_GIB_BASE PAGE_1G           /* linear 1 GiB -> physical 0 */
#define ALIAS_PAGE_BASE (2 * PAGE_1G)    /* linear 2 GiB -> watched_counter's page */
#define STEP_COUNT 8

volatile uint64_t watched_counter;
/* What CPUID told this guest about 1 GiB pages (the page-walk test reads it). */
volatile uint32_t guest_has_1gib_pages;

static uint64_t pml4[PAGE_TABLE_ENTRIES] __attribute__((aligned(4096)));
static uint64_t pdpt[PAGE_TABLE_ENTRIES] __attribute__((aligned(4096)));
static uint64_t pd_low[PAGE_TABLE_ENTRIES] __attribute__((aligned(4096)));
static uint64_t pt_low[PAGE_TABLE_ENTRIES] __attribute__((aligned(4096)));
static uint64_t pd_alias_gib[PAGE_TABLE_ENTRIES] __attribute__((aligned(4096)));
static uint64_t pd_alias_page[PAGE_TABLE_ENTRIES] __attribute__((aligned(4096)));
static uint64_t pt_alias_page[PAGE_TABLE_ENTRIES] __attribute__((aligned(4096)));

static int has_1gib_pages(void) {
    uint32_t eax = CPUID_EXT_FEATURES, ebx, ecx = 0, edx;
    __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
    return (edx & CPUID_EDX_PAGE1GB) != 0;
}

static uint64_t rdmsr(uint32_t msr) {
    uint32_t low, high;
    __asm__ volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
    return ((uint64_t)high << 32) | low;
}

static void wrmsr(uint32_t msr, uint64_t value) {
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
}

static void set_up_paging(void) {
    const uint64_t rw = PAGE_PRESENT | PAGE_WRITABLE;
    for (unsigned i = 0; i < PAGE_TABLE_ENTRIES; ++i) {
        pml4[i] = pdpt[i] = pd_alias_page[i] = pt_alias_page[i] = 0;
        pt_low[i] = i * PAGE_4K | rw;               /* [0, 2 MiB) in 4 KiB pages */
        pd_low[i] = i * PAGE_2M | rw | PAGE_LARGE;  /* [0, 1 GiB) in 2 MiB pages ... */
        pd_alias_gib[i] = i * PAGE_2M | rw | PAGE_LARGE | PAGE_NO_EXECUTE;
    }
    pd_low[0] = (uint64_t)pt_low | rw; /* ... but the first 2 MiB through the page table */
    pml4[0] = (uint64_t)pdpt | rw;
    pdpt[0] = (uint64_t)pd_low | rw;
    guest_has_1gib_pages = has_1gib_pages();
    if (guest_has_1gib_pages)
        pdpt[ALIAS_GIB_BASE / PAGE_1G] = 0 | rw | PAGE_LARGE | PAGE_NO_EXECUTE;
    else
        pdpt[ALIAS_GIB_BASE / PAGE_1G] = (uint64_t)pd_alias_gib | rw;
    /* A read-only 4 KiB alias of watched_counter's page. */
    pdpt[ALIAS_PAGE_BASE / PAGE_1G] = (uint64_t)pd_alias_page | rw;
    pd_alias_page[0] = (uint64_t)pt_alias_page | rw;
    pt_alias_page[0] = ((uint64_t)&watched_counter & ~(PAGE_4K - 1)) | PAGE_PRESENT;

    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE); /* XD bits are reserved without it */
    __asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)pml4) : "memory");
}

/* Where the page-walk test stops: the guest's own tables are live. */
__attribute__((noinline)) void paging_ready(void) {
    __asm__ volatile("" : : : "memory");
}

/* The breakpoint and watchpoint target: adds `step` to watched_counter and to `value`. */
__attribute__((noinline)) uint64_t add_step(uint64_t value, uint64_t step) {
    watched_counter += step;
    return value + step;
}

/* The call-stack target: three nested calls that keep a frame pointer (rbp chain: [rbp] the
 * caller's rbp, [rbp+8] the return address), whatever -fomit-frame-pointer -O2 does elsewhere.
 * kernel_main calls frame_outer once after the add_step loop; its result goes to frame_result
 * and changes nothing the guest prints. */
volatile uint64_t frame_result;

/* A leaf keeps no frame even so (GCC omits it in leaf functions): frame_leaf calls this one so
 * that it sets up its own. */
__attribute__((noinline)) uint64_t frame_work(uint64_t x) {
    __asm__ volatile("" : : : "memory");
    return x * 3;
}

__attribute__((noinline, optimize("no-omit-frame-pointer"))) uint64_t frame_leaf(uint64_t x) {
    return frame_work(x) + 3;
}

__attribute__((noinline, optimize("no-omit-frame-pointer"))) uint64_t frame_middle(uint64_t x) {
    return frame_leaf(x + 1) + 1;
}

__attribute__((noinline, optimize("no-omit-frame-pointer"))) uint64_t frame_outer(uint64_t x) {
    return frame_middle(x + 2) + 2;
}

void kernel_main(void) {
    console_puts("debug-target\n");
    set_up_paging();
    paging_ready();
    uint64_t total = 0;
    for (uint64_t n = 1; n <= STEP_COUNT; ++n)
        total = add_step(total, n);
    frame_result = frame_outer(total);
    console_puts("total ");
    console_dec((uint32_t)total);
    console_puts(", counter ");
    console_dec((uint32_t)watched_counter);
    console_puts("\n");
    power_off();
}
