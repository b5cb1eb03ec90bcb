/* realmode: the flat real-mode demo. Loaded at 0x7C00 and entered in 16-bit real mode with
 * CS = DS = ES = SS = 0, IP = 0x7C00 and interrupts off; there is no BIOS behind it. It prints a
 * greeting and the CS:IP it was entered at (found at run time, not assumed), puts a line of
 * coloured text on the VGA text screen, moves the cursor after it and powers off. */
#include "pc.h"

#define VGA_ATTRIBUTE 0x1E  /* yellow on blue */
#define VGA_ROW 12
#define VGA_COLUMN 14

    .code16
    .section .text.entry, "ax"
    .globl _start
_start:
    cli
    cld
    /* Where are we? A near call pushes the offset of the next instruction; CS we can read. */
    call 1f
1:  pop %bx
    sub $(1b - _start), %bx     /* BX = IP of _start */
    mov %cs, %cx
    /* Flat addressing from here on: the data below is linked at its 0x7C00-based offsets. */
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %ss
    mov $0x7C00, %sp            /* the stack grows down from the image */

    mov $greeting, %si
    call serial_puts16
    mov $where, %si
    call serial_puts16
    mov %cx, %ax
    call serial_hex16
    mov $':', %al
    call serial_putc16
    mov %bx, %ax
    call serial_hex16
    mov $'\n', %al
    call serial_putc16

    /* VGA text: clear the screen (blank cells in the same colours), then the line. */
    mov $VGA_TEXT_SEGMENT, %ax
    mov %ax, %es
    xor %di, %di
    mov $((VGA_ATTRIBUTE << 8) | ' '), %ax
    mov $(VGA_COLUMNS * VGA_ROWS), %cx
    rep stosw
    mov $((VGA_ROW * VGA_COLUMNS + VGA_COLUMN) * 2), %di
    mov $screen_text, %si
    mov $VGA_ATTRIBUTE, %ah
2:  lodsb
    test %al, %al
    jz 3f
    stosw
    jmp 2b
3:  /* The cursor goes to the cell after the text: CRTC registers 0x0E/0x0F hold its index. */
    mov %di, %bx
    shr $1, %bx
    mov $VGA_CRTC_INDEX, %dx
    mov $VGA_CRTC_CURSOR_HIGH, %al
    out %al, %dx
    mov $VGA_CRTC_DATA, %dx
    mov %bh, %al
    out %al, %dx
    mov $VGA_CRTC_INDEX, %dx
    mov $VGA_CRTC_CURSOR_LOW, %al
    out %al, %dx
    mov $VGA_CRTC_DATA, %dx
    mov %bl, %al
    out %al, %dx

    mov $goodbye, %si
    call serial_puts16
    jmp power_off16

greeting:
    .asciz "Hello from the kvmscope realmode demo\n"
where:
    .asciz "running in 16-bit real mode at CS:IP = "
screen_text:
    .asciz "Hello from 16-bit real mode at 0000:7C00"
goodbye:
    .asciz "powering off\n"
