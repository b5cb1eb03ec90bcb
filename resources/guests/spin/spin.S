/* spin: prints "spin", then loops for ever without leaving the CPU, for pause, register edits
 * and single-stepping. The loop sits at a fixed place right after the first jump:
 *
 *   0x7C00  EB xx     jmp start          (2 bytes, executed once)
 *   0x7C02  66 40     inc %eax           (2 bytes: operand-size prefix + inc, 16-bit code)
 *   0x7C04  EB FC     jmp 0x7C02         (2 bytes: short jump, rel8 = -4)
 *
 * so once running, RIP alternates 0x7C02 -> 0x7C04 -> 0x7C02 ... (CS base 0) and EAX grows by one
 * per round. */
#include "pc.h"
#include "flat16.h"

    .code16
    .section .text.entry, "ax"
    .globl _start
_start:
    jmp start
    .globl spin_loop
spin_loop:
    inc %eax
    jmp spin_loop
start:
    FLAT16_START_AND_PRINT message
    xor %eax, %eax
    jmp spin_loop

message:
    .asciz "spin\n"
