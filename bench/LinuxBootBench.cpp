// Boots the same Linux kernel and initramfs with kvmscope and with QEMU from Debian, one after
// the other in one run, and prints for each the wall time from process start to the kernel's
// first log line, to chosen milestones, and to /init (where reached), and its peak RSS.
//
//   kvmscope-bench-linux [--kernel BZIMAGE] [--initrd FILE] [--seconds N] [--cpus N]
//                        [--peers kvmscope,qemu-microvm,kvmscope-bzimage,qemu-pc] [--rounds N]
//
// The kernel defaults to $KVMSCOPE_TEST_BZIMAGE and the initramfs to initramfs.cpio.gz beside it
// (./test.sh fetches both: tests/guests/). kvmscope and QEMU's microvm machine boot the same
// vmlinux by PVH (the benchmark unpacks it from the bzImage once, with kvmscope's own code, so
// neither pays for that); kvmscope-bzimage (the Linux boot protocol, entered at the 64-bit entry
// point) and QEMU's pc machine (SeaBIOS, then the real-mode setup code) boot the bzImage through
// its decompressor, which prints nothing in Debian's build (no CONFIG_X86_VERBOSE_BOOTUP). Every
// peer gets the same command line: on a host whose KVM emulates ring 0, that includes the
// parameters kvmscope would add for it (boot/linux/EmulatedHostParameters.h), given explicitly to
// all of them, so the kernels run the same code (kvmscope then adds nothing to it), and the same
// CPUID: without the KVM features used through hypercalls (machine/Cpuid.h), which QEMU turns off
// with its kvm-pv-* switches. A run ends at /init, when the VMM exits, or after --seconds.
//
// The milestones before user space are almost all the guest kernel's own work, so on a shared
// host one run of each cannot tell a few percent apart. --rounds N runs every peer N times, in
// the given order in even rounds and the reverse in odd ones (so no peer always starts on a
// host the one before it has just warmed or loaded), and prints each peer's median per
// milestone and its ratio to the first peer's median.
#include "PeerRuns.h"
#include "boot/ImageLoader.h"
#include "boot/linux/BzImagePayload.h"
#include "boot/linux/EmulatedHostParameters.h"
#include "kvm/System.h"

#include <filesystem>

using namespace kvmscope;
using bench::Milestone;
using bench::Peer;

namespace {

// In the order the kernel prints them.
const std::vector<Milestone> kMilestones = {
    Milestone{"first line", "Linux version"},
    Milestone{"ACPI tables", "ACPI: RSDP"},
    Milestone{"Memory:", "] Memory: "},
    Milestone{"SMP up", "smp: Brought up"},
    // The kernel starts /init (the last line before user space), and /init prints its marker
    // (user space runs: tests/guests/build-initramfs.sh).
    Milestone{"Run /init", "Run /init as init process"},
    Milestone{"/init up", "kvmscope-initramfs: up"},
};

} // namespace

int main(int argc, char** argv) {
    std::string kernel =
        std::getenv("KVMSCOPE_TEST_BZIMAGE") ? std::getenv("KVMSCOPE_TEST_BZIMAGE") : "";
    std::string initrd;
    double seconds = 300;
    std::string cpus = "2";
    std::string peers = "kvmscope,qemu-microvm,kvmscope-bzimage,qemu-pc";
    int rounds = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string option = argv[i];
        if (option == "--kernel")
            kernel = argv[i + 1];
        else if (option == "--initrd")
            initrd = argv[i + 1];
        else if (option == "--seconds")
            seconds = std::atof(argv[i + 1]);
        else if (option == "--cpus")
            cpus = argv[i + 1];
        else if (option == "--peers")
            peers = argv[i + 1];
        else if (option == "--rounds")
            rounds = std::atoi(argv[i + 1]);
    }
    if (rounds < 1) {
        fmt::print(stderr, "kvmscope-bench-linux: --rounds must be at least 1\n");
        return 2;
    }
    std::string why;
    if (!kvm::System::available(&why)) {
        fmt::print("skipped: needs /dev/kvm: {}\n", why);
        return 0;
    }
    if (kernel.empty()) {
        fmt::print("skipped: no kernel: give --kernel BZIMAGE or set KVMSCOPE_TEST_BZIMAGE "
                   "(./test.sh fetches Debian's)\n");
        return 0;
    }
    if (initrd.empty())
        initrd = (std::filesystem::path(kernel).parent_path() / "initramfs.cpio.gz").string();
    try {
        const std::vector<uint8_t> image = boot::readImageFile(kernel, "kernel");
        const boot::BzImagePayload payload = boot::extractBzImagePayload(image, kernel);
        const std::string vmlinux =
            bench::writeTemporary(payload.vmlinux, "kvmscope-bench-vmlinux");

        std::string commandLine = "console=ttyS0 earlyprintk=ttyS0 panic=-1";
        const bool emulated = !kvm::System::hardwareVirtualization();
        if (emulated)
            commandLine = boot::withKernelParameters(commandLine, boot::emulatedRing0Parameters());
        fmt::print("kernel {} ({} bytes of vmlinux by PVH), initrd {}, {} vcpus, 512 MiB\n"
                   "command line for every peer: {}\n"
                   "host: {}\n\n",
                   kernel, payload.vmlinux.size(), initrd, cpus, commandLine,
                   emulated ? "KVM emulates guest ring 0 (no VMX/SVM)" : "hardware VMX/SVM");

        // Where ring 0 is emulated, kvmscope hides the KVM features used through hypercalls
        // (machine/Cpuid.h: they fault once the kernel's text is read-only); QEMU is given the
        // same CPUID with its own switches for them.
        const std::string qemuCpu =
            emulated ? "host,-arch-capabilities,kvm-pv-unhalt=off,kvm-pv-ipi=off,"
                       "kvm-pv-sched-yield=off"
                     : "host,-arch-capabilities";
        const std::vector<std::string> qemuCommon = {
            "-enable-kvm", "-cpu",       qemuCpu,   "-m",       "512M",    "-smp",
            cpus,          "-display",   "none",    "-monitor", "none",    "-serial",
            "stdio",       "-no-reboot", "-initrd", initrd,     "-append", commandLine};
        auto withCommon = [&](std::vector<std::string> arguments) {
            arguments.insert(arguments.end(), qemuCommon.begin(), qemuCommon.end());
            return arguments;
        };
        const std::vector<Peer> all = {
            {"kvmscope",
             {KVMSCOPE_BINARY, "--headless", "--memory", "512M", "--cpus", cpus, "--initrd", initrd,
              "--append", commandLine, "--no-reboot", vmlinux}},
            {"kvmscope-bzimage",
             {KVMSCOPE_BINARY, "--headless", "--format", "linux", "--memory", "512M", "--cpus",
              cpus, "--initrd", initrd, "--append", commandLine, "--no-reboot", kernel}},
            {"qemu-microvm",
             withCommon({"qemu-system-x86_64", "-M", "microvm", "-kernel", vmlinux})},
            {"qemu-pc", withCommon({"qemu-system-x86_64", "-M", "pc", "-kernel", kernel})},
        };
        bench::runRounds(bench::choosePeers(all, peers), kMilestones, rounds, seconds,
                         "/init is up");
        std::filesystem::remove(vmlinux);
    } catch (const std::exception& error) {
        fmt::print(stderr, "kvmscope-bench-linux: {}\n", error.what());
        return 1;
    }
    return 0;
}
