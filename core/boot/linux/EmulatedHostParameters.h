#pragma once
// Kernel parameters that let a Linux guest boot on a host whose KVM emulates guest ring-0 code
// (no VMX/SVM: a software nested layer; docs/boot.md, "What a Linux guest reaches on a host
// without VMX/SVM"). On such a host every ring-0 instruction goes through KVM's instruction
// emulator (arch/x86/kvm/emulate.c), and an instruction it cannot emulate stops the vcpu with
// KVM_EXIT_INTERNAL_ERROR (suberror KVM_INTERNAL_ERROR_EMULATION). Linux uses two such
// instructions early in its boot only because CPUID says the CPU has them, and the host answers
// the guest's CPUID itself whatever KVM_SET_CPUID2 said, so they are turned off on the command
// line:
//
//   clearcpuid=137,141,151,308
//                   137 = X86_FEATURE_SSSE3 (word 4, bit 9): the BLAKE2s of the random number
//                   generator switches to its SSSE3 version (blake2s_compress_ssse3), whose
//                   MOVD xmm, r32 (66 0f 6e) and PSHUFB the emulator has no entry for; first hit
//                   after "Trying to unpack rootfs image as initramfs...". The generic C version
//                   needs no vector registers.
//                   141 = X86_FEATURE_CX16 (word 4, bit 13): SLUB's cmpxchg_double on struct page
//                   uses CMPXCHG16B, which the emulator refuses (em_cmpxchg8b handles 8 bytes
//                   only); first hit right after "Memory: ..." as the slab allocator starts.
//                   151 = X86_FEATURE_POPCNT (word 4, bit 23): the alternatives patch hweight64
//                   to POPCNT, which the emulator has no entry for; first hit after
//                   "x86/fpu: x87 FPU will use FXSAVE" (the kernel is built without -mpopcnt,
//                   so the patched sites are the only ones).
//                   308 = X86_FEATURE_SMAP (word 9, bit 20): the kernel brackets user-memory
//                   accesses and its exception entries with CLAC/STAC (0f 01 ca/cb), which have
//                   no entry in the emulator's group 7 table; first hit after
//                   "Mountpoint-cache hash table entries". (With "nosmap" instead, Debian's 6.1
//                   kernel still ran CLAC at the same place.)
//   noxsave         XSAVE and the features that need it: fpu__init_system's XRSTOR of the
//                   initial FPU state is not emulated; FXSAVE/FXRSTOR, which the kernel uses
//                   instead, are. First hit after "x86/fpu: Supporting XSAVE feature ...".
//
//   nosoftlockup    ring-0 loops that take a second natively (ftrace's check of its 40521 call
//                   sites, the ORC table) take minutes at emulation speed: the soft-lockup
//                   detector reports each as a stuck CPU, and printing its stack trace through
//                   the emulated serial driver costs more minutes.
//   mitigations=off the guest kernel's speculation mitigations (retpolines, return thunks, the
//                   SRSO safe RET) add instructions to every indirect call and return, and the
//                   boot patches tens of thousands of sites for them, at about 1 us per
//                   instruction. They guard nothing here: the CPU never executes the guest's
//                   ring-0 code, it executes KVM's emulator interpreting it, so guest user code
//                   cannot steer its speculation. Measured: ftrace's set-up of its call sites
//                   took 26 s of guest time instead of 75 s (docs/benchmarks.md).
//   rcupdate.rcu_cpu_stall_suppress=1
//                   the same for RCU's stall detector: Linux's W+X check of its page tables
//                   (CONFIG_DEBUG_WX, ptdump over the espfix area's repeated entries) runs for
//                   about 290 s between "Freeing unused kernel image" and "Run /init" here, and
//                   RCU prints a stall report with a stack trace every 63 s of it. The warning
//                   only is suppressed; grace periods still wait for the CPU.
//   cryptomgr.notests
//                   the crypto manager tests every algorithm as it registers and, from the late
//                   initcall crypto_algapi_init (crypto_start_tests), every one registered before
//                   it: RSA and Diffie-Hellman with the kernel's multi-precision arithmetic
//                   (mpi_powm) take many minutes at emulation speed, during which nothing is
//                   printed and /init waits (found with kvmscope's gdb stub and the kernel's
//                   debug symbols: both vcpus in mpihelp_submul_1 under alg_test). Loading the
//                   built-in X.509 certificates, which waits for the RSA test, timed out (-110)
//                   too. The tests check the kernel's own C code, which KVM's emulator runs
//                   like any other; the kernel ignores the switch in FIPS mode (fips=1).
//
// On VMX/SVM hosts the guest runs natively and none of this applies; the parameters are added
// only where the host emulates ring 0, only to Linux kernels (bzImage and PVH), only when the
// command line does not already set them, and always with a boot note that says so.
#include <string>
#include <string_view>
#include <vector>

namespace kvmscope::boot {

struct KernelParameter {
    std::string_view text;   // as appended to the command line
    std::string_view key;    // a command-line word starting with this sets it already
    std::string_view reason; // for the boot note
};

// The parameters above, in the order they are appended.
const std::vector<KernelParameter>& emulatedRing0Parameters();

// `commandLine` with each parameter whose key no word of it already starts with appended (one
// space apart). `added` receives the parameters that were appended.
std::string withKernelParameters(const std::string& commandLine,
                                 const std::vector<KernelParameter>& parameters,
                                 std::vector<KernelParameter>* added = nullptr);

} // namespace kvmscope::boot
