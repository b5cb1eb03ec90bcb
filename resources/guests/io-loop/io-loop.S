/* io-loop: the exit benchmark's guest. Does N `out` instructions to IO_LOOP_PORT, a port no
 * device of kvmscope (or of QEMU's pc machine) answers, each one an exit to the VMM; then writes
 * 0 to the debug-exit port (exit status 1). It prints nothing, so that every exit is a loop exit.
 *
 * Image layout (flat, loaded at 0x7C00):
 *   offset 0  EB 0A        jmp start (to offset 12)
 *   offset 2  00 00        padding
 *   offset 4  "IOLN"       tag a patcher can check
 *   offset 8  N            32-bit little-endian iteration count, default 100000; a benchmark
 *                          patches it in a copy of the image. N = 0 does no `out` at all.
 *   offset 12 start: ...
 */
#include "pc.h"

#define IO_LOOP_PORT 0x0500  /* unused on the PC: above the ISA devices, below PCI config 0xCF8 */
#define IO_LOOP_DEFAULT_ITERATIONS 100000

    .code16
    .section .text.entry, "ax"
    .globl _start
_start:
    jmp start
    .org 4
    .ascii "IOLN"
    .org 8
    .globl iterations
iterations:
    .long IO_LOOP_DEFAULT_ITERATIONS
start:
    cli
    xor %ax, %ax
    mov %ax, %ds
    mov iterations, %ecx
    mov $IO_LOOP_PORT, %dx
    test %ecx, %ecx
    jz done
    /* The loop: three instructions, one exit per round. */
1:  out %al, %dx
    dec %ecx
    jnz 1b
done:
    xor %al, %al
    out %al, $DEBUG_EXIT_PORT
2:  cli
    hlt
    jmp 2b
