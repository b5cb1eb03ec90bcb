/* triple-fault-stack: prints "triple-fault-stack", then makes the CPU shut down in 64-bit mode
 * with a complete IDT whose handlers cannot be reached: every gate sends its exception to the
 * interrupt stack table's first stack (IST1), and IST1 points at 4 GiB + 4 KiB, past the identity
 * map of [0, 4 GiB) kvmscope builds for an ELF64 guest (docs/boot.md). So the ud2's #UD cannot
 * push its frame (#PF), neither can that #PF (a page fault during a page fault's delivery is a
 * double fault), nor the #DF: a triple fault (Intel SDM vol. 3A, 6.14.5 "Interrupt Stack Table",
 * 6.15 table 6-5), i.e. KVM_EXIT_SHUTDOWN.
 *
 * The write of POST code 0xDF to port 0x80 just before the ud2 is the guest's last exit to
 * kvmscope, made with the GDT, TSS and IDT loaded: on AMD hosts KVM resets the vcpu when it
 * reports the shutdown, so the registers at that exit are what kvmscope's triple-fault autopsy
 * starts from (inspect/TripleFaultAutopsy.h). The test expects #UD → #PF(0x2) at 0x100000ff8
 * → #PF(0x2) at 0x100000ff8 → #DF(0x0) → #PF(0x2) at 0x100000ff8 → triple fault. */
#include "pc.h"

#define KERNEL_CODE_SELECTOR 0x08
#define KERNEL_DATA_SELECTOR 0x10
#define TSS_SELECTOR 0x18
#define TSS_IST1 36                          /* offset of IST1 in the 64-bit TSS (figure 8-11) */
#define UNMAPPED_STACK_TOP 0x100001000       /* 4 GiB + 4 KiB: outside kvmscope's identity map */
#define GATES 32
#define GATE_INTERRUPT_64 0x8E               /* present, DPL 0, 64-bit interrupt gate */
#define POST_PORT 0x80
#define POST_TRIPLE_FAULT 0xDF

    .code64
    .section .text.entry, "ax"
    .globl _start
/* Entered in 64-bit mode, paging on (identity), interrupts off; RSP is undefined. */
_start:
    cli
    cld
    lea stack_top(%rip), %rsp
    lea message(%rip), %rsi
    mov $COM1_BASE, %dx
1:  lodsb
    test %al, %al
    jz 2f
    out %al, %dx
    jmp 1b

    /* The TSS descriptor's base (SDM vol. 3A, figure 8-4), and IST1. */
2:  lea tss(%rip), %rax
    lea gdt_tss(%rip), %rdi
    mov %ax, 2(%rdi)
    shr $16, %rax
    mov %al, 4(%rdi)
    mov %ah, 7(%rdi)
    shr $16, %rax
    mov %eax, 8(%rdi)
    movabs $UNMAPPED_STACK_TOP, %rax
    mov %rax, tss + TSS_IST1(%rip)

    /* Gates 0-31, each to `handler` through code selector 0x08 on IST1 (figure 6-8). */
    lea idt(%rip), %rdi
    lea handler(%rip), %rax
    mov $GATES, %ecx
3:  mov %ax, (%rdi)
    movw $KERNEL_CODE_SELECTOR, 2(%rdi)
    movb $1, 4(%rdi)
    movb $GATE_INTERRUPT_64, 5(%rdi)
    mov %rax, %rdx
    shr $16, %rdx
    mov %dx, 6(%rdi)
    shr $16, %rdx
    mov %edx, 8(%rdi)
    movl $0, 12(%rdi)
    add $16, %rdi
    loop 3b

    lgdt gdt_descriptor(%rip)
    pushq $KERNEL_CODE_SELECTOR
    lea 4f(%rip), %rax
    push %rax
    lretq
4:  mov $KERNEL_DATA_SELECTOR, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $TSS_SELECTOR, %ax
    ltr %ax
    lidt idt_descriptor(%rip)
    mov $POST_TRIPLE_FAULT, %al
    out %al, $POST_PORT        /* the last exit: tables loaded, the fault next */
    ud2
    /* Not reached: the CPU has shut down. */
handler:
    cli
    hlt
    jmp handler

    .section .rodata
message:
    .asciz "triple-fault-stack\n"

    .data
    .balign 16
gdt:
    .quad 0                        /* null descriptor */
    .quad 0x00AF9A000000FFFF       /* 0x08: 64-bit code, ring 0 */
    .quad 0x00CF92000000FFFF       /* 0x10: data, writable */
gdt_tss:
    .quad 0x0000890000000067       /* 0x18: 64-bit TSS (available), limit 0x67, base set above */
    .quad 0
gdt_end:
    .balign 8
gdt_descriptor:
    .word gdt_end - gdt - 1
    .quad gdt
    .balign 8
idt_descriptor:
    .word GATES * 16 - 1
    .quad idt
    .balign 16
tss:
    .fill 104, 1, 0
    .balign 16
idt:
    .fill GATES * 16, 1, 0

    .bss
    .balign 16
    .skip 4096
stack_top:
