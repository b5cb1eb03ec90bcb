/* longmode: entry point and the few things C cannot say: segment reloads, the jump to ring 3,
 * the way back (#UD at ring3_exit) and the exception stubs. See longmode.c for the plan. */
#include "longmode.h"

    .code64
    .section .text.entry, "ax"
    .globl _start
/* Entered in 64-bit mode, paging on (identity), interrupts off; RSP is undefined. */
_start:
    cli
    cld
    movabs $kernel_stack_top, %rsp
    xor %ebp, %ebp
    call kernel_main
1:  cli
    hlt
    jmp 1b

    .text
/* void load_segments(const struct descriptor_pointer* gdtr): lgdt, then reload CS with a far
 * return (a mov cannot load CS) and the data segment registers. */
    .globl load_segments
load_segments:
    lgdt (%rdi)
    pushq $KERNEL_CODE_SELECTOR
    leaq 1f(%rip), %rax
    pushq %rax
    lretq
1:  mov $KERNEL_DATA_SELECTOR, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %eax, %eax
    mov %ax, %fs
    mov %ax, %gs
    ret

/* uint64_t run_in_ring3(void (*entry)(void), uint64_t user_stack_top): iretq to `entry` at CPL 3
 * and come back here when ring 3 reaches ring3_exit (user.c); returns the RAX it passed. The callee-saved
 * registers and RSP are kept in ring3_resume_rsp for resume_ring0_caller. */
    .globl run_in_ring3
run_in_ring3:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, ring3_resume_rsp(%rip)
    mov $USER_DATA_SELECTOR, %ax
    mov %ax, %ds
    mov %ax, %es
    /* The interrupt-return frame (Intel SDM vol. 3A, 6.14.3): SS, RSP, RFLAGS, CS, RIP. */
    pushq $USER_DATA_SELECTOR
    pushq %rsi
    pushq $RFLAGS_RESERVED      /* IF = 0: nothing is to interrupt ring 3 */
    pushq $USER_CODE_SELECTOR
    pushq %rdi
    iretq

/* #UD (vector 6) lands here on the TSS's RSP0 stack, RIP of the faulting instruction at (%rsp).
 * At ring3_exit it is ring 3 handing back its result; any other #UD is a real one. */
    .globl ring3_return_entry
ring3_return_entry:
    push %rcx
    lea ring3_exit(%rip), %rcx
    cmp %rcx, 8(%rsp)
    pop %rcx
    jne exception_stub_6
/* The ring-3 context is not resumed:
 * switch back to run_in_ring3's frame and return from it, RAX untouched. */
    .globl resume_ring0_caller
resume_ring0_caller:
    mov $KERNEL_DATA_SELECTOR, %cx
    mov %cx, %ds
    mov %cx, %es
    mov %cx, %ss
    mov ring3_resume_rsp(%rip), %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret

/* Exception stubs, vectors 0-31: push a zero where the CPU pushes no error code, then the
 * vector, so exception_common always sees the same frame (struct exception_frame). */
#define EXCEPTION_WITHOUT_ERROR(vector) \
    .balign 16; exception_stub_##vector: pushq $0; pushq $vector; jmp exception_common
#define EXCEPTION_WITH_ERROR(vector) \
    .balign 16; exception_stub_##vector: pushq $vector; jmp exception_common

    EXCEPTION_WITHOUT_ERROR(0)
    EXCEPTION_WITHOUT_ERROR(1)
    EXCEPTION_WITHOUT_ERROR(2)
    EXCEPTION_WITHOUT_ERROR(3)
    EXCEPTION_WITHOUT_ERROR(4)
    EXCEPTION_WITHOUT_ERROR(5)
    EXCEPTION_WITHOUT_ERROR(6)
    EXCEPTION_WITHOUT_ERROR(7)
    EXCEPTION_WITH_ERROR(8)
    EXCEPTION_WITHOUT_ERROR(9)
    EXCEPTION_WITH_ERROR(10)
    EXCEPTION_WITH_ERROR(11)
    EXCEPTION_WITH_ERROR(12)
    EXCEPTION_WITH_ERROR(13)
    EXCEPTION_WITH_ERROR(14)
    EXCEPTION_WITHOUT_ERROR(15)
    EXCEPTION_WITHOUT_ERROR(16)
    EXCEPTION_WITH_ERROR(17)
    EXCEPTION_WITHOUT_ERROR(18)
    EXCEPTION_WITHOUT_ERROR(19)
    EXCEPTION_WITHOUT_ERROR(20)
    EXCEPTION_WITH_ERROR(21)
    EXCEPTION_WITHOUT_ERROR(22)
    EXCEPTION_WITHOUT_ERROR(23)
    EXCEPTION_WITHOUT_ERROR(24)
    EXCEPTION_WITHOUT_ERROR(25)
    EXCEPTION_WITHOUT_ERROR(26)
    EXCEPTION_WITHOUT_ERROR(27)
    EXCEPTION_WITHOUT_ERROR(28)
    EXCEPTION_WITH_ERROR(29)
    EXCEPTION_WITH_ERROR(30)
    EXCEPTION_WITHOUT_ERROR(31)

exception_common:
    mov %rsp, %rdi              /* struct exception_frame* */
    and $-16, %rsp              /* the ABI's stack alignment for the call */
    call exception_handler      /* does not return */
1:  cli
    hlt
    jmp 1b

    .section .rodata
    .balign 8
    .globl exception_stubs
exception_stubs:
    .irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exception_stub_\vector
    .endr

    .bss
    .balign 16
ring3_resume_rsp:
    .quad 0
    .balign 16
    .skip 16384
    .globl kernel_stack_top
kernel_stack_top:
