/* The PC platform as the bundled guests see it: port numbers, bits and addresses of the devices
 * kvmscope emulates (docs/guests.md, "Machine conventions"). Included from C and from
 * assembly (.S files run through the C preprocessor), so it holds only #defines. */
#ifndef KVMSCOPE_GUEST_PC_H
#define KVMSCOPE_GUEST_PC_H

/* COM1: a 16550A UART. Register offsets from the base (16550A datasheet, "Register
 * Addresses"); DLAB = 0 throughout. */
#define COM1_BASE 0x3F8
#define UART_RBR 0 /* receiver buffer (read) */
#define UART_THR 0 /* transmitter holding register (write) */
#define UART_IER 1 /* interrupt enable */
#define UART_IIR 2 /* interrupt identification (read) */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */
#define UART_IER_ERBFI 0x01 /* enable received-data-available interrupt */
#define UART_IIR_NO_INT 0x01 /* no interrupt pending */
#define UART_MCR_OUT2 0x08 /* on a PC, gates the UART's interrupt onto the ISA IRQ line */
#define UART_LSR_DR 0x01    /* data ready: RBR holds a byte */
#define UART_LSR_THRE 0x20  /* transmitter holding register empty */
#define COM1_IRQ 4

/* QEMU isa-debug-exit compatible: writing V stops the VM, the VMM exits with (V << 1) | 1. */
#define DEBUG_EXIT_PORT 0xF4
/* Failure codes the guests write to the debug-exit port (exit status 0x7E -> 253, 0x7F -> 255). */
#define GUEST_EXIT_EXCEPTION 0x7E /* an unexpected CPU exception */
#define GUEST_EXIT_TIMEOUT 0x7F   /* a bounded wait ran out (smp) */

/* ACPI PM1a control register (ACPI 6.x, 4.8.3.2.1 "PM1 Control Registers"): SLP_EN (bit 13)
 * with SLP_TYP (bits 10-12) = 0, which is S5 (soft off) on kvmscope and on QEMU's PIIX4. */
#define PM1A_CNT_PORT 0x604
#define PM1_CNT_SLP_EN 0x2000

/* The RTC (MC146818A datasheet, "Address Map" and "Registers A-D"): port 0x70 selects a register
 * (bit 7 masks NMI), port 0x71 reads or writes it; its interrupt is ISA IRQ 8. */
#define RTC_INDEX 0x70
#define RTC_DATA 0x71
#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS_ALARM 0x05
#define RTC_REGISTER_A 0x0A
#define RTC_REGISTER_B 0x0B
#define RTC_REGISTER_C 0x0C
#define RTC_A_DIVIDER_32KHZ 0x20 /* DV2-DV0 = 010: 32.768 kHz time base, running */
#define RTC_A_RATE_64HZ 0x0A     /* RS3-RS0 */
#define RTC_B_PIE 0x40
#define RTC_B_AIE 0x20
#define RTC_B_UIE 0x10
#define RTC_B_24HOUR 0x02
#define RTC_C_IRQF 0x80
#define RTC_C_PF 0x40
#define RTC_C_AF 0x20
#define RTC_C_UF 0x10
#define RTC_ALARM_DONT_CARE 0xC0 /* both top bits set: any value */
#define RTC_IRQ 8

/* POST code port. */
#define POST_PORT 0x80

/* VGA colour text mode: 80x25 cells of (character, attribute) at 0xB8000; the CRT controller's
 * index/data ports and its cursor location registers. */
#define VGA_TEXT_BASE 0xB8000
#define VGA_TEXT_SEGMENT 0xB800
#define VGA_COLUMNS 80
#define VGA_ROWS 25
#define VGA_CRTC_INDEX 0x3D4
#define VGA_CRTC_DATA 0x3D5
#define VGA_CRTC_CURSOR_HIGH 0x0E
#define VGA_CRTC_CURSOR_LOW 0x0F

/* 8259A PICs (8259A datasheet: ICW1-ICW4, OCW1-OCW2). */
#define PIC1_COMMAND 0x20
#define PIC1_DATA 0x21
#define PIC2_COMMAND 0xA0
#define PIC2_DATA 0xA1
#define PIC_ICW1_INIT 0x10 /* D4 = 1: this is ICW1 */
#define PIC_ICW1_ICW4 0x01 /* IC4: ICW4 follows */
#define PIC_ICW4_8086 0x01 /* uPM: 8086/8088 mode */
#define PIC_CASCADE_IRQ 2  /* the slave hangs off the master's IR2 */
#define PIC_OCW2_EOI 0x20  /* non-specific end of interrupt */

/* Local APIC (Intel SDM vol. 3A, 10.4.1, table 10-1: register offsets from the base). */
#define LAPIC_DEFAULT_BASE 0xFEE00000
#define LAPIC_ID 0x020
#define LAPIC_SVR 0x0F0 /* spurious interrupt vector register */
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE 0x3E0
#define LAPIC_ID_SHIFT 24
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_LVT_MASKED 0x10000
#define LAPIC_DELIVERY_NMI 0x400
#define LAPIC_DELIVERY_EXTINT 0x700
#define LAPIC_ICR_DELIVERY_INIT 0x500
#define LAPIC_ICR_DELIVERY_STARTUP 0x600
#define LAPIC_ICR_SEND_PENDING 0x1000 /* delivery status */
#define LAPIC_ICR_LEVEL_ASSERT 0x4000
#define LAPIC_ICR_TRIGGER_LEVEL 0x8000
#define LAPIC_ICR_DEST_SHIFT 24
#define LAPIC_TIMER_DIVIDE_BY_128 0x0A

#endif
