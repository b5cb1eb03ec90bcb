/* 16-bit real-mode helpers shared by the flat guests. No BIOS is there (no int 0x10), so the
 * console is COM1 by polling. Each routine expects DS = 0 and the direction flag clear. */
#include "pc.h"

    .code16
    .text

/* Writes AL to COM1 once the transmitter holding register is empty (LSR.THRE). A '\n' is
 * preceded by '\r', as serial consoles expect. Preserves every register. */
    .globl serial_putc16
serial_putc16:
    push %ax
    push %dx
    cmp $'\n', %al
    jne 1f
    mov $'\r', %al
    call 2f
    mov $'\n', %al
1:  call 2f
    pop %dx
    pop %ax
    ret
2:  mov %al, %ah
    mov $(COM1_BASE + UART_LSR), %dx
3:  in %dx, %al
    test $UART_LSR_THRE, %al
    jz 3b
    mov %ah, %al
    mov $(COM1_BASE + UART_THR), %dx
    out %al, %dx
    ret

/* Writes the NUL-terminated string at DS:SI. Leaves SI past the NUL; preserves the rest. */
    .globl serial_puts16
serial_puts16:
    push %ax
1:  lodsb
    test %al, %al
    jz 2f
    call serial_putc16
    jmp 1b
2:  pop %ax
    ret

/* Writes AX as four upper-case hexadecimal digits. Preserves every register. */
    .globl serial_hex16
serial_hex16:
    push %ax
    push %bx
    push %cx
    mov %ax, %bx
    mov $4, %cx
1:  rol $4, %bx
    mov %bl, %al
    and $0x0F, %al
    add $'0', %al
    cmp $'9', %al
    jbe 2f
    add $('A' - '9' - 1), %al
2:  call serial_putc16
    loop 1b
    pop %cx
    pop %bx
    pop %ax
    ret

/* Powers off through PM1a_CNT (SLP_EN, SLP_TYP = S5); halts should that have no effect. */
    .globl power_off16
power_off16:
    mov $PM1A_CNT_PORT, %dx
    mov $PM1_CNT_SLP_EN, %ax
    out %ax, %dx
    .globl halt_forever16
halt_forever16:
    cli
    hlt
    jmp halt_forever16
