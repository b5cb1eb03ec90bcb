/* smp: what smp.c, mptable.c and trampoline.S share. */
#ifndef KVMSCOPE_GUEST_SMP_H
#define KVMSCOPE_GUEST_SMP_H

/* The real-mode page the APs start in: a STARTUP IPI's vector is the page number of the start
 * address, which must lie below 1 MiB (Intel SDM vol. 3A, 10.6.1, "Startup" delivery mode).
 * 0x8000 is free: above the real-mode IVT and 0x7C00, below the EBDA. */
#define TRAMPOLINE_BASE 0x8000
#define TRAMPOLINE_VECTOR (TRAMPOLINE_BASE >> 12)

#define CR0_PE 0x1

/* Processors this guest can start: the AP stacks are a fixed array. */
#define MAX_CPUS 64
#define AP_STACK_SHIFT 12 /* 4 KiB each */

#ifndef __ASSEMBLER__
#include <stdint.h>

/* trampoline.S */
extern const char ap_trampoline_start[], ap_trampoline_end[];

/* smp.c: where each AP goes once it has a stack. */
__attribute__((noreturn)) void ap_main(void);
#endif

#endif
