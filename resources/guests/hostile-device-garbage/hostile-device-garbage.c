/* hostile-device-garbage: writes pseudo-random garbage to every register of every device the
 * guest can reach, with 1-, 2- and 4-byte accesses, reading them back in between (the device
 * garbage guest of docs/guests.md, "Hostile guests"): COM1, the debug-exit and POST ports, the
 * CMOS RTC, the ACPI PM registers, the i8042, the reset control register, the Bochs display
 * interface, the in-kernel PICs, ELCR, PIT and speaker port, and the in-kernel IOAPIC and LAPIC
 * through MMIO. Interrupts stay disabled, so whatever the garbage makes the chips raise stays
 * pending.
 *
 * Garbage, except for the few bits whose architectural job is to end or reset the machine (those
 * are the exit-status guests' business): a write to the debug-exit port, SLP_EN in PM1a_CNT,
 * RST_CPU in 0xCF9, the i8042's reset pulse commands and its output-port write (bit 0 is the CPU
 * reset line), and the NMI, SMI, INIT and SIPI delivery modes of the LAPIC's ICR and LVTs and of
 * the IOAPIC's redirection entries (an NMI or INIT with no IDT set up would triple-fault or reset
 * the CPU). Those bits are cleared from the garbage; every other bit goes out as generated.
 * Ends with HOSTILE_DEVICE_GARBAGE_DONE on the debug-exit port. */
#include "../hostile-common/hostile.h"
#include "console.h"
#include "io.h"
#include "multiboot.h"

#include <stdint.h>

#define ROUNDS 64

/* Registers outside kvmscope's user-space devices (pc.h has the others). */
#define CMOS_INDEX_PORT 0x70
#define CMOS_PORT_COUNT 2
#define PIT_PORT 0x40
#define PIT_PORT_COUNT 4
#define SPEAKER_PORT 0x61
#define I8042_DATA_PORT 0x60
#define I8042_COMMAND_PORT 0x64
#define I8042_PORT_COUNT 5
#define ELCR_PORT 0x4D0 /* edge/level control of the 8259 pair */
#define ELCR_PORT_COUNT 2
#define PM_PORT 0x600
#define PM_PORT_COUNT 8
#define RESET_CONTROL_PORT 0xCF9
#define DISPI_INDEX_PORT 0x1CE /* Bochs VBE display interface: index, data */
#define DISPI_PORT_COUNT 2
#define IOAPIC_BASE 0xFEC00000u
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WINDOW 0x10
#define IOAPIC_REDIRECTION_FIRST 0x10 /* 82093AA datasheet, 3.2.4: IOREDTBL0 low dword */
#define LAPIC_REGISTER_COUNT 64       /* 0x000-0x3F0, one every 16 bytes (SDM 3A, table 10-1) */
#define LAPIC_LVT_FIRST 0x320         /* LVT timer ... LVT error */
#define LAPIC_LVT_LAST 0x370

/* The stop-and-reset bits named above. */
#define PM1A_CNT_HIGH_SLP_EN 0x20 /* SLP_EN is bit 13 of PM1a_CNT: bit 5 of its high byte */
#define RESET_CONTROL_RST_CPU 0x04
#define I8042_PULSE_FIRST 0xF0 /* 0xF0-0xFF pulse the output port's bits that are clear */
#define I8042_PULSE_RESET_LINE 0x01
#define I8042_WRITE_OUTPUT_PORT 0xD1
#define I8042_READ_OUTPUT_PORT 0xD0
#define DELIVERY_MODE_MASK 0x700u /* bits 8-10 in ICR, LVTs and redirection entries: 0 = fixed */

static uint32_t random_state = 0x6B766D73u; /* "kvms" */

/* The garbage byte that may go to `port`, with the stop-and-reset bits cleared. */
static uint8_t tame_port_byte(uint32_t port, uint8_t value) {
    switch (port) {
    case PM1A_CNT_PORT + 1:
        return value & (uint8_t)~PM1A_CNT_HIGH_SLP_EN;
    case RESET_CONTROL_PORT:
        return value & (uint8_t)~RESET_CONTROL_RST_CPU;
    case I8042_COMMAND_PORT:
        if (value >= I8042_PULSE_FIRST)
            return value | I8042_PULSE_RESET_LINE;
        if (value == I8042_WRITE_OUTPUT_PORT)
            return I8042_READ_OUTPUT_PORT;
        return value;
    default:
        return value;
    }
}

/* Reads and writes garbage at every port of [base, base + count) with every size; an access
 * that would reach the debug-exit port is left out (its write ends the run). */
static void garbage_ports(uint32_t base, uint32_t count) {
    for (uint32_t port = base; port < base + count; ++port) {
        for (uint32_t size = 1; size <= 4; size *= 2) {
            if (port <= DEBUG_EXIT_PORT && DEBUG_EXIT_PORT < port + size) {
                (void)inb((uint16_t)port);
                continue;
            }
            uint32_t value = hostile_random(&random_state);
            for (uint32_t i = 0; i < size; ++i) {
                const uint8_t tamed = tame_port_byte(port + i, (uint8_t)(value >> (8 * i)));
                value = (value & ~(0xFFu << (8 * i))) | ((uint32_t)tamed << (8 * i));
            }
            if (size == 1) {
                outb((uint16_t)port, (uint8_t)value);
                (void)inb((uint16_t)port);
            } else if (size == 2) {
                outw((uint16_t)port, (uint16_t)value);
                (void)hostile_inw((uint16_t)port);
            } else {
                hostile_outl((uint16_t)port, value);
                (void)hostile_inl((uint16_t)port);
            }
        }
    }
}

static void garbage_lapic(void) {
    for (uint32_t index = 0; index < LAPIC_REGISTER_COUNT; ++index) {
        const uint32_t offset = index * 16;
        uint32_t value = hostile_random(&random_state);
        if (offset == LAPIC_ICR_LOW || (offset >= LAPIC_LVT_FIRST && offset <= LAPIC_LVT_LAST))
            value &= ~DELIVERY_MODE_MASK;
        (void)hostile_read32(LAPIC_DEFAULT_BASE + offset);
        hostile_write32(LAPIC_DEFAULT_BASE + offset, value);
        /* Byte and word accesses, which the LAPIC does not implement. */
        hostile_write8(LAPIC_DEFAULT_BASE + offset + 1, (uint8_t)value);
        (void)hostile_read16(LAPIC_DEFAULT_BASE + offset + 2);
    }
}

static void garbage_ioapic(void) {
    const uint8_t index = (uint8_t)hostile_random(&random_state);
    uint32_t value = hostile_random(&random_state);
    if (index >= IOAPIC_REDIRECTION_FIRST && (index & 1) == 0)
        value &= ~DELIVERY_MODE_MASK;
    hostile_write32(IOAPIC_BASE + IOAPIC_REGSEL, index);
    (void)hostile_read32(IOAPIC_BASE + IOAPIC_WINDOW);
    hostile_write32(IOAPIC_BASE + IOAPIC_WINDOW, value);
    (void)hostile_read8(IOAPIC_BASE + IOAPIC_WINDOW + 1);
}

void guest_main(uint32_t magic, const struct multiboot_info* info) {
    (void)magic;
    (void)info;
    console_puts("hostile-device-garbage\n");
    for (int round = 0; round < ROUNDS; ++round) {
        garbage_ports(COM1_BASE, 8);
        garbage_ports(DEBUG_EXIT_PORT, 1);
        garbage_ports(POST_PORT, 1);
        garbage_ports(CMOS_INDEX_PORT, CMOS_PORT_COUNT);
        garbage_ports(PM_PORT, PM_PORT_COUNT);
        garbage_ports(I8042_DATA_PORT, I8042_PORT_COUNT);
        garbage_ports(RESET_CONTROL_PORT, 1);
        garbage_ports(DISPI_INDEX_PORT, DISPI_PORT_COUNT);
        garbage_ports(PIC1_COMMAND, 2);
        garbage_ports(PIC2_COMMAND, 2);
        garbage_ports(ELCR_PORT, ELCR_PORT_COUNT);
        garbage_ports(PIT_PORT, PIT_PORT_COUNT);
        garbage_ports(SPEAKER_PORT, 1);
        garbage_lapic();
        for (int i = 0; i < 16; ++i)
            garbage_ioapic();
    }
    debug_exit(HOSTILE_DEVICE_GARBAGE_DONE);
}
