/* The ring-0 tables of the long-mode guests (longmode, plasma): a GDT with ring-0 and ring-3
 * segments and a TSS, and an IDT whose exception vectors go to start.S's stubs. */
#include "longmode.h"

#include <stdint.h>

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
#define DESC_LIMIT_MAX 0xFFFFF

/* IDT gates (Intel SDM vol. 3A, 6.14.1): present, DPL, type 0xE = 64-bit interrupt gate. */
#define GATE_INTERRUPT 0x0E
#define IDT_ENTRIES 256

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

static uint64_t segment_descriptor(unsigned dpl, unsigned type, unsigned flags) {
    const uint64_t access = DESC_PRESENT | (dpl << DESC_DPL_SHIFT) | DESC_CODE_OR_DATA | type;
    /* Base 0 and limit 0xFFFFF pages: flat (ignored for code and data in 64-bit mode anyway). */
    return (DESC_LIMIT_MAX & 0xFFFF) | ((uint64_t)(DESC_LIMIT_MAX >> 16) << 48) | (access << 40) |
           ((uint64_t)flags << 52);
}

void set_up_gdt_and_tss(void) {
    tss.rsp[0] = (uint64_t)(interrupt_stack + sizeof interrupt_stack);
    tss.io_map_base = sizeof tss; /* no I/O bitmap: ring 3 has no port access */

    gdt[0] = 0;
    gdt[KERNEL_CODE_SELECTOR >> 3] =
        segment_descriptor(0, DESC_TYPE_CODE_READ, DESC_FLAG_GRANULARITY | DESC_FLAG_LONG_MODE);
    gdt[KERNEL_DATA_SELECTOR >> 3] =
        segment_descriptor(0, DESC_TYPE_DATA_WRITE, DESC_FLAG_GRANULARITY | DESC_FLAG_32BIT);
    gdt[USER_DATA_SELECTOR >> 3] =
        segment_descriptor(3, DESC_TYPE_DATA_WRITE, DESC_FLAG_GRANULARITY | DESC_FLAG_32BIT);
    gdt[USER_CODE_SELECTOR >> 3] =
        segment_descriptor(3, DESC_TYPE_CODE_READ, DESC_FLAG_GRANULARITY | DESC_FLAG_LONG_MODE);
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

void set_idt_gate(unsigned vector, void (*handler)(void)) {
    const uint64_t address = (uint64_t)handler;
    idt[vector] = (struct idt_gate){
        .offset_low = (uint16_t)address,
        .selector = KERNEL_CODE_SELECTOR,
        .ist = 0,
        .type_attributes = (uint8_t)(DESC_PRESENT | GATE_INTERRUPT), /* DPL 0 */
        .offset_middle = (uint16_t)(address >> 16),
        .offset_high = (uint32_t)(address >> 32),
        .reserved = 0,
    };
}

void set_up_idt(void) {
    for (unsigned vector = 0; vector < IDT_ENTRIES; ++vector)
        idt[vector] = (struct idt_gate){0}; /* not present: using one raises #GP */
    for (unsigned vector = 0; vector < EXCEPTION_VECTORS; ++vector)
        set_idt_gate(vector, (void (*)(void))exception_stubs[vector]);
    const struct descriptor_pointer idtr = {sizeof idt - 1, (uint64_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
}
