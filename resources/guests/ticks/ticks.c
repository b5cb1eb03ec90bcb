/* ticks: the snapshot test's guest. Prints TICKS_COUNT numbered lines, one every TICKS_PERIOD
 * TSC cycles (a few seconds in all), each with a running checksum kept in RAM, then writes
 * TICKS_EXIT_VALUE to the debug-exit port. Its output depends on nothing but its own progress,
 * so a run saved part-way and restored in another process must print exactly the rest of an
 * uninterrupted run's output: the TSC, the registers and RAM must all come back as they were
 * (a TSC that restarted at 0 would make the next tick wait for minutes). */
#include "console.h"
#include "io.h"
#include "multiboot.h"

#include <stdint.h>

#define TICKS_COUNT 100
#define TICKS_PERIOD (1ull << 26) /* TSC cycles: about 25 ms at 2.7 GHz */
#define TICKS_EXIT_VALUE 0x2a     /* kvmscope exits with (0x2a << 1) | 1 = 85 */

static volatile uint32_t checksum = 0x12345678u;

static inline uint64_t rdtsc(void) {
    uint32_t low, high;
    __asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
    return ((uint64_t)high << 32) | low;
}

void guest_main(uint32_t magic, const struct multiboot_info* info) {
    (void)magic;
    (void)info;
    console_puts("ticks: start\n");
    uint64_t next = rdtsc() + TICKS_PERIOD;
    for (uint32_t tick = 1; tick <= TICKS_COUNT; ++tick) {
        while (rdtsc() < next)
            __asm__ volatile("pause");
        next += TICKS_PERIOD;
        /* xorshift32 of the checksum and the tick number: any lost RAM write shows. */
        uint32_t x = checksum ^ tick;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        checksum = x;
        console_puts("tick ");
        console_dec(tick);
        console_puts(" ");
        console_hex32(checksum);
        console_puts("\n");
    }
    console_puts("ticks: done\n");
    debug_exit(TICKS_EXIT_VALUE);
}
