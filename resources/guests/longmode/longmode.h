/* longmode: the layout shared by start.S and longmode.c (descriptor selectors, vectors). */
#ifndef KVMSCOPE_GUEST_LONGMODE_H
#define KVMSCOPE_GUEST_LONGMODE_H

/* GDT slots. Ring-3 selectors carry RPL 3 (Intel SDM vol. 3A, 3.4.2). The TSS descriptor is
 * 16 bytes in long mode and takes two slots. */
#define KERNEL_CODE_SELECTOR 0x08
#define KERNEL_DATA_SELECTOR 0x10
#define USER_DATA_SELECTOR (0x18 | 3)
#define USER_CODE_SELECTOR (0x20 | 3)
#define TSS_SELECTOR 0x28
#define GDT_ENTRIES 7

/* RFLAGS bit 1 is reserved and always 1. */
#define RFLAGS_RESERVED 0x2

#define EXCEPTION_VECTORS 32

/* What user.c computes: the primes below this bound (there are 9592). */
#define SIEVE_LIMIT 100000

#ifndef __ASSEMBLER__
#include <stdint.h>

/* What exception_common hands to exception_handler: the stub's pushes, then the CPU's. */
struct exception_frame {
    uint64_t vector;
    uint64_t error_code;
    uint64_t rip;
    uint64_t cs;
    uint64_t rflags;
    uint64_t rsp;
    uint64_t ss;
};

/* The operand of lgdt/lidt (Intel SDM vol. 3A, 3.5.1). */
struct __attribute__((packed)) descriptor_pointer {
    uint16_t limit;
    uint64_t base;
};

void load_segments(const struct descriptor_pointer* gdtr);
uint64_t run_in_ring3(void (*entry)(void), uint64_t user_stack_top);
void resume_ring0_caller(void);
void ring3_return_entry(void);
void kernel_main(void);
__attribute__((noreturn)) void exception_handler(const struct exception_frame* frame);
extern const uint64_t exception_stubs[EXCEPTION_VECTORS];

/* ring0.c: loads a GDT (ring-0 and ring-3 segments) and the TSS, and an IDT with start.S's
 * exception stubs; set_idt_gate replaces one vector's handler (a DPL-0 interrupt gate). */
void set_up_gdt_and_tss(void);
void set_up_idt(void);
void set_idt_gate(unsigned vector, void (*handler)(void));

/* user.c: the ring-3 program and its stack. The kernel only takes their addresses: it never reads
 * or writes user pages (that would fault with SMAP on). */
#define USER_STACK_SIZE 16384
void user_main(void);
extern uint8_t user_stack[USER_STACK_SIZE];
#endif

#endif
