/* longmode: the ring-3 program. Linked into the user-accessible page at 0x200000 (longmode.ld),
 * it may use only what is in this file: it counts the primes below SIEVE_LIMIT with the sieve of
 * Eratosthenes and hands the count to the kernel with `ud2` at ring3_exit (RAX = count; longmode.c says why). On hosts whose KVM
 * emulates ring-0 code, this part runs natively. */
#include "longmode.h"

#include <stdint.h>

static uint8_t composite[SIEVE_LIMIT];
uint8_t user_stack[USER_STACK_SIZE] __attribute__((aligned(16)));

void user_main(void) {
    for (uint32_t i = 0; i < SIEVE_LIMIT; ++i)
        composite[i] = 0;
    uint64_t count = 0;
    for (uint32_t n = 2; n < SIEVE_LIMIT; ++n) {
        if (composite[n])
            continue;
        ++count;
        for (uint64_t multiple = (uint64_t)n * n; multiple < SIEVE_LIMIT; multiple += n)
            composite[multiple] = 1;
    }
    __asm__ volatile(".globl ring3_exit\nring3_exit: ud2" : : "a"(count) : "memory");
    /* Not reached: the kernel does not return to ring 3. */
    for (;;)
        ;
}
