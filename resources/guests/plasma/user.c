/* plasma: the ring-3 drawing loop. Linked into the user-accessible page at 0x200000
 * (longmode/longmode.ld), it may use only what is in this file and the framebuffer, which
 * plasma.c maps user-accessible. It draws an animated plasma (sums of sines of x, y, x + y and
 * time through a colour palette) frame after frame, forever. On hosts whose KVM emulates ring-0
 * code this loop runs natively. No floating point: the guests are built without SSE. */
#include "../longmode/longmode.h"
#include "plasma.h"

#include <stdint.h>

uint8_t user_stack[USER_STACK_SIZE] __attribute__((aligned(16)));

/* 127 * sin(2 pi i / 256), rounded. */
static const int8_t sine[256] = {
    0,    3,    6,    9,    12,   16,   19,   22,   25,   28,   31,   34,   37,   40,   43,   46,
    49,   51,   54,   57,   60,   63,   65,   68,   71,   73,   76,   78,   81,   83,   85,   88,
    90,   92,   94,   96,   98,   100,  102,  104,  106,  107,  109,  111,  112,  113,  115,  116,
    117,  118,  120,  121,  122,  122,  123,  124,  125,  125,  126,  126,  126,  127,  127,  127,
    127,  127,  127,  127,  126,  126,  126,  125,  125,  124,  123,  122,  122,  121,  120,  118,
    117,  116,  115,  113,  112,  111,  109,  107,  106,  104,  102,  100,  98,   96,   94,   92,
    90,   88,   85,   83,   81,   78,   76,   73,   71,   68,   65,   63,   60,   57,   54,   51,
    49,   46,   43,   40,   37,   34,   31,   28,   25,   22,   19,   16,   12,   9,    6,    3,
    0,    -3,   -6,   -9,   -12,  -16,  -19,  -22,  -25,  -28,  -31,  -34,  -37,  -40,  -43,  -46,
    -49,  -51,  -54,  -57,  -60,  -63,  -65,  -68,  -71,  -73,  -76,  -78,  -81,  -83,  -85,  -88,
    -90,  -92,  -94,  -96,  -98,  -100, -102, -104, -106, -107, -109, -111, -112, -113, -115, -116,
    -117, -118, -120, -121, -122, -122, -123, -124, -125, -125, -126, -126, -126, -127, -127, -127,
    -127, -127, -127, -127, -126, -126, -126, -125, -125, -124, -123, -122, -122, -121, -120, -118,
    -117, -116, -115, -113, -112, -111, -109, -107, -106, -104, -102, -100, -98,  -96,  -94,  -92,
    -90,  -88,  -85,  -83,  -81,  -78,  -76,  -73,  -71,  -68,  -65,  -63,  -60,  -57,  -54,  -51,
    -49,  -46,  -43,  -40,  -37,  -34,  -31,  -28,  -25,  -22,  -19,  -16,  -12,  -9,   -6,   -3,
};

static uint32_t palette[256];

/* A colour ramp that cycles through red, green and blue at different phases. */
static void build_palette(void) {
    for (uint32_t i = 0; i < 256; ++i) {
        const uint32_t red = (uint32_t)(128 + sine[i & 255]);
        const uint32_t green = (uint32_t)(128 + sine[(i + 85) & 255]);
        const uint32_t blue = (uint32_t)(128 + sine[(i + 170) & 255]);
        palette[i] = red << 16 | green << 8 | blue;
    }
}

void user_main(void) {
    volatile uint32_t* const fb = (volatile uint32_t*)(uintptr_t)PLASMA_LFB_ADDRESS;
    build_palette();
    for (uint32_t t = 0;; ++t) {
        for (uint32_t y = 0; y < PLASMA_HEIGHT; ++y) {
            const int row = sine[(y * 2 + t * 3) & 255] + sine[(y + t) & 255];
            volatile uint32_t* const line = fb + y * PLASMA_WIDTH;
            for (uint32_t x = 0; x < PLASMA_WIDTH; ++x) {
                const int value =
                    row + sine[(x * 3 + t * 2) & 255] + sine[((x + y) * 2 + t * 5) & 255];
                line[x] = palette[(uint32_t)(value / 4 + t) & 255];
            }
        }
    }
}

/* start.S's #UD handler compares the faulting RIP with this label, where the longmode demo hands
 * its result back to ring 0; the plasma never comes back, but the label must exist. */
__asm__(".text\n.globl ring3_exit\nring3_exit: ud2\n");
