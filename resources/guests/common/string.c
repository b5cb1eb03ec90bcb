/* The two functions GCC may call on its own even with -ffreestanding (structure copies and
 * clears, C99 6.5.16.1 assignments of aggregates). Byte loops: small and easy to emulate. */
#include <stddef.h>

void* memset(void* destination, int value, size_t size) {
    unsigned char* out = destination;
    while (size--)
        *out++ = (unsigned char)value;
    return destination;
}

void* memcpy(void* destination, const void* source, size_t size) {
    unsigned char* out = destination;
    const unsigned char* in = source;
    while (size--)
        *out++ = *in++;
    return destination;
}
