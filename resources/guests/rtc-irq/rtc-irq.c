/* rtc-irq: proves the path RTC -> IRQ 8 -> slave 8259 -> guest interrupt handler, and the
 * MC146818A's three interrupts. A Multiboot 1 kernel that
 *   1. loads its own GDT and an IDT (exceptions 0-31 report and stop; IRQ 8 -> rtc_interrupt;
 *      everything else is ignored), programs the 8259 pair (vectors 0x20-0x2F, cascade on IR2)
 *      with every IRQ masked but the cascade and IRQ 8, and puts the local APIC in virtual-wire
 *      mode, as uart-echo does;
 *   2. selects the 64 Hz periodic rate and enables the periodic (PIE) and update-ended (UIE)
 *      interrupts; the handler reads register C once per interrupt and counts its flags;
 *   3. at the first update interrupt, sets the alarm two seconds ahead with the minutes and hours
 *      "don't care" (0xFF, 0xC0) and enables AIE; counts the periodic interrupts up to the second
 *      update interrupt (one second of the RTC's own time) and waits for the alarm;
 *   4. stops reading register C in the handler: exactly one interrupt may come, since without the
 *      read the line stays high and the 8259 sees no new edge; then reads register C itself and
 *      the interrupts resume;
 *   5. prints what it counted and writes RTC_IRQ_OK (0x31: status 99) to the debug-exit port,
 *      or RTC_IRQ_FAIL (0x32: status 101) after "rtc-irq: FAIL:" lines.
 * All in about three seconds of guest time. The periodic count may be lower than 64 but never
 * higher: a tick that comes while the previous one is unacknowledged merges into it (PF is a
 * flag), and the ticks after the second update merge into its interrupt. A host that stalls
 * the guest or the VMM's timer thread for more than a tick period (15.6 ms) loses ticks, as an
 * emulated (TCG) host does now and then; one that loses more than half of them fails. */
#include "rtc-irq.h"

#include "console.h"
#include "gdt32.h"
#include "io.h"
#include "multiboot.h"

#include <stdint.h>

#define PIC1_VECTOR_BASE 0x20
#define PIC2_VECTOR_BASE 0x28
#define RTC_VECTOR (PIC2_VECTOR_BASE + RTC_IRQ - 8)
#define PIC_MASK_ALL 0xFF
#define LAPIC_SPURIOUS_VECTOR 0xFF

#define RTC_IRQ_OK 0x31
#define RTC_IRQ_FAIL 0x32
#define PERIODIC_HZ 64
#define PERIODIC_MIN (PERIODIC_HZ / 2)
#define ALARM_AHEAD_SECONDS 2
#define NO_ACK_WAIT_UNITS 300 /* of 1/1024 s: 293 ms */

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

/* What the handler saw; written with interrupts off (in the handler), read by the main code. */
static volatile uint32_t interrupts;          /* every IRQ 8 */
static volatile uint32_t without_irqf;        /* register C reads in the handler without IRQF */
static volatile uint32_t periodic;            /* PF */
static volatile uint32_t updates;             /* UF */
static volatile uint32_t alarms;              /* AF */
static volatile uint32_t measuring;           /* between the first and second update */
static volatile uint32_t periodic_in_second;  /* PF between them, the second one's included */
static volatile uint32_t updates_at_alarm;
static volatile uint8_t alarm_set_for;        /* BCD seconds */
static volatile uint8_t alarm_fired_at;       /* BCD seconds when AF came */
static volatile uint64_t tsc_first_update, tsc_second_update;
static volatile uint32_t no_ack;              /* 1: the handler leaves register C alone */

static inline uint64_t rdtsc(void) {
    uint32_t low, high;
    __asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
    return ((uint64_t)high << 32) | low;
}

/* Only with interrupts off (or in the handler): the index and the data port are a pair. */
static uint8_t cmos_read(uint8_t index) {
    outb(RTC_INDEX, index);
    return inb(RTC_DATA);
}

static void cmos_write(uint8_t index, uint8_t value) {
    outb(RTC_INDEX, index);
    outb(RTC_DATA, value);
}

static uint8_t bcd_to_binary(uint8_t bcd) {
    return (uint8_t)((bcd >> 4) * 10 + (bcd & 0x0F));
}

static uint8_t binary_to_bcd(uint8_t value) {
    return (uint8_t)((value / 10) << 4 | (value % 10));
}

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
    set_gate(RTC_VECTOR, rtc_irq_entry);
    const struct descriptor_pointer idtr = {sizeof idt - 1, (uint32_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

/* 8259A initialisation sequence (8259A datasheet, "Initialization Command Words"); only the
 * cascade on the master and IRQ 8 (the slave's IR0) unmasked. */
static void set_up_pics(void) {
    outb(PIC1_COMMAND, PIC_ICW1_INIT | PIC_ICW1_ICW4);
    outb(PIC2_COMMAND, PIC_ICW1_INIT | PIC_ICW1_ICW4);
    outb(PIC1_DATA, PIC1_VECTOR_BASE);
    outb(PIC2_DATA, PIC2_VECTOR_BASE);
    outb(PIC1_DATA, 1 << PIC_CASCADE_IRQ);
    outb(PIC2_DATA, PIC_CASCADE_IRQ);
    outb(PIC1_DATA, PIC_ICW4_8086);
    outb(PIC2_DATA, PIC_ICW4_8086);
    outb(PIC1_DATA, (uint8_t)~(1u << PIC_CASCADE_IRQ));
    outb(PIC2_DATA, (uint8_t)~(1u << (RTC_IRQ - 8)));
}

/* Virtual-wire mode (MultiProcessor Specification 1.4, 3.6.2.2), as uart-echo. */
static void set_up_virtual_wire(void) {
    mmio_write32(LAPIC_DEFAULT_BASE + LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
    mmio_write32(LAPIC_DEFAULT_BASE + LAPIC_LVT_LINT0, LAPIC_DELIVERY_EXTINT);
    mmio_write32(LAPIC_DEFAULT_BASE + LAPIC_LVT_LINT1, LAPIC_DELIVERY_NMI);
}

/* An IRQ from the slave needs an EOI at both controllers. */
static void end_of_interrupt(void) {
    outb(PIC2_COMMAND, PIC_OCW2_EOI);
    outb(PIC1_COMMAND, PIC_OCW2_EOI);
}

/* The first update: the time registers hold the second that just began, so the alarm for the
 * same seconds value two seconds on comes at the third update from here on. */
static void set_alarm(void) {
    const uint8_t now = bcd_to_binary(cmos_read(RTC_SECONDS));
    alarm_set_for = binary_to_bcd((uint8_t)((now + ALARM_AHEAD_SECONDS) % 60));
    cmos_write(RTC_SECONDS_ALARM, alarm_set_for);
    cmos_write(RTC_MINUTES_ALARM, 0xFF);              /* don't care */
    cmos_write(RTC_HOURS_ALARM, RTC_ALARM_DONT_CARE); /* don't care */
    cmos_write(RTC_REGISTER_B, RTC_B_24HOUR | RTC_B_PIE | RTC_B_UIE | RTC_B_AIE);
}

void rtc_interrupt(void) {
    ++interrupts;
    if (no_ack) {
        end_of_interrupt();
        return;
    }
    /* The one read that acknowledges: it returns the flags and clears them, lowering IRQ 8. */
    const uint8_t flags = cmos_read(RTC_REGISTER_C);
    if (!(flags & RTC_C_IRQF))
        ++without_irqf;
    if (flags & RTC_C_PF) {
        ++periodic;
        if (measuring)
            ++periodic_in_second;
    }
    if (flags & RTC_C_UF) {
        ++updates;
        if (updates == 1) {
            tsc_first_update = rdtsc();
            measuring = 1;
            set_alarm();
        } else if (updates == 2) {
            tsc_second_update = rdtsc();
            measuring = 0;
        }
    }
    if ((flags & RTC_C_AF) && !alarms++) {
        alarm_fired_at = cmos_read(RTC_SECONDS);
        updates_at_alarm = updates;
    }
    end_of_interrupt();
}

void exception_handler(const struct exception_frame* frame) {
    console_puts("\nrtc-irq: FAIL: unexpected exception ");
    console_dec(frame->vector);
    console_puts(" at CS:EIP ");
    console_hex(frame->cs, 4);
    console_puts(":");
    console_hex32(frame->eip);
    console_puts("\n");
    debug_exit(GUEST_EXIT_EXCEPTION);
}

/* Sleeps until an interrupt made `done` true (the handler runs between sti and hlt: no wake-up is
 * lost, Intel SDM vol. 2B, STI). A guest that never gets one waits for the VMM's --timeout. */
#define WAIT_UNTIL(done)                                                                           \
    do {                                                                                           \
        while (!(done))                                                                            \
            __asm__ volatile("sti; hlt; cli" : : : "memory");                                     \
    } while (0)

static int failures;

static void check(int ok, const char* what) {
    if (!ok) {
        console_puts("rtc-irq: FAIL: ");
        console_puts(what);
        console_puts("\n");
        ++failures;
    }
}

void guest_main(uint32_t magic, const struct multiboot_info* info) {
    (void)magic;
    (void)info;
    load_gdt32();
    set_up_idt();
    set_up_pics();
    set_up_virtual_wire();

    /* 64 Hz, periodic and update-ended interrupts; register C read once to start clean. */
    cmos_write(RTC_REGISTER_A, RTC_A_DIVIDER_32KHZ | RTC_A_RATE_64HZ);
    cmos_read(RTC_REGISTER_C);
    cmos_write(RTC_REGISTER_B, RTC_B_24HOUR | RTC_B_PIE | RTC_B_UIE);
    console_puts("rtc-irq: ready, 64 Hz periodic and update interrupts on IRQ 8\n");

    WAIT_UNTIL(updates >= 2);
    console_puts("rtc-irq: periodic interrupts in one second: ");
    console_dec(periodic_in_second);
    console_puts(" (64 Hz selected)\n");
    WAIT_UNTIL(alarms >= 1);
    console_puts("rtc-irq: alarm set for second ");
    console_hex(alarm_set_for, 2);
    console_puts(" (minutes 0xFF, hours 0xC0: don't care) fired at second ");
    console_hex(alarm_fired_at, 2);
    console_puts(", update interrupt ");
    console_dec(updates_at_alarm);
    console_puts("\n");
    check(periodic_in_second >= PERIODIC_MIN && periodic_in_second <= PERIODIC_HZ,
          "periodic interrupts in one second outside 32..64");
    check(alarm_fired_at == alarm_set_for, "the alarm fired at another second");

    /* Without the read of register C the line stays high: one interrupt, then none. The wait is
     * timed with the TSC, calibrated against the RTC's own second above. */
    cmos_write(RTC_REGISTER_B, RTC_B_24HOUR | RTC_B_PIE);
    const uint32_t before = interrupts;
    no_ack = 1;
    WAIT_UNTIL(interrupts != before);
    /* 1/1024 s units: no 64-bit division without libgcc. */
    const uint64_t tsc_per_unit = (tsc_second_update - tsc_first_update) >> 10;
    const uint64_t end = rdtsc() + tsc_per_unit * NO_ACK_WAIT_UNITS;
    __asm__ volatile("sti" : : : "memory");
    while (rdtsc() < end)
        __asm__ volatile("pause" : : : "memory");
    __asm__ volatile("cli" : : : "memory");
    const uint32_t unacknowledged = interrupts - before;
    console_puts("rtc-irq: without a register C read: ");
    console_dec(unacknowledged);
    console_puts(" interrupt in 293 ms\n");
    check(unacknowledged == 1, "interrupts came without a register C read");

    /* The read lowers the line; the next tick is a new edge. */
    const uint8_t flags = cmos_read(RTC_REGISTER_C);
    const uint32_t after_read = interrupts;
    WAIT_UNTIL(interrupts != after_read);
    console_puts("rtc-irq: register C read ");
    console_hex(flags, 2);
    console_puts(", interrupts resumed\n");
    check((flags & (RTC_C_IRQF | RTC_C_PF)) == (RTC_C_IRQF | RTC_C_PF),
          "register C did not hold IRQF and PF");
    check(without_irqf == 0, "an interrupt's register C read lacked IRQF");

    cmos_write(RTC_REGISTER_B, RTC_B_24HOUR);
    cmos_read(RTC_REGISTER_C);
    console_puts("rtc-irq: interrupts ");
    console_dec(interrupts);
    console_puts(", periodic ");
    console_dec(periodic);
    console_puts(", update ");
    console_dec(updates);
    console_puts(", alarm ");
    console_dec(alarms);
    console_puts("\n");
    if (failures) {
        console_puts("rtc-irq: failed\n");
        debug_exit(RTC_IRQ_FAIL);
    }
    console_puts("rtc-irq: ok\n");
    debug_exit(RTC_IRQ_OK);
}
