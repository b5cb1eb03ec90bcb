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
#include "BenchSupport.h"
#include "boot/ImageLoader.h"
#include "boot/linux/BzImagePayload.h"
#include "boot/linux/EmulatedHostParameters.h"
#include "kvm/System.h"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

using namespace kvmscope;

namespace {

struct Milestone {
    const char* name;
    const char* text; // a substring of the serial output
};

// In the order the kernel prints them.
constexpr std::array kMilestones = {
    Milestone{"first line", "Linux version"},
    Milestone{"ACPI tables", "ACPI: RSDP"},
    Milestone{"Memory:", "] Memory: "},
    Milestone{"SMP up", "smp: Brought up"},
    // The kernel starts /init (the last line before user space), and /init prints its marker
    // (user space runs: tests/guests/build-initramfs.sh).
    Milestone{"Run /init", "Run /init as init process"},
    Milestone{"/init up", "kvmscope-initramfs: up"},
};

struct Result {
    std::array<std::optional<double>, kMilestones.size()> seconds;
    long peakRssKiB = 0;
    std::string ending; // how the run ended
};

// The peak resident set of a running process (its mm's high-water mark, /proc/PID/status VmHWM),
// in KiB; 0 once it is gone. wait4's ru_maxrss is no use here: posix_spawn's child starts in
// this process's memory (vfork), and exec keeps that high-water mark, so a peer would be charged
// with the benchmark's own buffers.
long peakRssKiB(pid_t pid) {
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("VmHWM:"))
            return std::atol(line.c_str() + 6);
    return 0;
}

Result runPeer(const std::vector<std::string>& arguments, double limitSeconds) {
    int output[2];
    if (::pipe2(output, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, output[1], 1);
    posix_spawn_file_actions_adddup2(&actions, output[1], 2);
    std::vector<char*> argv;
    for (const auto& argument : arguments)
        argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    const double start = bench::nowSeconds();
    pid_t pid = 0;
    const int spawned = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(output[1]);
    if (spawned != 0) {
        ::close(output[0]);
        throw std::runtime_error(
            fmt::format("cannot start {}: {}", arguments[0], std::strerror(spawned)));
    }
    Result result;
    std::string seen;
    bool open = true;
    while (open && bench::nowSeconds() - start < limitSeconds && !result.seconds.back()) {
        result.peakRssKiB = std::max(result.peakRssKiB, peakRssKiB(pid));
        pollfd descriptor{output[0], POLLIN, 0};
        if (::poll(&descriptor, 1, 200) <= 0)
            continue;
        char buffer[4096];
        const ssize_t n = ::read(output[0], buffer, sizeof buffer);
        if (n <= 0) {
            open = false;
            break;
        }
        // Keep a tail long enough to hold a milestone split across two reads.
        seen.append(buffer, static_cast<size_t>(n));
        const double now = bench::nowSeconds() - start;
        for (size_t i = 0; i < kMilestones.size(); ++i)
            if (!result.seconds[i] && seen.find(kMilestones[i].text) != std::string::npos)
                result.seconds[i] = now;
        if (seen.size() > 8192)
            seen.erase(0, seen.size() - 256);
    }
    result.ending = result.seconds.back() ? "/init is up"
                    : open                ? fmt::format("stopped after {:.0f} s", limitSeconds)
                                          : "the VMM exited";
    result.peakRssKiB = std::max(result.peakRssKiB, peakRssKiB(pid));
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 50; ++i) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            pid = 0;
            break;
        }
        ::usleep(100000);
    }
    if (pid != 0) {
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
    }
    ::close(output[0]);
    return result;
}

// The median of the runs that reached a milestone, if every run did; a milestone some runs
// missed has no fair median.
std::optional<double> medianIfAllReached(const std::vector<Result>& runs, size_t milestone) {
    std::vector<double> values;
    for (const Result& run : runs)
        if (run.seconds[milestone])
            values.push_back(*run.seconds[milestone]);
    if (values.empty() || values.size() != runs.size())
        return std::nullopt;
    return bench::median(values);
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::istringstream stream(text);
    for (std::string part; std::getline(stream, part, separator);)
        if (!part.empty())
            parts.push_back(part);
    return parts;
}

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
        struct Peer {
            std::string name;
            std::vector<std::string> arguments;
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
        std::vector<const Peer*> chosen;
        for (const std::string& wanted : split(peers, ',')) {
            const auto peer = std::find_if(all.begin(), all.end(),
                                           [&](const Peer& p) { return p.name == wanted; });
            if (peer == all.end())
                throw std::runtime_error("unknown peer " + wanted);
            chosen.push_back(&*peer);
        }
        auto printHeader = [](const char* first) {
            fmt::print("{:<22}", first);
            for (const auto& milestone : kMilestones)
                fmt::print("{:>14}", milestone.name);
        };
        printHeader("peer");
        fmt::print("{:>12}  {}\n", "peak RSS", "ending");
        std::vector<std::vector<Result>> results(chosen.size());
        for (int round = 0; round < rounds; ++round) {
            for (size_t k = 0; k < chosen.size(); ++k) {
                const size_t index = round % 2 == 0 ? k : chosen.size() - 1 - k;
                const Peer& peer = *chosen[index];
                const Result result = runPeer(peer.arguments, seconds);
                results[index].push_back(result);
                fmt::print("{:<22}", rounds > 1 ? fmt::format("{} (round {})", peer.name, round + 1)
                                                : peer.name);
                for (const auto& value : result.seconds)
                    fmt::print("{:>14}",
                               value ? fmt::format("{:.1f} s", *value) : std::string("-"));
                fmt::print("{:>8.1f} MiB  {}\n", double(result.peakRssKiB) / 1024.0, result.ending);
                std::fflush(stdout);
            }
        }
        if (rounds > 1) {
            fmt::print("\n");
            printHeader(fmt::format("median of {} runs", rounds).c_str());
            fmt::print("\n");
            for (size_t index = 0; index < chosen.size(); ++index) {
                fmt::print("{:<22}", chosen[index]->name);
                for (size_t m = 0; m < kMilestones.size(); ++m) {
                    const auto value = medianIfAllReached(results[index], m);
                    fmt::print("{:>14}",
                               value ? fmt::format("{:.1f} s", *value) : std::string("-"));
                }
                fmt::print("\n");
            }
            for (size_t index = 1; index < chosen.size(); ++index) {
                fmt::print("{:<22}", fmt::format("{} / {}", chosen[index]->name, chosen[0]->name));
                for (size_t m = 0; m < kMilestones.size(); ++m) {
                    const auto value = medianIfAllReached(results[index], m);
                    const auto reference = medianIfAllReached(results[0], m);
                    fmt::print("{:>14}", value && reference && *reference > 0
                                             ? fmt::format("{:.3f}", *value / *reference)
                                             : std::string("-"));
                }
                fmt::print("\n");
            }
            if (chosen.size() > 1)
                fmt::print("(a ratio above 1: that peer's median came later than {}'s)\n",
                           chosen[0]->name);
        }
        std::filesystem::remove(vmlinux);
    } catch (const std::exception& error) {
        fmt::print(stderr, "kvmscope-bench-linux: {}\n", error.what());
        return 1;
    }
    return 0;
}
