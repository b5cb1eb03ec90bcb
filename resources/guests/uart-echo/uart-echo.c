/* uart-echo: proves the path UART -> interrupt controller -> guest interrupt handler. A
 * Multiboot 1 kernel that
 *   1. loads its own GDT and an IDT (exceptions 0-31 report and stop; IRQ 4 -> uart_interrupt;
 *      everything else is ignored);
 *   2. programs the 8259 pair (ICW1-ICW4: vectors 0x20-0x2F, cascade on IR2, 8086 mode) and
 *      masks every IRQ but COM1's IRQ 4; puts the local APIC in virtual-wire mode (LINT0 =
 *      ExtINT), the way a BIOS leaves it, so the 8259's interrupts reach the CPU;
 *   3. enables the UART's received-data interrupt (IER.ERBFI) and its IRQ output (MCR.OUT2),
 *      prints "ready" and waits with sti; hlt.
 * Each interrupt drains the receiver: a byte is echoed upper-cased ('\r' as "\r\n"), and 'q'
 * prints "bye" and powers off. */
#include "uart-echo.h"

#include "console.h"
#include "gdt32.h"
#include "io.h"
#include "multiboot.h"

#include <stdint.h>

#define PIC1_VECTOR_BASE 0x20
#define PIC2_VECTOR_BASE 0x28
#define UART_VECTOR (PIC1_VECTOR_BASE + COM1_IRQ)
#define PIC_MASK_ALL 0xFF
#define LAPIC_SPURIOUS_VECTOR 0xFF
#define UART_LCR_8N1 0x03      /* 8 data bits, no parity, 1 stop bit, DLAB = 0 */
#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define QUIT_KEY 'q'

/* 32-bit IDT gate (Intel SDM vol. 3A, 6.11): present, DPL 0, type 0xE = 32-bit interrupt gate. */
#define GATE_INTERRUPT32_PRESENT 0x8E
#define IDT_ENTRIES 256

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t zero;
    uint8_t type_attributes;
    uint16_t offset_high;
};

struct __attribute__((packed)) descriptor_pointer {
    uint16_t limit;
    uint32_t base;
};

static struct idt_gate idt[IDT_ENTRIES];

static void set_gate(unsigned vector, void (*handler)(void)) {
    const uint32_t offset = (uint32_t)(uintptr_t)handler;
    idt[vector] = (struct idt_gate){
        .offset_low = (uint16_t)offset,
        .selector = GDT32_CODE_SELECTOR,
        .zero = 0,
        .type_attributes = GATE_INTERRUPT32_PRESENT,
        .offset_high = (uint16_t)(offset >> 16),
    };
}

static void set_up_idt(void) {
    for (unsigned vector = 0; vector < IDT_ENTRIES; ++vector)
        set_gate(vector, ignore_interrupt);
    for (unsigned vector = 0; vector < EXCEPTION_VECTORS; ++vector)
        set_gate(vector, (void (*)(void))(uintptr_t)exception_stubs[vector]);
    set_gate(UART_VECTOR, uart_irq_entry);
    const struct descriptor_pointer idtr = {sizeof idt - 1, (uint32_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

/* 8259A initialisation sequence (8259A datasheet, "Initialization Command Words"). */
static void set_up_pics(void) {
    outb(PIC1_COMMAND, PIC_ICW1_INIT | PIC_ICW1_ICW4);
    outb(PIC2_COMMAND, PIC_ICW1_INIT | PIC_ICW1_ICW4);
    outb(PIC1_DATA, PIC1_VECTOR_BASE);        /* ICW2: vector of IR0 */
    outb(PIC2_DATA, PIC2_VECTOR_BASE);
    outb(PIC1_DATA, 1 << PIC_CASCADE_IRQ);    /* ICW3 (master): a slave on IR2 */
    outb(PIC2_DATA, PIC_CASCADE_IRQ);         /* ICW3 (slave): its cascade identity */
    outb(PIC1_DATA, PIC_ICW4_8086);           /* ICW4 */
    outb(PIC2_DATA, PIC_ICW4_8086);
    outb(PIC1_DATA, (uint8_t)~(1u << COM1_IRQ)); /* OCW1: only IRQ 4 */
    outb(PIC2_DATA, PIC_MASK_ALL);
}

/* Virtual-wire mode (MultiProcessor Specification 1.4, 3.6.2.2): the local APIC passes the
 * 8259's INTR through LINT0 as ExtINT; LINT1 carries NMI. */
static void set_up_virtual_wire(void) {
    mmio_write32(LAPIC_DEFAULT_BASE + LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
    mmio_write32(LAPIC_DEFAULT_BASE + LAPIC_LVT_LINT0, LAPIC_DELIVERY_EXTINT);
    mmio_write32(LAPIC_DEFAULT_BASE + LAPIC_LVT_LINT1, LAPIC_DELIVERY_NMI);
}

static char upper_case(char c) {
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Reads every byte the receiver holds; returns nonzero once QUIT_KEY came. */
static int drain_receiver(void) {
    while (inb(COM1_BASE + UART_LSR) & UART_LSR_DR) {
        const char c = (char)inb(COM1_BASE + UART_RBR);
        if (c == QUIT_KEY)
            return 1;
        /* A terminal's Enter is '\r'; console_putc turns '\n' into "\r\n". */
        console_putc(c == '\r' ? '\n' : upper_case(c));
    }
    return 0;
}

static __attribute__((noreturn)) void quit(void) {
    console_puts("\nbye\n");
    power_off();
}

void uart_interrupt(void) {
    const int done = drain_receiver();
    outb(PIC1_COMMAND, PIC_OCW2_EOI);
    if (done)
        quit();
}

void exception_handler(const struct exception_frame* frame) {
    console_puts("\nunexpected exception ");
    console_dec(frame->vector);
    console_puts(" error code ");
    console_hex32(frame->error_code);
    console_puts(" at CS:EIP ");
    console_hex(frame->cs, 4);
    console_puts(":");
    console_hex32(frame->eip);
    console_puts("\n");
    debug_exit(GUEST_EXIT_EXCEPTION);
}

void guest_main(uint32_t magic, const struct multiboot_info* info) {
    (void)magic;
    (void)info;
    load_gdt32();
    set_up_idt();
    set_up_pics();
    set_up_virtual_wire();

    outb(COM1_BASE + UART_LCR, UART_LCR_8N1);
    outb(COM1_BASE + UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
    outb(COM1_BASE + UART_IER, UART_IER_ERBFI);
    console_puts("ready\n");

    /* Bytes that arrived before the interrupt was enabled are read now. */
    if (drain_receiver())
        quit();
    /* sti takes effect after the next instruction, so no interrupt slips in between sti and
     * hlt: each one ends a hlt, runs the handler and comes back here (Intel SDM vol. 2B, STI). */
    for (;;)
        __asm__ volatile("sti; hlt; cli" : : : "memory");
}
