/* Port I/O, memory-mapped registers and the two ways out of a guest. Works in 32- and 64-bit C. */
#ifndef KVMSCOPE_GUEST_IO_H
#define KVMSCOPE_GUEST_IO_H

#include "pc.h"

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline void outw(uint16_t port, uint16_t value) {
    __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port) {
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

/* A pointer to a fixed physical address (paging is off or identity). The empty asm hides the
 * constant from GCC, which would otherwise warn about dereferencing small literal addresses. */
static inline volatile void* physical_pointer(uintptr_t address) {
    __asm__("" : "+r"(address));
    return (volatile void*)address;
}

static inline uint32_t mmio_read32(uintptr_t address) {
    return *(volatile uint32_t*)address;
}

static inline void mmio_write32(uintptr_t address, uint32_t value) {
    *(volatile uint32_t*)address = value;
}

/* Stops this CPU for good: with interrupts off only NMI/INIT/SMI end hlt, hence the loop. */
static inline __attribute__((noreturn)) void halt_forever(void) {
    for (;;)
        __asm__ volatile("cli; hlt" : : : "memory");
}

/* Powers the machine off (S5 through PM1a_CNT); halts should the write have no effect. */
static inline __attribute__((noreturn)) void power_off(void) {
    outw(PM1A_CNT_PORT, PM1_CNT_SLP_EN);
    halt_forever();
}

/* Ends the VM through the debug-exit port: the VMM exits with (value << 1) | 1. */
static inline __attribute__((noreturn)) void debug_exit(uint8_t value) {
    outb(DEBUG_EXIT_PORT, value);
    halt_forever();
}

#endif
