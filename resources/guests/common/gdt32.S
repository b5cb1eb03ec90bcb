/* The flat 32-bit GDT of gdt32.h and the routine that switches to it. */
#include "gdt32.h"

    .text
    .code32
    .globl load_gdt32
load_gdt32:
    lgdt gdt32_descriptor
    ljmp $GDT32_CODE_SELECTOR, $1f
1:  mov $GDT32_DATA_SELECTOR, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    ret

    .data   /* the CPU sets the accessed bit in descriptors it loads */
    .balign 8
    .globl gdt32
gdt32:
    .quad 0                        /* null descriptor */
    .quad 0x00CF9A000000FFFF       /* GDT32_CODE_SELECTOR: present, DPL 0, code, G = 1, D = 1 */
    .quad 0x00CF92000000FFFF       /* GDT32_DATA_SELECTOR: present, DPL 0, data, G = 1, B = 1 */
gdt32_descriptor:
    .word GDT32_LIMIT
    .long gdt32
