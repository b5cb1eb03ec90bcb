/* Text output on COM1 by polling, shared by the 32- and 64-bit C guests. */
#ifndef KVMSCOPE_GUEST_CONSOLE_H
#define KVMSCOPE_GUEST_CONSOLE_H

#include <stdint.h>

void console_putc(char c);
void console_puts(const char* text);
/* Fixed-width hexadecimal with a 0x prefix: 8 digits, or 16 for console_hex64. */
void console_hex32(uint32_t value);
void console_hex64(uint64_t value);
/* Hexadecimal with a 0x prefix, without leading zeros beyond `min_digits`. */
void console_hex(uint32_t value, int min_digits);
void console_dec(uint32_t value);

#endif
