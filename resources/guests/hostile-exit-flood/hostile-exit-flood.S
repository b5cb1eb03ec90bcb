/* hostile-exit-flood: exits to the VMM as fast as a guest can. Each round of the loop is an `out`
 * and an `in` on port 0x500, which nothing decodes, so both leave the CPU for the VMM's port
 * handler; nothing else happens in between. After N rounds it checks that the last `in` read
 * the floating bus (0xFF) and writes HOSTILE_EXIT_FLOOD_DONE to the debug-exit port.
 *
 * N is the 32-bit word at offset 8 (after the tag "XFLD" at offset 4), default 100000 (200000
 * exits). N = 0 makes the first `dec` wrap to 2^32 - 1: the loop then runs for hours, which is
 * what the threading stress test wants (it writes 0 there before the guest starts, and starts
 * every vcpu at 0x7C00, so all of them run this loop, each with its own registers).
 *
 * The loop sits at a fixed place, and every instruction in it has a known length, so a test can
 * check where a single step must land:
 *   0x7C0C  EE        out %al, %dx         1 byte, an exit
 *   0x7C0D  EC        in %dx, %al          1 byte, an exit (AL = 0xFF afterwards)
 *   0x7C0E  66 49     dec %ecx             2 bytes
 *   0x7C10  75 FA     jnz 0x7C0C           2 bytes
 *   0x7C12            (falls through when ECX reaches 0)
 */
#include "pc.h"

#define FLOOD_PORT 0x0500 /* unused on the PC, as in io-loop */
#define FLOOD_DEFAULT_ROUNDS 100000
#define HOSTILE_EXIT_FLOOD_DONE 0x41 /* exit status (0x41 << 1) | 1 = 131 */

    .code16
    .section .text.entry, "ax"
    .globl _start
_start:
    jmp start
    .org 4
    .ascii "XFLD"
    .org 8
    .globl rounds
rounds:
    .long FLOOD_DEFAULT_ROUNDS
    .org 12
    .globl flood_loop
flood_loop:
    out %al, %dx
    in %dx, %al
    dec %ecx
    jnz flood_loop
    /* The layout above is part of the guest's contract (the stress test decodes it): .org
     * fails the build should the loop ever grow past 0x7C12. */
    .org 0x12
    jmp done

start:
    cli
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %ss
    mov $0x7C00, %sp
    mov rounds, %ecx
    mov $FLOOD_PORT, %dx
    xor %eax, %eax
    jmp flood_loop

done:
    cmp $0xFF, %al
    jne failed
    mov $HOSTILE_EXIT_FLOOD_DONE, %al
    out %al, $DEBUG_EXIT_PORT
    jmp halt_forever
failed:
    mov $GUEST_EXIT_EXCEPTION, %al
    out %al, $DEBUG_EXIT_PORT
halt_forever:
    cli
    hlt
    jmp halt_forever
