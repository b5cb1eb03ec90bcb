// virtio-blk throughput, kvmscope against QEMU: both boot the same Debian kernel, the virtio-root
// initramfs (tests/guests/build-virtio-root.sh) and a root disk on /dev/vda whose /init
// (bench/guest/build-blk-guest.sh) runs blkbench (bench/guest/blkbench.c: O_DIRECT, one request
// at a time) on a second disk, /dev/vdb: a sequential write and read of --mib MiB in 1 MiB
// requests, then --random 4 KiB reads at pseudo-random offsets. The guest prints the rates; the
// benchmark prints them per run and, over --rounds, each peer's medians and the ratio
// kvmscope / QEMU (above 1: kvmscope is faster).
//
//   kvmscope-bench-blk [--kernel BZIMAGE] [--rounds N] [--mib N] [--random N]
//                      [--peers kvmscope,qemu-pc[,qemu-pc-io_uring]] [--scratch DIR] [--seconds N]
//
// The kernel defaults to $KVMSCOPE_TEST_BZIMAGE, else Debian's in kvmscope's kernel cache; the
// initramfs and busybox are taken from the kernel's directory (./test.sh prepares them). The
// benchmark disk (--mib MiB, every block written once before the first run, so both peers read
// allocated blocks) and a fresh copy of the root image per run are made in --scratch (default:
// the system's temporary directory). Both peers: 1 vcpu, 256 MiB, the disks as raw images through
// the host's page cache (kvmscope's DiskImage uses plain preadv/pwritev; QEMU gets its default
// cache=writeback, aio=threads; qemu-pc-io_uring the same with aio=io_uring, which submits from
// its main loop instead of handing each request to a worker thread), the guest's flushes reaching
// the host as fdatasync.
#include "PeerRuns.h"
#include "boot/linux/EmulatedHostParameters.h"
#include "kvm/System.h"

#include <filesystem>

using namespace kvmscope;
using bench::Milestone;
using bench::Peer;
using bench::Reading;

namespace {

const std::vector<Reading> kReadings = {
    Reading{"seq-write MiB/s", "blkbench: seq-write ", " MiB/s"},
    Reading{"seq-read MiB/s", "blkbench: seq-read ", " MiB/s"},
    Reading{"rand-read IOPS", "blkbench: rand-read ", " IOPS"},
};
const Milestone kEnd{"done", "kvmscope-blk-guest: done"};

std::string quoted(const std::string& text) {
    std::string result = "'";
    for (const char c : text)
        result += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return result + "'";
}

bool onPath(const std::string& program) {
    const char* path = std::getenv("PATH");
    for (const std::string& directory : bench::split(path ? path : "", ':'))
        if (::access((std::filesystem::path(directory) / program).c_str(), X_OK) == 0)
            return true;
    return false;
}

// Every byte of the benchmark disk written (not zeroes, which a file system might keep sparse).
void writeBenchDisk(const std::string& path, int mib) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    std::vector<char> chunk(1 << 20);
    uint32_t state = 0x6b766d73;
    for (char& byte : chunk) {
        state = state * 1103515245u + 12345u;
        byte = static_cast<char>(state >> 24);
    }
    for (int i = 0; i < mib; ++i)
        out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    out.close();
    if (!out)
        throw std::runtime_error("cannot write " + path);
}

} // namespace

int main(int argc, char** argv) {
    std::string kernel =
        std::getenv("KVMSCOPE_TEST_BZIMAGE") ? std::getenv("KVMSCOPE_TEST_BZIMAGE") : "";
    if (kernel.empty()) {
        const char* cache = std::getenv("KVMSCOPE_CACHE");
        const char* home = std::getenv("HOME");
        kernel = cache ? std::string(cache) + "/debian-kernel/vmlinuz"
                       : std::string(home ? home : "/tmp") + "/.cache/kvmscope/debian-kernel/vmlinuz";
    }
    int rounds = 1;
    int mib = 256;
    int random = 4000;
    double seconds = 900;
    std::string peers = "kvmscope,qemu-pc";
    std::string scratch = std::filesystem::temp_directory_path().string();
    if (argc % 2 == 0) {
        fmt::print(stderr, "kvmscope-bench-blk: {} needs a value\n", argv[argc - 1]);
        return 2;
    }
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string option = argv[i];
        if (option == "--kernel")
            kernel = argv[i + 1];
        else if (option == "--rounds")
            rounds = std::atoi(argv[i + 1]);
        else if (option == "--mib")
            mib = std::atoi(argv[i + 1]);
        else if (option == "--random")
            random = std::atoi(argv[i + 1]);
        else if (option == "--peers")
            peers = argv[i + 1];
        else if (option == "--scratch")
            scratch = argv[i + 1];
        else if (option == "--seconds")
            seconds = std::atof(argv[i + 1]);
        else {
            fmt::print(stderr, "kvmscope-bench-blk: unknown option {}\n", option);
            return 2;
        }
    }
    if (rounds < 1 || mib < 1 || random < 1) {
        fmt::print(stderr, "kvmscope-bench-blk: --rounds, --mib and --random must be at least 1\n");
        return 2;
    }
    std::string why;
    if (!kvm::System::available(&why)) {
        fmt::print("skipped: needs /dev/kvm: {}\n", why);
        return 0;
    }
    const std::filesystem::path cache = std::filesystem::path(kernel).parent_path();
    const std::string initrd = (cache / "virtio-root" / "initramfs.cpio.gz").string();
    if (!std::filesystem::exists(kernel) || !std::filesystem::exists(initrd) ||
        !std::filesystem::exists(cache / "busybox")) {
        fmt::print("skipped: needs the kernel, busybox and the virtio-root initramfs: {}, {} and "
                   "{} (./test.sh fetches and builds them: tests/guests/fetch-debian-kernel.sh, "
                   "tests/guests/build-virtio-root.sh), or give --kernel BZIMAGE\n",
                   kernel, (cache / "busybox").string(), initrd);
        return 0;
    }
    const auto wanted = bench::split(peers, ',');
    if (std::any_of(wanted.begin(), wanted.end(),
                    [](const std::string& peer) { return peer.starts_with("qemu"); }) &&
        !onPath("qemu-system-x86_64")) {
        fmt::print("skipped: no qemu-system-x86_64 on PATH (Debian's package qemu-system-x86), "
                   "or give --peers kvmscope\n");
        return 0;
    }
    try {
        const std::filesystem::path dir(scratch);
        const std::string rootTemplate = (dir / "kvmscope-bench-blk-root.ext4").string();
        const std::string root = (dir / "kvmscope-bench-blk-root-run.ext4").string();
        const std::string disk = (dir / "kvmscope-bench-blk.img").string();
        const std::string build = "bash " + quoted(KVMSCOPE_BLK_GUEST_SCRIPT) + " " +
                                  quoted(KVMSCOPE_BLKBENCH) + " " + quoted(rootTemplate) + " " +
                                  quoted(cache.string());
        if (std::system(build.c_str()) != 0)
            throw std::runtime_error("building the guest's root image failed: " + build);
        writeBenchDisk(disk, mib);

        std::string commandLine =
            fmt::format("console=ttyS0 root=/dev/vda panic=-1 quiet kvmscope.blk-mib={} "
                        "kvmscope.blk-random={}",
                        mib, random);
        const bool emulated = !kvm::System::hardwareVirtualization();
        if (emulated)
            commandLine = boot::withKernelParameters(commandLine, boot::emulatedRing0Parameters());
        fmt::print("kernel {}, initrd {}, 1 vcpu, 256 MiB; root {} (a fresh copy per run) on "
                   "vda, benchmark disk {} ({} MiB) on vdb\n"
                   "command line for every peer: {}\n"
                   "host: {}\n\n",
                   kernel, initrd, rootTemplate, disk, mib, commandLine,
                   emulated ? "KVM emulates guest ring 0 (no VMX/SVM)" : "hardware VMX/SVM");
        // As in kvmscope-bench-linux: where ring 0 is emulated, QEMU hides the KVM features used
        // through hypercalls, as kvmscope does (machine/Cpuid.h).
        const std::string qemuCpu =
            emulated ? "host,-arch-capabilities,kvm-pv-unhalt=off,kvm-pv-ipi=off,"
                       "kvm-pv-sched-yield=off"
                     : "host,-arch-capabilities";
        // QEMU's disks: its defaults (cache=writeback, aio=threads), or `aio` instead.
        auto qemu = [&](const std::string& aio) {
            const std::string options = aio.empty() ? "" : ",aio=" + aio;
            return std::vector<std::string>{
                "qemu-system-x86_64", "-M", "pc", "-enable-kvm", "-cpu", qemuCpu, "-m", "256M",
                "-smp", "1", "-display", "none", "-monitor", "none", "-serial", "stdio",
                "-no-reboot", "-nic", "none", "-kernel", kernel, "-initrd", initrd, "-append",
                commandLine, "-drive", "file=" + root + ",if=none,id=root,format=raw" + options,
                "-device", "virtio-blk-pci,drive=root", "-drive",
                "file=" + disk + ",if=none,id=bench,format=raw" + options, "-device",
                "virtio-blk-pci,drive=bench"};
        };
        const std::vector<Peer> all = {
            {"kvmscope",
             {KVMSCOPE_BINARY, "--headless", "--memory", "256M", "--cpus", "1", "--initrd", initrd,
              "--append", commandLine, "--no-reboot", "--disk", root + ",format=raw,if=virtio",
              "--disk", disk + ",format=raw,if=virtio", kernel}},
            {"qemu-pc", qemu("")},
            {"qemu-pc-io_uring", qemu("io_uring")},
        };
        bench::runReadingRounds(bench::choosePeers(all, peers), kReadings, kEnd, rounds, seconds,
                                [&](const Peer&) {
                                    std::filesystem::copy_file(
                                        rootTemplate, root,
                                        std::filesystem::copy_options::overwrite_existing);
                                });
        for (const std::string& file : {rootTemplate, root, disk})
            std::filesystem::remove(file);
    } catch (const std::exception& error) {
        fmt::print(stderr, "kvmscope-bench-blk: {}\n", error.what());
        return 1;
    }
    return 0;
}
