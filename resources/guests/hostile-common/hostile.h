/* Shared by the hostile guests (docs/guests.md, "Hostile guests"): port accesses of every size,
 * MMIO of every size, a small pseudo-random generator and the value each guest writes to the
 * debug-exit port when it got to its end. Each guest tries one bad thing; the VMM must survive it
 * and still let the guest report that it ran to completion. */
#ifndef KVMSCOPE_GUEST_HOSTILE_H
#define KVMSCOPE_GUEST_HOSTILE_H

#include <stdint.h>

/* Debug-exit values ("ran to the end"); kvmscope exits with (value << 1) | 1. */
#define HOSTILE_EXIT_FLOOD_DONE 0x41     /* status 131 (hostile-exit-flood.S has its own copy) */
#define HOSTILE_PORT_SWEEP_DONE 0x42     /* status 133 */
#define HOSTILE_MMIO_SWEEP_DONE 0x43     /* status 135 */
#define HOSTILE_DEVICE_GARBAGE_DONE 0x44 /* status 137 */
#define HOSTILE_UART_FLOOD_DONE 0x45     /* status 139 */
#define HOSTILE_PCI_CONFIG_DONE 0x46     /* status 141 */
#define HOSTILE_IDE_DONE 0x47            /* status 143 */
#define HOSTILE_VIRTQUEUE_DONE 0x48      /* status 145 */
/* A check of the guest's own failed; it said which on COM1 first. Status 249. */
#define HOSTILE_CHECK_FAILED 0x7C

static inline uint16_t hostile_inw(uint16_t port) {
    uint16_t value;
    __asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

static inline uint8_t hostile_inb(uint16_t port) {
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

static inline uint32_t hostile_inl(uint16_t port) {
    uint32_t value;
    __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

static inline void hostile_outl(uint16_t port, uint32_t value) {
    __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

/* Physical accesses with paging off; volatile so that every one reaches the bus. */
static inline uint8_t hostile_read8(uintptr_t address) {
    return *(volatile uint8_t*)address;
}
static inline uint16_t hostile_read16(uintptr_t address) {
    return *(volatile uint16_t*)address;
}
static inline uint32_t hostile_read32(uintptr_t address) {
    return *(volatile uint32_t*)address;
}
static inline void hostile_write8(uintptr_t address, uint8_t value) {
    *(volatile uint8_t*)address = value;
}
static inline void hostile_write16(uintptr_t address, uint16_t value) {
    *(volatile uint16_t*)address = value;
}
static inline void hostile_write32(uintptr_t address, uint32_t value) {
    *(volatile uint32_t*)address = value;
}

/* xorshift32 (Marsaglia, "Xorshift RNGs", 2003): garbage that is the same on every run. */
static inline uint32_t hostile_random(uint32_t* state) {
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

#endif
