/* hostile-uart-flood: writes HOSTILE_UART_FLOOD_BYTES bytes to COM1's transmit register as fast as
 * it can, without ever looking at the line status register (the UART flood of docs/guests.md,
 * "Hostile guests"). Byte i is uart_flood_byte(i), so a reader can check that none was lost,
 * repeated or reordered. Nothing else is printed. Ends with HOSTILE_UART_FLOOD_DONE on the
 * debug-exit port. */
#include "../hostile-common/hostile.h"
#include "io.h"
#include "multiboot.h"

#include <stdint.h>

#define HOSTILE_UART_FLOOD_BYTES (256u * 1024u)

/* Not periodic at any power of two below 2^24, so a lost block of 256 or 4096 bytes shows. */
static inline uint8_t uart_flood_byte(uint32_t i) {
    return (uint8_t)(i ^ (i >> 8) ^ (i >> 16));
}

void guest_main(uint32_t magic, const struct multiboot_info* info) {
    (void)magic;
    (void)info;
    for (uint32_t i = 0; i < HOSTILE_UART_FLOOD_BYTES; ++i)
        outb(COM1_BASE + UART_THR, uart_flood_byte(i));
    debug_exit(HOSTILE_UART_FLOOD_DONE);
}
