/* COM1 output by polling: wait for THRE, write THR. No interrupts, no FIFO set-up needed, and no
 * 64-bit division anywhere, so the 32-bit build needs no libgcc. */
#include "console.h"

#include "io.h"

static void put_raw(char c) {
    while (!(inb(COM1_BASE + UART_LSR) & UART_LSR_THRE))
        ;
    outb(COM1_BASE + UART_THR, (uint8_t)c);
}

/* A '\n' goes out as "\r\n", as serial consoles expect. */
void console_putc(char c) {
    if (c == '\n')
        put_raw('\r');
    put_raw(c);
}

void console_puts(const char* text) {
    while (*text)
        console_putc(*text++);
}

static void put_nibbles(uint32_t value, int digits) {
    static const char hex_digits[] = "0123456789ABCDEF";
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4)
        console_putc(hex_digits[(value >> shift) & 0xF]);
}

void console_hex32(uint32_t value) {
    console_puts("0x");
    put_nibbles(value, 8);
}

void console_hex64(uint64_t value) {
    console_puts("0x");
    put_nibbles((uint32_t)(value >> 32), 8);
    put_nibbles((uint32_t)value, 8);
}

void console_hex(uint32_t value, int min_digits) {
    int digits = 8;
    while (digits > min_digits && digits > 1 && !(value >> ((digits - 1) * 4)))
        --digits;
    console_puts("0x");
    put_nibbles(value, digits);
}

void console_dec(uint32_t value) {
    char digits[10];
    int count = 0;
    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    while (count)
        console_putc(digits[--count]);
}
