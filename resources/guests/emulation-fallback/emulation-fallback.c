/* emulation-fallback: executes `int3` in ring 0 with its own #BP handler, as Linux does at boot
 * (alternative_instructions' int3 self-test, and text_poke_bp whenever it patches live code).
 * The handler counts the hits and records the RIP the CPU pushed: #BP is a trap, so that is the
 * address right after the int3 (Intel SDM vol. 3A, 6.5 "Exception Classifications" and 6.15,
 * "Interrupt 3 - Breakpoint Exception"). Each of ROUNDS int3s must be reported once with that RIP;
 * then the guest prints "int3 ok". Then `fninit; fwait` (as Linux's FPU code runs it on each
 * vcpu): with no x87 exception pending and CR0.TS clear, fwait does nothing, and the guest prints
 * "fwait ok". Then LDMXCSR and STMXCSR with memory operands, as Linux's kernel_fpu_begin runs
 * them, each result checked against the SDM (vol. 2A "LDMXCSR", vol. 2B "STMXCSR"):
 *   - CR4.OSFXSR = 0: #UD; CR0.TS = 1: #NM (both before the operand is touched);
 *   - ldmxcsr [rsp+N] then stmxcsr to a RIP-relative variable and through GS (its base set with
 *     WRMSR IA32_GS_BASE) read back the value loaded;
 *   - a reserved MXCSR bit (31): #GP(0) at the ldmxcsr, MXCSR unchanged;
 *   - stmxcsr to a page the guest made not present: #PF, error code 2 (supervisor write to a
 *     not-present page, SDM vol. 3A 4.7), CR2 the operand's address, memory untouched;
 * then it prints "mxcsr ok" and powers off. Any other exception, a wrong RIP or a missing hit
 * ends it through the debug-exit port with GUEST_EXIT_EXCEPTION.
 *
 * On a host whose KVM emulates ring 0, KVM's instruction emulator cannot deliver a software
 * exception in protected or long mode, nor run fwait, ldmxcsr or stmxcsr, and stops the vcpu
 * (KVM_EXIT_INTERNAL_ERROR); kvmscope completes them instead (core/cpu/EmulationFallback.h).
 * On hosts with VMX/SVM the CPU runs them all: the checks are the architecture's, not kvmscope's.
 */
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

/* Expected faults (#UD, #NM, #GP, #PF): the handler records the vector, the error code (0 where
 * the CPU pushes none), the faulting RIP and CR2, and resumes at fault_resume. */
#define INVALID_OPCODE_VECTOR 6
#define DEVICE_NOT_AVAILABLE_VECTOR 7
#define GENERAL_PROTECTION_VECTOR 13
#define PAGE_FAULT_VECTOR 14
#define NO_FAULT 0xFF

volatile uint64_t fault_vector = NO_FAULT;
volatile uint64_t fault_error;
volatile uint64_t fault_rip;
volatile uint64_t fault_cr2;
volatile uint64_t fault_resume;

void invalid_opcode_entry(void);
void device_not_available_entry(void);
void general_protection_entry(void);
void page_fault_entry(void);
__asm__(".text\n"
        ".globl invalid_opcode_entry, device_not_available_entry\n"
        ".globl general_protection_entry, page_fault_entry\n"
        "invalid_opcode_entry:\n"
        "    pushq $0\n"
        "    pushq $6\n"
        "    jmp expected_fault\n"
        "device_not_available_entry:\n"
        "    pushq $0\n"
        "    pushq $7\n"
        "    jmp expected_fault\n"
        "general_protection_entry:\n"
        "    pushq $13\n"
        "    jmp expected_fault\n"
        "page_fault_entry:\n"
        "    pushq $14\n"
        /* Stack: vector, error code, then the CPU's RIP, CS, RFLAGS, RSP, SS. */
        "expected_fault:\n"
        "    push %rax\n"
        "    mov 8(%rsp), %rax\n"
        "    mov %rax, fault_vector(%rip)\n"
        "    mov 16(%rsp), %rax\n"
        "    mov %rax, fault_error(%rip)\n"
        "    mov 24(%rsp), %rax\n"
        "    mov %rax, fault_rip(%rip)\n"
        "    mov %cr2, %rax\n"
        "    mov %rax, fault_cr2(%rip)\n"
        "    mov fault_resume(%rip), %rax\n"
        "    mov %rax, 24(%rsp)\n"
        "    pop %rax\n"
        "    add $16, %rsp\n"
        "    iretq\n");

#define CR0_TS (1u << 3)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define MSR_GS_BASE 0xC0000101
#define MXCSR_DEFAULT 0x1F80    /* every exception masked, round to nearest */
#define MXCSR_ROUND_DOWN 0x3F80 /* RC = 01 */
#define MXCSR_RESERVED_31 0x80000000u
/* A 2 MiB page of the identity map that nothing uses: made not present for the #PF check. */
#define UNMAPPED_PAGE 0x2000000ull
#define PAGE_SIZE_BIT (1ull << 7)
#define FRAME_MASK 0x000FFFFFFFFFF000ull

uint32_t gs_area[4];
uint32_t rip_relative_mxcsr;

static uint64_t read_cr0(void) {
    uint64_t value;
    __asm__ volatile("mov %%cr0, %0" : "=r"(value));
    return value;
}

static void write_cr0(uint64_t value) {
    __asm__ volatile("mov %0, %%cr0" : : "r"(value) : "memory");
}

static uint64_t read_cr4(void) {
    uint64_t value;
    __asm__ volatile("mov %%cr4, %0" : "=r"(value));
    return value;
}

static void write_cr4(uint64_t value) {
    __asm__ volatile("mov %0, %%cr4" : : "r"(value) : "memory");
}

static uint32_t read_mxcsr(void) {
    uint32_t value;
    __asm__ volatile("stmxcsr %0" : "=m"(value));
    return value;
}

/* ldmxcsr from the stack, at an offset from RSP as kernel_fpu_begin has it. */
static void load_mxcsr(uint32_t value) {
    __asm__ volatile("sub $16, %%rsp\n\t"
                     "movl %0, 4(%%rsp)\n\t"
                     "ldmxcsr 4(%%rsp)\n\t"
                     "add $16, %%rsp"
                     :
                     : "r"(value)
                     : "memory");
}

/* ldmxcsr of `*value`, expected to fault: returns the instruction's address. */
static uint64_t load_mxcsr_faulting(const uint32_t* value) {
    uint64_t at;
    fault_vector = NO_FAULT;
    __asm__ volatile("lea 1f(%%rip), %%rax\n\t"
                     "mov %%rax, fault_resume(%%rip)\n\t"
                     "lea 2f(%%rip), %0\n"
                     "2: ldmxcsr %1\n"
                     "1:"
                     : "=&r"(at)
                     : "m"(*value)
                     : "rax", "memory");
    return at;
}

/* stmxcsr to `*target`, expected to fault: returns the instruction's address. */
static uint64_t store_mxcsr_faulting(uint32_t* target) {
    uint64_t at;
    fault_vector = NO_FAULT;
    __asm__ volatile("lea 1f(%%rip), %%rax\n\t"
                     "mov %%rax, fault_resume(%%rip)\n\t"
                     "lea 2f(%%rip), %0\n"
                     "2: stmxcsr %1\n"
                     "1:"
                     : "=&r"(at), "=m"(*target)
                     :
                     : "rax", "memory");
    return at;
}

static void expect_fault(const char* what, uint64_t vector, uint64_t error, uint64_t at) {
    if (fault_vector == vector && fault_error == error && fault_rip == at)
        return;
    console_puts(what);
    console_puts(": vector ");
    console_dec((uint32_t)fault_vector);
    console_puts(" error ");
    console_hex64(fault_error);
    console_puts(" at ");
    console_hex64(fault_rip);
    console_puts(", expected vector ");
    console_dec((uint32_t)vector);
    console_puts(" error ");
    console_hex64(error);
    console_puts(" at ");
    console_hex64(at);
    console_puts("\n");
    debug_exit(GUEST_EXIT_EXCEPTION);
}

static void expect_value(const char* what, uint64_t value, uint64_t expected) {
    if (value == expected)
        return;
    console_puts(what);
    console_puts(": ");
    console_hex64(value);
    console_puts(", expected ");
    console_hex64(expected);
    console_puts("\n");
    debug_exit(GUEST_EXIT_EXCEPTION);
}

/* The identity map's 2 MiB page directory entry for `address` (kvmscope's ELF64 entry state:
 * PML4, PDPT and page directories reached through CR3, SDM vol. 3A 4.5). */
static volatile uint64_t* page_directory_entry(uint64_t address) {
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    const volatile uint64_t* pml4 = (const volatile uint64_t*)(cr3 & FRAME_MASK);
    const volatile uint64_t* pdpt =
        (const volatile uint64_t*)(pml4[(address >> 39) & 511] & FRAME_MASK);
    volatile uint64_t* pd = (volatile uint64_t*)(pdpt[(address >> 30) & 511] & FRAME_MASK);
    return &pd[(address >> 21) & 511];
}

static void check_mxcsr_instructions(void) {
    set_idt_gate(INVALID_OPCODE_VECTOR, invalid_opcode_entry);
    set_idt_gate(DEVICE_NOT_AVAILABLE_VECTOR, device_not_available_entry);
    set_idt_gate(GENERAL_PROTECTION_VECTOR, general_protection_entry);
    set_idt_gate(PAGE_FAULT_VECTOR, page_fault_entry);
    const uint32_t round_down = MXCSR_ROUND_DOWN;

    /* Without CR4.OSFXSR the OS has not said it saves SSE state: #UD (SDM vol. 3A 2.5). */
    write_cr4(read_cr4() & ~(uint64_t)(CR4_OSFXSR | CR4_OSXMMEXCPT));
    uint64_t at = load_mxcsr_faulting(&round_down);
    expect_fault("ldmxcsr without CR4.OSFXSR", INVALID_OPCODE_VECTOR, 0, at);
    write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);

    /* CR0.TS: the SSE state belongs to another task, #NM. */
    write_cr0(read_cr0() | CR0_TS);
    at = load_mxcsr_faulting(&round_down);
    expect_fault("ldmxcsr with CR0.TS", DEVICE_NOT_AVAILABLE_VECTOR, 0, at);
    __asm__ volatile("clts" : : : "memory");

    load_mxcsr(MXCSR_ROUND_DOWN);
    __asm__ volatile("stmxcsr rip_relative_mxcsr(%%rip)" : : : "memory");
    expect_value("stmxcsr [rip+...] after ldmxcsr [rsp+4]", rip_relative_mxcsr, MXCSR_ROUND_DOWN);
    const uint64_t gs_base = (uint64_t)(uintptr_t)gs_area;
    __asm__ volatile("wrmsr"
                     :
                     : "c"(MSR_GS_BASE), "a"((uint32_t)gs_base), "d"((uint32_t)(gs_base >> 32)));
    __asm__ volatile("stmxcsr %%gs:8" : : : "memory");
    expect_value("stmxcsr gs:8", gs_area[2], MXCSR_ROUND_DOWN);

    /* Bit 31 is reserved on every CPU (outside any MXCSR_MASK): #GP(0), MXCSR unchanged. */
    const uint32_t reserved = MXCSR_DEFAULT | MXCSR_RESERVED_31;
    at = load_mxcsr_faulting(&reserved);
    expect_fault("ldmxcsr of a reserved bit", GENERAL_PROTECTION_VECTOR, 0, at);
    expect_value("MXCSR after the #GP", read_mxcsr(), MXCSR_ROUND_DOWN);

    /* A store to a not-present page: #PF with the address in CR2, P = 0, W = 1, U/S = 0. */
    volatile uint64_t* pde = page_directory_entry(UNMAPPED_PAGE);
    if (!(*pde & PAGE_SIZE_BIT)) {
        console_puts("the identity map does not use a 2 MiB page at 32 MiB\n");
        debug_exit(GUEST_EXIT_EXCEPTION);
    }
    uint32_t* const unmapped = (uint32_t*)(uintptr_t)(UNMAPPED_PAGE + 0x10);
    *unmapped = 0;
    const uint64_t mapped = *pde;
    *pde = mapped & ~(uint64_t)1;
    __asm__ volatile("invlpg (%0)" : : "r"(unmapped) : "memory");
    at = store_mxcsr_faulting(unmapped);
    expect_fault("stmxcsr to a not-present page", PAGE_FAULT_VECTOR, 2, at);
    expect_value("CR2 of the #PF", fault_cr2, (uint64_t)(uintptr_t)unmapped);
    *pde = mapped;
    __asm__ volatile("invlpg (%0)" : : "r"(unmapped) : "memory");
    expect_value("memory under the faulting stmxcsr", *unmapped, 0);

    load_mxcsr(MXCSR_DEFAULT);
    expect_value("MXCSR back to its default", read_mxcsr(), MXCSR_DEFAULT);
    console_puts("mxcsr ok: #UD, #NM, loads and stores through RSP, RIP and GS, #GP(0), #PF\n");
}

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
    check_mxcsr_instructions();
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
