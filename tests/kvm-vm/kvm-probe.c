/* kvm-probe: report which KVM features kvmscope relies on work on this /dev/kvm.
 *
 * usage: kvm-probe
 *
 * Prints one line per check: "ok", "absent" or "not working: <what happened>". Checks the
 * supported CPUID (a few bits), the MSR index list, and guest debugging on a real-mode
 * guest: single-step, a hardware execution breakpoint, a data write watchpoint and a
 * software breakpoint (int3). Exit status: 0 when the basic VM setup worked (whatever
 * the individual checks said), 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define BASE 0x1000u
#define DATA 0x1800u

static int kvm, vm, vcpu;
static struct kvm_run *run;
static uint8_t *mem;

static void die(const char *what)
{
    fprintf(stderr, "kvm-probe: FAIL: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Real mode, at BASE:
 *  0: ba 10 00   mov dx, 0x10
 *  3: b0 2a      mov al, 0x2a
 *  5: ee         out dx, al
 *  6: a2 00 18   mov [DATA], al
 *  9: 90         nop            (replaced by int3 for the software breakpoint)
 *  a: f4         hlt
 */
static const uint8_t code[] = {0xba, 0x10, 0x00, 0xb0, 0x2a, 0xee, 0xa2, DATA & 0xff, DATA >> 8, 0x90, 0xf4};

static void reset(uint32_t control, uint64_t dr0, uint64_t dr7)
{
    memcpy(mem, code, sizeof code);
    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
        die("KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    sregs.ds.base = 0;
    sregs.ds.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
        die("KVM_SET_SREGS");
    struct kvm_regs regs = {.rip = BASE, .rflags = 0x2};
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        die("KVM_SET_REGS");
    struct kvm_guest_debug dbg = {.control = control};
    dbg.arch.debugreg[0] = dr0;
    dbg.arch.debugreg[7] = dr7;
    if (ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg) < 0)
        die("KVM_SET_GUEST_DEBUG");
}

/* Run until an exit other than the expected port write; return its reason. */
static unsigned run_until_stop(void)
{
    for (int guard = 0; guard < 100; guard++) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR)
                continue;
            die("KVM_RUN");
        }
        if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0x10)
            continue;
        return run->exit_reason;
    }
    return ~0u;
}

static uint64_t rip(void)
{
    struct kvm_regs regs;
    if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0)
        die("KVM_GET_REGS");
    return regs.rip;
}

static void expect_debug(const char *name, uint64_t want_pc, int want_exception)
{
    unsigned reason = run_until_stop();
    if (reason != KVM_EXIT_DEBUG) {
        printf("%-28s not working: exit reason %u instead of KVM_EXIT_DEBUG (rip 0x%llx)\n", name, reason,
               (unsigned long long)rip());
        return;
    }
    uint64_t pc = run->debug.arch.pc;
    if (pc != want_pc || (want_exception >= 0 && run->debug.arch.exception != (uint32_t)want_exception)) {
        printf("%-28s not working: debug exit at 0x%llx exception %u dr6 0x%llx (wanted 0x%llx exception %d)\n", name,
               (unsigned long long)pc, run->debug.arch.exception, (unsigned long long)run->debug.arch.dr6,
               (unsigned long long)want_pc, want_exception);
        return;
    }
    printf("%-28s ok (exit at 0x%llx, exception %u, dr6 0x%llx)\n", name, (unsigned long long)pc,
           run->debug.arch.exception, (unsigned long long)run->debug.arch.dr6);
}

static void cpuid_bits(void)
{
    int n = 256;
    struct kvm_cpuid2 *cpuid = calloc(1, sizeof *cpuid + (size_t)n * sizeof(struct kvm_cpuid_entry2));
    cpuid->nent = (uint32_t)n;
    if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
        die("KVM_GET_SUPPORTED_CPUID");
    printf("%-28s %u entries\n", "supported CPUID", cpuid->nent);
    static const struct {
        const char *name;
        uint32_t leaf;
        int reg; /* 0 eax 1 ebx 2 ecx 3 edx */
        int bit;
    } bits[] = {
        {"CPUID cx16", 1, 2, 13},        {"CPUID xsave", 1, 2, 26},   {"CPUID avx", 1, 2, 28},
        {"CPUID x2apic", 1, 2, 21},
        {"CPUID avx2", 7, 1, 5},         {"CPUID avx512f", 7, 1, 16}, {"CPUID la57", 7, 2, 16},
        {"CPUID pdpe1gb (1G pages)", 0x80000001, 3, 26}, {"CPUID svm (nested)", 0x80000001, 2, 2},
    };
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        int found = 0;
        for (uint32_t e = 0; e < cpuid->nent; e++) {
            const struct kvm_cpuid_entry2 *c = &cpuid->entries[e];
            if (c->function != bits[i].leaf || c->index != 0)
                continue;
            uint32_t r = bits[i].reg == 0 ? c->eax : bits[i].reg == 1 ? c->ebx : bits[i].reg == 2 ? c->ecx : c->edx;
            found = (r >> bits[i].bit) & 1;
        }
        printf("%-28s %s\n", bits[i].name, found ? "ok" : "absent");
    }
    free(cpuid);
}

int main(void)
{
    kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        die("open /dev/kvm");
    cpuid_bits();

    struct kvm_msr_list probe = {.nmsrs = 0};
    ioctl(kvm, KVM_GET_MSR_INDEX_LIST, &probe); /* E2BIG, fills nmsrs */
    printf("%-28s %u\n", "MSR index list", probe.nmsrs);
    printf("%-28s %d\n", "KVM_CAP_X86_SMM", ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_X86_SMM));
    printf("%-28s %d\n", "KVM_CAP_TSC_CONTROL", ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_TSC_CONTROL));
    printf("%-28s %d\n", "KVM_CAP_NESTED_STATE", ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_NESTED_STATE));
    printf("%-28s %d\n", "KVM_CAP_DEBUGREGS", ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_DEBUGREGS));

    vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        die("KVM_CREATE_VM");
    mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        die("mmap");
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = BASE, .memory_size = 0x1000, .userspace_addr = (uintptr_t)mem};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        die("KVM_SET_USER_MEMORY_REGION");
    vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        die("KVM_CREATE_VCPU");
    int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        die("mmap kvm_run");

    reset(0, 0, 0);
    unsigned reason = run_until_stop();
    printf("%-28s %s\n", "real-mode run to hlt",
           reason == KVM_EXIT_HLT && mem[DATA - BASE] == 0x2a ? "ok" : "not working");

    reset(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP, 0, 0);
    expect_debug("single-step", BASE + 3, 1);

    /* DR7: G0 enable (bit 1), GE (bit 9), bit 10 reads as 1; RW0/LEN0 = 00 (execute, 1 byte). */
    reset(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, BASE + 9, 0x602);
    expect_debug("hw execution breakpoint", BASE + 9, 1);

    /* DR7: as above with RW0 = 01 (data write), LEN0 = 00; the trap comes after the store. */
    reset(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, DATA, 0x602 | (1u << 16));
    expect_debug("hw data watchpoint (write)", BASE + 9, 1);

    reset(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP, 0, 0);
    mem[9] = 0xcc;
    expect_debug("sw breakpoint (int3)", BASE + 9, 3);
    return 0;
}
