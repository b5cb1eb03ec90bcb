/* The Bochs VBE "dispi" interface as kvmscope offers it (core/devices/BochsDispi.h): write a
 * register index to 0x1CE, then read or write the 16-bit register at 0x1CF. The linear
 * framebuffer lies at DISPI_LFB_ADDRESS: where a direct boot starts BAR0 of the VGA function at
 * 00:02.0 (core/devices/StdVgaFunction.h), which these guests never move. Works in 32- and
 * 64-bit C. */
#ifndef KVMSCOPE_GUEST_DISPI_H
#define KVMSCOPE_GUEST_DISPI_H

#include <stdint.h>

#define DISPI_INDEX_PORT 0x1CE
#define DISPI_DATA_PORT 0x1CF
#define DISPI_INDEX_ID 0x0
#define DISPI_INDEX_XRES 0x1
#define DISPI_INDEX_YRES 0x2
#define DISPI_INDEX_BPP 0x3
#define DISPI_INDEX_ENABLE 0x4
#define DISPI_INDEX_VIRT_WIDTH 0x6
#define DISPI_INDEX_Y_OFFSET 0x9
#define DISPI_ID0 0xB0C0
#define DISPI_ID5 0xB0C5
#define DISPI_ENABLED 0x01
#define DISPI_LFB_ENABLED 0x40
#define DISPI_LFB_ADDRESS 0xE0000000u

static inline void dispi_write(uint16_t index, uint16_t value) {
    __asm__ volatile("outw %0, %1" : : "a"(index), "Nd"((uint16_t)DISPI_INDEX_PORT) : "memory");
    __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"((uint16_t)DISPI_DATA_PORT) : "memory");
}

static inline uint16_t dispi_read(uint16_t index) {
    uint16_t value;
    __asm__ volatile("outw %0, %1" : : "a"(index), "Nd"((uint16_t)DISPI_INDEX_PORT) : "memory");
    __asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"((uint16_t)DISPI_DATA_PORT) : "memory");
    return value;
}

/* Switches to width x height x bpp with the linear framebuffer; returns 0 when the adapter does
 * not answer as a dispi or refuses the mode (ENABLED reads back clear). */
static inline int dispi_set_mode(uint16_t width, uint16_t height, uint16_t bpp) {
    dispi_write(DISPI_INDEX_ID, DISPI_ID5);
    const uint16_t id = dispi_read(DISPI_INDEX_ID);
    if (id < DISPI_ID0 || id > DISPI_ID5)
        return 0;
    dispi_write(DISPI_INDEX_ENABLE, 0);
    dispi_write(DISPI_INDEX_XRES, width);
    dispi_write(DISPI_INDEX_YRES, height);
    dispi_write(DISPI_INDEX_BPP, bpp);
    dispi_write(DISPI_INDEX_ENABLE, DISPI_ENABLED | DISPI_LFB_ENABLED);
    return (dispi_read(DISPI_INDEX_ENABLE) & DISPI_ENABLED) != 0;
}

#endif
