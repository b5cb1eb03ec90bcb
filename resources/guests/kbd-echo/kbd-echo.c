/* kbd-echo: shows what the keyboard controller hands the guest. A Multiboot 1 kernel that prints
 * "kbd-echo: ready" on COM1, then polls the i8042's status register (port 0x64) and, whenever
 * its output buffer is full (OBF), reads the byte from port 0x60 and prints it as two hex digits
 * and a space. No interrupts: IRQ 1 is raised (the firmware's command byte enables it) but the
 * 8259 is never programmed, so the guest only sees what it polls. The controller is left as PC
 * firmware leaves it (command byte 0x45: translation to scan code set 1 on), so the bytes are
 * set-1 codes (IBM "Personal System/2 Hardware Interface Technical Reference", 8042 chapter).
 * Before it says it is ready it turns the PS/2 mouse on (controller command 0xA8 enables the
 * auxiliary interface, 0xD4 sends the next byte to the mouse, 0xF4 enables data reporting) and
 * reads the mouse's acknowledgement; from then on a byte with AUXB set came from the mouse and is
 * printed with an 'm' before it. */
#include "console.h"
#include "io.h"
#include "multiboot.h"

#include <stdint.h>

#define I8042_DATA_PORT 0x60
#define I8042_STATUS_PORT 0x64
#define I8042_STATUS_OBF 0x01  /* output buffer full: port 0x60 holds a byte */
#define I8042_STATUS_AUXB 0x20 /* the byte in the output buffer is the mouse's */
#define I8042_STATUS_IBF 0x02  /* input buffer full: the controller has not taken a byte yet */
#define I8042_COMMAND_PORT 0x64
#define I8042_ENABLE_AUX 0xA8       /* controller: enable the auxiliary (mouse) interface */
#define I8042_WRITE_AUX 0xD4        /* controller: the next data byte goes to the mouse */
#define MOUSE_ENABLE_REPORTING 0xF4 /* mouse: send movement packets */
#define MOUSE_ACK 0xFA

/* Two upper-case hex digits and a space: "1E ". */
static void put_byte(uint8_t byte) {
    static const char hex_digits[] = "0123456789ABCDEF";
    console_putc(hex_digits[byte >> 4]);
    console_putc(hex_digits[byte & 0xF]);
    console_putc(' ');
}

static void write_controller(uint16_t port, uint8_t value) {
    while (inb(I8042_STATUS_PORT) & I8042_STATUS_IBF)
        ;
    outb(port, value);
}

void guest_main(uint32_t magic, const struct multiboot_info* info) {
    (void)magic;
    (void)info;
    write_controller(I8042_COMMAND_PORT, I8042_ENABLE_AUX);
    write_controller(I8042_COMMAND_PORT, I8042_WRITE_AUX);
    write_controller(I8042_DATA_PORT, MOUSE_ENABLE_REPORTING);
    while (!(inb(I8042_STATUS_PORT) & I8042_STATUS_OBF))
        ;
    if (inb(I8042_DATA_PORT) != MOUSE_ACK)
        console_puts("kbd-echo: the mouse did not acknowledge 0xF4\n");
    console_puts("kbd-echo: ready\n");
    for (;;) {
        const uint8_t status = inb(I8042_STATUS_PORT);
        if (!(status & I8042_STATUS_OBF))
            continue;
        const uint8_t byte = inb(I8042_DATA_PORT);
        if (status & I8042_STATUS_AUXB)
            console_putc('m');
        put_byte(byte);
    }
}
