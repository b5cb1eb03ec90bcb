/* debug-target: entry point. Entered in 64-bit mode with the VMM's identity paging; sets a stack
 * and calls kernel_main (debug-target.c), which never returns. */
    .code64
    .section .text.entry, "ax"
    .globl _start
_start:
    cli
    cld
    movabs $stack_top, %rsp
    xor %ebp, %ebp
    call kernel_main
1:  cli
    hlt
    jmp 1b

    .bss
    .balign 16
    .skip 16384
stack_top:
