/* elf-default-layout: entry point. Entered in 64-bit mode with the VMM's identity paging and
 * its boot stack (RSP 0x7c00, 16-byte aligned); calls guest_main, which never returns. */
    .code64
    .text
    .globl _start
_start:
    cli
    cld
    call guest_main
1:  cli
    hlt
    jmp 1b
