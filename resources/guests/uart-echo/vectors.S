/* uart-echo: its interrupt entry point; exceptions and ignored vectors are exceptions32.S's. */
#include "interrupt_return.h"
#include "uart-echo.h"

    .text
    .code32

/* COM1's IRQ 4 through the 8259: save what C may clobber, run the handler, return. */
    .globl uart_irq_entry
uart_irq_entry:
    pushal
    cld
    call uart_interrupt
    popal
    RETURN_FROM_INTERRUPT
