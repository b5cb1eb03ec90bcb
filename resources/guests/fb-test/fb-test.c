/* fb-test: drives the framebuffer for tests/integration/FramebufferTest.cpp, one step per byte
 * the test sends on COM1 (the guest polls LSR.DR), reporting each step on COM1:
 *   1. sets 1024x768x32 through the dispi, prints "fb-test: mode set";
 *   2. writes FB_TEST_PIXELS pixels on rows 5, 300 and 767 (two of them on row 5), prints
 *      "fb-test: drawn";
 *   3. switches to 640x480x16, writes one pixel at (7, 100), prints "fb-test: switched";
 *   4. disables the dispi (back to VGA text), prints "fb-test: text";
 *   5. powers off.
 * At 1024 x 32 bpp a row is exactly one 4 KiB page, so the rows the display copies after step 2
 * must be exactly rows 5, 300 and 767. A refused mode ends the VM through the debug-exit port. */
#include "console.h"
#include "dispi.h"
#include "io.h"
#include "multiboot.h"

#include <stdint.h>

#define FB_TEST_EXIT_NO_DISPI 0x30

static void wait_for_byte(void) {
    while (!(inb(COM1_BASE + UART_LSR) & UART_LSR_DR))
        ;
    (void)inb(COM1_BASE + UART_RBR);
}

static void put_pixel32(uint32_t x, uint32_t y, uint32_t colour) {
    volatile uint32_t* const fb = (volatile uint32_t*)physical_pointer(DISPI_LFB_ADDRESS);
    fb[y * 1024 + x] = colour;
}

void guest_main(uint32_t magic, const struct multiboot_info* info) {
    (void)magic;
    (void)info;
    if (!dispi_set_mode(1024, 768, 32))
        debug_exit(FB_TEST_EXIT_NO_DISPI);
    console_puts("fb-test: mode set\n");

    wait_for_byte();
    put_pixel32(10, 5, 0x00FF0000);   /* red */
    put_pixel32(1000, 5, 0x0000FF00); /* green */
    put_pixel32(0, 300, 0x000000FF);  /* blue */
    put_pixel32(1023, 767, 0x00FFFFFF);
    console_puts("fb-test: drawn\n");

    wait_for_byte();
    if (!dispi_set_mode(640, 480, 16))
        debug_exit(FB_TEST_EXIT_NO_DISPI);
    volatile uint16_t* const fb16 = (volatile uint16_t*)physical_pointer(DISPI_LFB_ADDRESS);
    fb16[100 * 640 + 7] = 0xF800; /* red in RGB565 */
    console_puts("fb-test: switched\n");

    wait_for_byte();
    dispi_write(DISPI_INDEX_ENABLE, 0);
    console_puts("fb-test: text\n");

    wait_for_byte();
    power_off();
}
