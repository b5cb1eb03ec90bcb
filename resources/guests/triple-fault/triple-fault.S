/* triple-fault: prints "triple-fault", then makes the CPU shut down. It enters 32-bit protected
 * mode, loads an IDT whose limit is 0 and executes ud2: the #UD cannot be delivered (vector 6
 * lies past the IDT limit) so it becomes #GP, which cannot be delivered either, so #DF, which
 * fails the same way: a triple fault (Intel SDM vol. 3A, 6.15, "Interrupt 8 — Double Fault
 * Exception"), i.e. a shutdown, which KVM reports as KVM_EXIT_SHUTDOWN.
 *
 * Why protected mode: the same holds in real mode on a CPU, but a hypervisor that emulates
 * real-mode interrupt delivery (KVM's instruction emulator does, on hosts where real mode is not
 * run natively) may read the vector from the IVT without checking the limit. In protected mode
 * the IDT limit check is always made. ud2 rather than int3: int3 in ring 0 is not emulated on
 * some hosts (the vcpu fails with an internal error instead of faulting).
 *
 * The write of POST code 0xDF to port 0x80 just before the ud2 is the guest's last exit to
 * kvmscope, made with the GDT and the empty IDT already loaded: on AMD hosts KVM resets the vcpu
 * when it reports the shutdown, so the registers at that exit are what kvmscope's triple-fault
 * autopsy starts from (inspect/TripleFaultAutopsy.h). The test expects the chain
 * #UD → #GP(0x33) → #GP(0x6b) → #DF(0x0) → #GP(0x43) → triple fault. */
#include "pc.h"
#include "flat16.h"

#define CODE32_SELECTOR 0x08
#define DATA32_SELECTOR 0x10
#define CR0_PE 0x1
#define POST_PORT 0x80
#define POST_TRIPLE_FAULT 0xDF

    .code16
    .section .text.entry, "ax"
    .globl _start
_start:
    FLAT16_START_AND_PRINT message

    lgdtl gdt_descriptor
    mov %cr0, %eax
    or $CR0_PE, %eax
    mov %eax, %cr0
    ljmp $CODE32_SELECTOR, $protected_mode

    .code32
protected_mode:
    mov $DATA32_SELECTOR, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    lidt empty_idt_descriptor
    mov $POST_TRIPLE_FAULT, %al
    out %al, $POST_PORT        /* the last exit: tables loaded, the fault next */
    ud2
    /* Not reached: the CPU has shut down. */
1:  cli
    hlt
    jmp 1b

    .balign 8
gdt:
    .quad 0                        /* null descriptor */
    .quad 0x00CF9A000000FFFF       /* 0x08: code, base 0, limit 4 GiB, 32-bit, ring 0 */
    .quad 0x00CF92000000FFFF       /* 0x10: data, base 0, limit 4 GiB, writable */
gdt_end:
gdt_descriptor:
    .word gdt_end - gdt - 1
    .long gdt
empty_idt_descriptor:
    .word 0                        /* limit 0: no vector fits */
    .long 0

message:
    .asciz "triple-fault\n"
