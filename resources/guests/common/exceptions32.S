/* The 32-bit guests' shared interrupt plumbing (exceptions32.h): the entry for vectors nobody
 * should raise, and exception stubs 0-31 that hand exception_handler the frame. Every entry is
 * reached through a 32-bit interrupt gate, so IF is already clear inside. */
#include "exceptions32.h"
#include "interrupt_return.h"

    .text
    .code32

/* Vectors nobody should raise (masked IRQs, the 8259's and the local APIC's spurious vectors),
 * which need neither handling nor an EOI. */
    .globl ignore_interrupt
ignore_interrupt:
    RETURN_FROM_INTERRUPT

/* Exception stubs 0-31: a zero where the CPU pushes no error code, then the vector. */
#define EXCEPTION_WITHOUT_ERROR(vector) \
    .balign 16; exception_stub_##vector: pushl $0; pushl $vector; jmp exception_common
#define EXCEPTION_WITH_ERROR(vector) \
    .balign 16; exception_stub_##vector: pushl $vector; jmp exception_common

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
    cld
    push %esp                   /* struct exception_frame* */
    call exception_handler      /* does not return */
1:  cli
    hlt
    jmp 1b

    .section .rodata
    .balign 4
    .globl exception_stubs
exception_stubs:
    .irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .long exception_stub_\vector
    .endr
