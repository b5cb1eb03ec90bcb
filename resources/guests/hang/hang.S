/* hang: prints "hang", then halts with interrupts off, for ever. With an in-kernel irqchip the
 * vcpu sleeps in the kernel, so this is the guest for --timeout and for pausing a vcpu that is
 * not running guest code. */
#include "pc.h"
#include "flat16.h"

    .code16
    .section .text.entry, "ax"
    .globl _start
_start:
    FLAT16_START_AND_PRINT message
    jmp halt_forever16          /* cli; hlt; jmp back: an NMI would only wake it briefly */

message:
    .asciz "hang\n"
