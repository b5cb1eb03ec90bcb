/* smp: the real-mode trampoline the APs start in. They end up on the same GDT as the BSP (gdt32).
 *
 * A STARTUP IPI starts an AP in real mode at CS:IP = (vector << 8):0000, i.e. at TRAMPOLINE_BASE,
 * where the BSP has copied the bytes between ap_trampoline_start and ap_trampoline_end. Those
 * bytes therefore address their own data as TRAMPOLINE_BASE + (label - ap_trampoline_start); the
 * far jump leaves them for ap_entry32, which runs at its linked address like the rest of the
 * kernel. */
#include "gdt32.h"
#include "smp.h"

    .section .rodata
    .code16
    .globl ap_trampoline_start
ap_trampoline_start:
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    lgdtl (TRAMPOLINE_BASE + (ap_gdt_descriptor - ap_trampoline_start))
    mov %cr0, %eax
    or $CR0_PE, %eax
    mov %eax, %cr0
    ljmpl $GDT32_CODE_SELECTOR, $ap_entry32
    .balign 4
ap_gdt_descriptor:
    .word GDT32_LIMIT
    .long gdt32
    .globl ap_trampoline_end
ap_trampoline_end:

    .text
    .code32
/* An AP in 32-bit protected mode, flat segments, paging off, no stack yet. Each takes the next
 * free stack with an atomic increment, so any number may arrive at once. */
ap_entry32:
    mov $GDT32_DATA_SELECTOR, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov $1, %eax
    lock xaddl %eax, next_ap_stack
    cmp $(MAX_CPUS - 1), %eax
    jae 2f                      /* more APs than stacks: this one stays halted */
    inc %eax
    shl $AP_STACK_SHIFT, %eax
    add $ap_stacks, %eax
    mov %eax, %esp
    call ap_main
2:  cli
    hlt
    jmp 2b

    .data
    .balign 4
next_ap_stack:
    .long 0                        /* stacks handed out so far */

    .bss
    .balign 16
ap_stacks:
    .skip (MAX_CPUS - 1) << AP_STACK_SHIFT
