/* Multiboot 1 header and entry point shared by the 32-bit C guests (hello, smp, exit-status,
 * uart-echo). The loader enters _start in 32-bit protected mode with paging and interrupts off,
 * EAX = 0x2BADB002 and EBX = the information structure (Multiboot 0.6.96, 3.2). ESP and the
 * GDT are undefined there, so this sets its own stack and leaves the GDT to the guest (those
 * that reload segment registers load their own). Calls guest_main(magic, info). */
#include "multiboot.h"

#define MULTIBOOT_FLAGS (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO)

    .section .multiboot, "a"
    .balign 4
    /* 3.1.1: the header must be 32-bit aligned within the first 8192 bytes of the image; the
     * linker script puts this section first. */
    .long MULTIBOOT_HEADER_MAGIC
    .long MULTIBOOT_FLAGS
    .long -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_FLAGS) /* magic + flags + checksum = 0 */

    .text
    .code32
    .globl _start
    .type _start, @function
_start:
    cli
    cld
    movl $boot_stack_top, %esp
    pushl $0                /* a zero return address ends backtraces here */
    movl %esp, %ebp
    pushl %ebx              /* guest_main(magic, info) per the i386 System V ABI */
    pushl %eax
    call guest_main
1:  cli
    hlt
    jmp 1b

    .bss
    .balign 16
boot_stack:
    .skip 16384
boot_stack_top:
