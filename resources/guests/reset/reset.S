/* reset: prints "reset", then asks the chipset for a full reset by writing 0x06 (SYS_RST |
 * RST_CPU) to the reset control register at 0xCF9. kvmscope boots the machine again, so the
 * word repeats until --timeout; with --no-reboot kvmscope exits 0 after the first one. */
#include "pc.h"
#include "flat16.h"

#define RESET_CONTROL_PORT 0xCF9
#define RESET_FULL 0x06

    .code16
    .section .text.entry, "ax"
    .globl _start
_start:
    FLAT16_START_AND_PRINT message
    mov $RESET_CONTROL_PORT, %dx
    mov $RESET_FULL, %al
    out %al, %dx
    jmp halt_forever16          /* not reached: the reset takes effect at once */

message:
    .asciz "reset\n"
