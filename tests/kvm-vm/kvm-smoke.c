/* kvm-smoke: check that /dev/kvm runs a guest, and measure user-space exits per second.
 *
 * usage: kvm-smoke [ITERATIONS]      (default 100000)
 *
 * Creates a VM with one vcpu and 4 KiB of memory, runs a real-mode loop that does
 * `out 0x10, al` ITERATIONS times and then `hlt`, checks every exit, and prints the
 * API version, a few capabilities, the exit count and the exits per second.
 * Exit status: 0 when the guest did exactly what it was asked, 1 otherwise.
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
#include <time.h>
#include <unistd.h>

#define GUEST_BASE 0x1000u
#define PORT 0x10u
#define VALUE 0x2au

static int fail(const char *what)
{
    fprintf(stderr, "kvm-smoke: FAIL: %s: %s\n", what, strerror(errno));
    return 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    unsigned long iterations = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000;
    if (iterations == 0 || iterations > 0xffffffffu) {
        fprintf(stderr, "kvm-smoke: ITERATIONS must be 1..4294967295\n");
        return 2;
    }

    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        return fail("open /dev/kvm");
    int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
    printf("KVM_GET_API_VERSION: %d\n", api);
    if (api != KVM_API_VERSION) {
        fprintf(stderr, "kvm-smoke: FAIL: API version %d, expected %d\n", api, KVM_API_VERSION);
        return 1;
    }

    static const struct {
        const char *name;
        int cap;
    } caps[] = {
        {"KVM_CAP_USER_MEMORY", KVM_CAP_USER_MEMORY},
        {"KVM_CAP_IRQCHIP", KVM_CAP_IRQCHIP},
        {"KVM_CAP_PIT2", KVM_CAP_PIT2},
        {"KVM_CAP_SET_TSS_ADDR", KVM_CAP_SET_TSS_ADDR},
        {"KVM_CAP_EXT_CPUID", KVM_CAP_EXT_CPUID},
        {"KVM_CAP_NR_VCPUS", KVM_CAP_NR_VCPUS},
        {"KVM_CAP_MAX_VCPUS", KVM_CAP_MAX_VCPUS},
        {"KVM_CAP_TSC_CONTROL", KVM_CAP_TSC_CONTROL},
        {"KVM_CAP_X86_SMM", KVM_CAP_X86_SMM},
        {"KVM_CAP_NESTED_STATE", KVM_CAP_NESTED_STATE},
        {"KVM_CAP_DIRTY_LOG_RING", KVM_CAP_DIRTY_LOG_RING},
        {"KVM_CAP_SET_GUEST_DEBUG", KVM_CAP_SET_GUEST_DEBUG},
        {"KVM_CAP_GUEST_DEBUG_HW_BPS", KVM_CAP_GUEST_DEBUG_HW_BPS},
        {"KVM_CAP_BINARY_STATS_FD", KVM_CAP_BINARY_STATS_FD},
    };
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        printf("%s: %d\n", caps[i].name, ioctl(kvm, KVM_CHECK_EXTENSION, caps[i].cap));

    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        return fail("KVM_CREATE_VM");

    uint8_t *mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return fail("mmap guest memory");
    /* Real mode, at GUEST_BASE:
     *   mov dx, PORT      ba 10 00
     *   mov al, VALUE     b0 2a
     * l: out dx, al       ee
     *   dec ecx           66 49
     *   jnz l             75 fb
     *   hlt               f4
     */
    static const uint8_t code[] = {0xba, PORT, 0x00, 0xb0, VALUE, 0xee, 0x66, 0x49, 0x75, 0xfb, 0xf4};
    memcpy(mem, code, sizeof code);

    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = GUEST_BASE, .memory_size = 0x1000, .userspace_addr = (uintptr_t)mem};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return fail("KVM_SET_USER_MEMORY_REGION");

    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        return fail("KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (int)sizeof(struct kvm_run))
        return fail("KVM_GET_VCPU_MMAP_SIZE");
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        return fail("mmap kvm_run");

    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
        return fail("KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
        return fail("KVM_SET_SREGS");
    struct kvm_regs regs = {.rip = GUEST_BASE, .rflags = 0x2, .rcx = iterations};
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        return fail("KVM_SET_REGS");

    unsigned long io_exits = 0;
    double t0 = now();
    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR)
                continue;
            return fail("KVM_RUN");
        }
        if (run->exit_reason == KVM_EXIT_IO) {
            const uint8_t *data = (const uint8_t *)run + run->io.data_offset;
            if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != PORT || run->io.size != 1 ||
                run->io.count != 1 || data[0] != VALUE) {
                fprintf(stderr, "kvm-smoke: FAIL: unexpected I/O exit: dir %u port 0x%x size %u count %u data 0x%x\n",
                        run->io.direction, run->io.port, run->io.size, run->io.count, data[0]);
                return 1;
            }
            io_exits++;
            continue;
        }
        if (run->exit_reason == KVM_EXIT_HLT)
            break;
        fprintf(stderr, "kvm-smoke: FAIL: unexpected exit reason %u", run->exit_reason);
        if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
            fprintf(stderr, " (hardware_entry_failure_reason 0x%llx)",
                    (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
            fprintf(stderr, " (suberror %u)", run->internal.suberror);
        fputc('\n', stderr);
        return 1;
    }
    double elapsed = now() - t0;

    if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0)
        return fail("KVM_GET_REGS");
    printf("io exits: %lu in %.3f s: %.0f exits/s (%.2f us/exit)\n", io_exits, elapsed,
           (double)io_exits / elapsed, elapsed * 1e6 / (double)io_exits);
    printf("final rip 0x%llx rcx 0x%llx\n", (unsigned long long)regs.rip, (unsigned long long)regs.rcx);
    if (io_exits != iterations || regs.rip != GUEST_BASE + sizeof code || (regs.rcx & 0xffffffffu) != 0) {
        fprintf(stderr, "kvm-smoke: FAIL: expected %lu exits and a halt at 0x%zx\n", iterations,
                GUEST_BASE + sizeof code);
        return 1;
    }
    printf("kvm-smoke: OK\n");
    return 0;
}
