/* exit-status: prints "exit-status" and writes 0x21 to the debug-exit port, so the VMM must exit
 * with status (0x21 << 1) | 1 = 67. */
#include "console.h"
#include "io.h"
#include "multiboot.h"

#include <stdint.h>

#define EXIT_STATUS_VALUE 0x21

void guest_main(uint32_t magic, const struct multiboot_info* info) {
    (void)magic;
    (void)info;
    console_puts("exit-status\n");
    debug_exit(EXIT_STATUS_VALUE);
}
