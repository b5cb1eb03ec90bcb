/* uart-echo: what uart-echo.c and vectors.S share (the exception plumbing is exceptions32.h's). */
#ifndef KVMSCOPE_GUEST_UART_ECHO_H
#define KVMSCOPE_GUEST_UART_ECHO_H

#include "exceptions32.h"

#ifndef __ASSEMBLER__
/* vectors.S */
void uart_irq_entry(void);

/* uart-echo.c, called from vectors.S */
void uart_interrupt(void);
#endif

#endif
