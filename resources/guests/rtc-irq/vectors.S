/* rtc-irq: its interrupt entry point; exceptions and ignored vectors are exceptions32.S's. */
#include "interrupt_return.h"
#include "rtc-irq.h"

    .text
    .code32

/* The RTC's IRQ 8 through the slave 8259: save what C may clobber, run the handler, return. */
    .globl rtc_irq_entry
rtc_irq_entry:
    pushal
    cld
    call rtc_interrupt
    popal
    RETURN_FROM_INTERRUPT
