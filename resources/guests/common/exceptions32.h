/* What a 32-bit guest with its own IDT shares with exceptions32.S: the exception stubs' table,
 * the frame they pass, the handler it calls and the entry for ignored vectors. */
#ifndef KVMSCOPE_GUEST_EXCEPTIONS32_H
#define KVMSCOPE_GUEST_EXCEPTIONS32_H

#define EXCEPTION_VECTORS 32

#ifndef __ASSEMBLER__
#include <stdint.h>

/* What exception_common passes: the stub's pushes, then the CPU's (same privilege level, so no
 * stack switch: EIP, CS, EFLAGS). */
struct exception_frame {
    uint32_t vector;
    uint32_t error_code;
    uint32_t eip;
    uint32_t cs;
    uint32_t eflags;
};

/* exceptions32.S */
extern const uint32_t exception_stubs[EXCEPTION_VECTORS];
void ignore_interrupt(void);

/* The guest's, called from exceptions32.S */
__attribute__((noreturn)) void exception_handler(const struct exception_frame* frame);
#endif

#endif
