/* The multiboot2-info guest's Multiboot 2 header and entry point. The header asks, as a required
 * information request, for what the guest prints; asks for page-aligned modules; names its entry
 * point with an entry address tag; and carries an optional tag of a type no loader knows, which a
 * loader must skip. A loader enters _start in 32-bit protected mode with paging and interrupts
 * off, EAX = 0x36D76289 and EBX = the boot information (Multiboot2 Specification 2.0, 3.3); ESP
 * is undefined there, so this sets its own stack. Calls guest_main(magic, info). */
#include "multiboot2.h"

#define HEADER_LENGTH (header_end - header_start)

    .section .multiboot, "a"
    /* 3.1.1: 64-bit aligned within the first 32768 bytes of the image; the linker script puts
     * this section first. */
    .balign 8
header_start:
    .long MULTIBOOT2_HEADER_MAGIC
    .long MULTIBOOT2_ARCHITECTURE_I386
    .long HEADER_LENGTH
    .long -(MULTIBOOT2_HEADER_MAGIC + MULTIBOOT2_ARCHITECTURE_I386 + HEADER_LENGTH)

    /* 3.1.4: information request, required: every tag listed must be provided. */
    .balign 8
request_start:
    .short MULTIBOOT2_HEADER_TAG_INFORMATION_REQUEST, 0
    .long request_end - request_start
    .long MULTIBOOT2_TAG_CMDLINE, MULTIBOOT2_TAG_BOOT_LOADER_NAME, MULTIBOOT2_TAG_MODULE
    .long MULTIBOOT2_TAG_BASIC_MEMINFO, MULTIBOOT2_TAG_MMAP, MULTIBOOT2_TAG_FRAMEBUFFER
request_end:

    /* 3.1.6: the entry address (ELF's e_entry names the same place). */
    .balign 8
    .short MULTIBOOT2_HEADER_TAG_ENTRY_ADDRESS, 0
    .long 12
    .long _start

    /* 3.1.10: modules on page boundaries. */
    .balign 8
    .short MULTIBOOT2_HEADER_TAG_MODULE_ALIGNMENT, 0
    .long 8

    /* A tag type no loader knows, marked optional (3.1.3): it must be skipped. */
    .balign 8
    .short 0x7ABC, MULTIBOOT2_HEADER_TAG_OPTIONAL
    .long 12
    .long 0x5A5A5A5A

    /* 3.1.3: the end tag. */
    .balign 8
    .short MULTIBOOT2_HEADER_TAG_END, 0
    .long 8
header_end:

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
