/* Assembly only: the opening every small flat test guest shares (hang, reset, spin, triple-fault).
 * Entered in real mode at 0000:7C00 with interrupts off and no BIOS behind it, the guest sets
 * flat data and stack segments, a stack below its image, and prints its name on COM1 with
 * serial_puts16 (console16.S). */
#ifndef KVMSCOPE_GUEST_FLAT16_H
#define KVMSCOPE_GUEST_FLAT16_H

.macro FLAT16_START_AND_PRINT message
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %ss
    mov $0x7C00, %sp
    mov $\message, %si
    call serial_puts16
.endm

#endif
