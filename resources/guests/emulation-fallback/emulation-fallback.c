/* emulation-fallback: executes `int3` in ring 0 with its own #BP handler, as Linux does at boot
 * (alternative_instructions' int3 self-test, and text_poke_bp whenever it patches live code).
 * The handler counts the hits and records the RIP the CPU pushed: #BP is a trap, so that is the
 * address right after the int3 (Intel SDM vol. 3A, 6.5 "Exception Classifications" and 6.15,
 * "Interrupt 3 - Breakpoint Exception"). Each of ROUNDS int3s must be reported once with that RIP;
 * then the guest prints "int3 ok". Then `fninit; fwait` (as Linux's FPU code runs it on each
 * vcpu): with no x87 exception pending and CR0.TS clear, fwait does nothing, and the guest prints
 * "fwait ok" and powers off. Any other exception, a wrong RIP or a missing hit ends it through the
 * debug-exit port with GUEST_EXIT_EXCEPTION.
 *
 * On a host whose KVM emulates ring 0, KVM's instruction emulator cannot deliver a software
 * exception in protected or long mode, nor run fwait, and stops the vcpu
 * (KVM_EXIT_INTERNAL_ERROR); kvmscope completes them instead (core/cpu/EmulationFallback.h). */
#include "../longmode/longmode.h"
#include "console.h"
#include "io.h"
#include "pc.h"

#include <stdint.h>

#define ROUNDS 3
#define BREAKPOINT_VECTOR 3

volatile uint64_t breakpoint_hits;
volatile uint64_t breakpoint_rip;

void breakpoint_entry(void);
/* The CPU pushed RIP, CS, RFLAGS, RSP and SS (no error code for #BP); the handler keeps every
 * register it touches and returns to the interrupted code with iretq. */
__asm__(".text\n"
        ".globl breakpoint_entry\n"
        "breakpoint_entry:\n"
        "    push %rax\n"
        "    mov 8(%rsp), %rax\n"
        "    mov %rax, breakpoint_rip(%rip)\n"
        "    lock incq breakpoint_hits(%rip)\n"
        "    pop %rax\n"
        "    iretq\n");

/* start.S's way back from ring 3 (a #UD at ring3_exit) needs the label; this guest stays in
 * ring 0 and never installs that handler. */
__asm__(".text\n.globl ring3_exit\nring3_exit:\n    ud2\n");

void kernel_main(void) {
    console_puts("emulation-fallback: #BP handler installed, executing int3 in ring 0\n");
    set_up_gdt_and_tss();
    set_up_idt();
    set_idt_gate(BREAKPOINT_VECTOR, breakpoint_entry);
    for (uint64_t round = 1; round <= ROUNDS; ++round) {
        uint64_t after_int3;
        __asm__ volatile("lea 1f(%%rip), %0\n\t"
                         "int3\n"
                         "1:"
                         : "=r"(after_int3)
                         :
                         : "memory");
        if (breakpoint_hits != round || breakpoint_rip != after_int3) {
            console_puts("int3 round ");
            console_dec((uint32_t)round);
            console_puts(": hits ");
            console_dec((uint32_t)breakpoint_hits);
            console_puts(", pushed RIP ");
            console_hex64(breakpoint_rip);
            console_puts(", expected ");
            console_hex64(after_int3);
            console_puts("\n");
            debug_exit(GUEST_EXIT_EXCEPTION);
        }
    }
    console_puts("int3 ok: ");
    console_dec(ROUNDS);
    console_puts(" breakpoints, each reported once with the RIP after it\n");
    /* CR0.EM off and CR0.MP on, as an OS with an FPU sets them (SDM vol. 3A, 9.2.1). */
    uint64_t cr0;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    cr0 = (cr0 & ~(uint64_t)0x4) | 0x2;
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
    __asm__ volatile("fninit\n\tfwait" : : : "memory");
    console_puts("fwait ok\n");
    power_off();
}

void exception_handler(const struct exception_frame* frame) {
    console_puts("\nunexpected exception ");
    console_dec((uint32_t)frame->vector);
    console_puts(" at RIP ");
    console_hex64(frame->rip);
    console_puts("\n");
    debug_exit(GUEST_EXIT_EXCEPTION);
}
