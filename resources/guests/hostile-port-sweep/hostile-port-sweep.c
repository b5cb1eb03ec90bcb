/* hostile-port-sweep: reads every I/O port from 0 to 0xFFFF with 1-, 2- and 4-byte accesses and
 * writes 0 to every one of them the same three ways (the port sweep of docs/guests.md, "Hostile
 * guests"). That is ~390,000 accesses, nearly all of them exits to the VMM: to ports nothing
 * decodes, to the middle of a device's range, across the end of one, and to the in-kernel PIC and
 * PIT with sizes they do not implement. The one port it leaves alone is the debug-exit port,
 * where a write ends the run: afterwards it writes HOSTILE_PORT_SWEEP_DONE there.
 *
 * Zero is a value no register of kvmscope's devices stops the machine for (PM1a_CNT without
 * SLP_EN, 0xCF9 without RST_CPU, i8042 command 0x00); hostile-device-garbage writes the
 * dangerous values. */
#include "../hostile-common/hostile.h"
#include "console.h"
#include "io.h"
#include "multiboot.h"

#include <stdint.h>

#define PORT_COUNT 0x10000u

void guest_main(uint32_t magic, const struct multiboot_info* info) {
    (void)magic;
    (void)info;
    console_puts("hostile-port-sweep\n");
    for (uint32_t port = 0; port < PORT_COUNT; ++port) {
        (void)inb((uint16_t)port);
        (void)hostile_inw((uint16_t)port);
        (void)hostile_inl((uint16_t)port);
        if (port == DEBUG_EXIT_PORT)
            continue;
        outb((uint16_t)port, 0);
        outw((uint16_t)port, 0);
        hostile_outl((uint16_t)port, 0);
    }
    console_puts("swept 65536 ports\n");
    debug_exit(HOSTILE_PORT_SWEEP_DONE);
}
