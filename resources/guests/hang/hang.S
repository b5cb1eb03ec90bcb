/* hang: prints "hang", then halts with interrupts off, for ever. With an in-kernel irqchip the
 * vcpu sleeps in the kernel, so this is the guest for --timeout and for pausing a vcpu that is
 * not running guest code. */
#include "pc.h"

    .code16
    .section .text.entry, "ax"
    .globl _start
_start:
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %ss
    mov $0x7C00, %sp
    mov $message, %si
    call serial_puts16
    jmp halt_forever16          /* cli; hlt; jmp back: an NMI would only wake it briefly */

message:
    .asciz "hang\n"
