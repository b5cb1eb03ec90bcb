/* rtc-irq: what rtc-irq.c and vectors.S share (the exception plumbing is exceptions32.h's). */
#ifndef KVMSCOPE_GUEST_RTC_IRQ_H
#define KVMSCOPE_GUEST_RTC_IRQ_H

#include "exceptions32.h"

#ifndef __ASSEMBLER__
/* vectors.S */
void rtc_irq_entry(void);

/* rtc-irq.c, called from vectors.S */
void rtc_interrupt(void);
#endif

#endif
