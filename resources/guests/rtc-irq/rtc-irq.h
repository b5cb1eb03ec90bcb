/* rtc-irq: what rtc-irq.c and vectors.S share. */
#ifndef KVMSCOPE_GUEST_RTC_IRQ_H
#define KVMSCOPE_GUEST_RTC_IRQ_H

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

/* vectors.S */
extern const uint32_t exception_stubs[EXCEPTION_VECTORS];
void rtc_irq_entry(void);
void ignore_interrupt(void);

/* rtc-irq.c, called from vectors.S */
void rtc_interrupt(void);
__attribute__((noreturn)) void exception_handler(const struct exception_frame* frame);
#endif

#endif
