/* longmode: the ELF64 demo. Entered in 64-bit long mode at 1 MiB (identity paging, flat GDT,
 * interrupts off), it
 *   1. prints a greeting, CR0, CR3, CR4 and EFER as the VMM set them, and checks that it runs in
 *      64-bit mode (EFER.LMA = 1 and the L bit of the CS descriptor);
 *   2. builds its own GDT (ring-0 and ring-3 segments, a TSS), IDT (exceptions 0-31) and page tables (the first 2 MiB page supervisor-only, the second — where
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

/* Segment descriptors (Intel SDM vol. 3A, 3.4.5): access byte and flags nibble. */
#define DESC_PRESENT 0x80
#define DESC_DPL_SHIFT 5
#define DESC_CODE_OR_DATA 0x10
#define DESC_TYPE_CODE_READ 0x0A
#define DESC_TYPE_DATA_WRITE 0x02
#define DESC_TYPE_TSS_AVAILABLE 0x09
#define DESC_FLAG_GRANULARITY 0x8
#define DESC_FLAG_32BIT 0x4
#define DESC_FLAG_LONG_MODE 0x2
#define DESC_LONG_MODE_BIT (1ull << 53)
#define DESC_LIMIT_MAX 0xFFFFF

/* IDT gates (Intel SDM vol. 3A, 6.14.1): present, DPL, type 0xE = 64-bit interrupt gate. */
#define GATE_INTERRUPT 0x0E
#define IDT_ENTRIES 256

/* 4-level paging entries (Intel SDM vol. 3A, 4.5). */
#define PAGE_PRESENT 0x001
#define PAGE_WRITABLE 0x002
#define PAGE_USER 0x004
#define PAGE_LARGE 0x080 /* in a page-directory entry: maps a 2 MiB page */
#define LARGE_PAGE_SIZE 0x200000ull
#define PAGE_TABLE_ENTRIES 512

/* From longmode.ld: the user-accessible range. */
extern char user_start[], user_end[];

/* The 64-bit TSS (Intel SDM vol. 3A, 8.7, figure 8-11). Only RSP0 matters here: the stack the
 * CPU switches to when an exception comes from ring 3. No I/O bitmap: its offset is the limit. */
struct __attribute__((packed)) tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t io_map_base;
};

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attributes;
    uint16_t offset_middle;
    uint32_t offset_high;
    uint32_t reserved;
};

static uint64_t gdt[GDT_ENTRIES];
static struct tss64 tss;
static struct idt_gate idt[IDT_ENTRIES];
static uint8_t interrupt_stack[8192] __attribute__((aligned(16)));
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

static uint64_t segment_descriptor(unsigned dpl, unsigned type, unsigned flags) {
    const uint64_t access = DESC_PRESENT | (dpl << DESC_DPL_SHIFT) | DESC_CODE_OR_DATA | type;
    /* Base 0 and limit 0xFFFFF pages: flat (ignored for code and data in 64-bit mode anyway). */
    return (DESC_LIMIT_MAX & 0xFFFF) | ((uint64_t)(DESC_LIMIT_MAX >> 16) << 48) | (access << 40) |
           ((uint64_t)flags << 52);
}

static void set_up_gdt_and_tss(void) {
    tss.rsp[0] = (uint64_t)(interrupt_stack + sizeof interrupt_stack);
    tss.io_map_base = sizeof tss;

    gdt[0] = 0;
    gdt[KERNEL_CODE_SELECTOR >> 3] = segment_descriptor(
        0, DESC_TYPE_CODE_READ, DESC_FLAG_GRANULARITY | DESC_FLAG_LONG_MODE);
    gdt[KERNEL_DATA_SELECTOR >> 3] =
        segment_descriptor(0, DESC_TYPE_DATA_WRITE, DESC_FLAG_GRANULARITY | DESC_FLAG_32BIT);
    gdt[USER_DATA_SELECTOR >> 3] =
        segment_descriptor(3, DESC_TYPE_DATA_WRITE, DESC_FLAG_GRANULARITY | DESC_FLAG_32BIT);
    gdt[USER_CODE_SELECTOR >> 3] = segment_descriptor(
        3, DESC_TYPE_CODE_READ, DESC_FLAG_GRANULARITY | DESC_FLAG_LONG_MODE);
    /* A 16-byte system descriptor (Intel SDM vol. 3A, 8.2.3, figure 8-4). */
    const uint64_t base = (uint64_t)&tss;
    const uint64_t limit = sizeof tss - 1;
    gdt[TSS_SELECTOR >> 3] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) |
                             ((uint64_t)(DESC_PRESENT | DESC_TYPE_TSS_AVAILABLE) << 40) |
                             (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    gdt[(TSS_SELECTOR >> 3) + 1] = base >> 32;

    const struct descriptor_pointer gdtr = {sizeof gdt - 1, (uint64_t)gdt};
    load_segments(&gdtr);
    __asm__ volatile("ltr %w0" : : "r"(TSS_SELECTOR));
}

static void set_gate(unsigned vector, uint64_t handler, unsigned dpl) {
    idt[vector] = (struct idt_gate){
        .offset_low = (uint16_t)handler,
        .selector = KERNEL_CODE_SELECTOR,
        .ist = 0,
        .type_attributes = (uint8_t)(DESC_PRESENT | (dpl << DESC_DPL_SHIFT) | GATE_INTERRUPT),
        .offset_middle = (uint16_t)(handler >> 16),
        .offset_high = (uint32_t)(handler >> 32),
        .reserved = 0,
    };
}

static void set_up_idt(void) {
    for (unsigned vector = 0; vector < IDT_ENTRIES; ++vector)
        idt[vector] = (struct idt_gate){0}; /* not present: using one raises #GP */
    for (unsigned vector = 0; vector < EXCEPTION_VECTORS; ++vector)
        set_gate(vector, exception_stubs[vector], 0);
    /* #UD doubles as ring 3's way back (see the top of this file). */
    set_gate(6, (uint64_t)ring3_return_entry, 0);
    const struct descriptor_pointer idtr = {sizeof idt - 1, (uint64_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
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
