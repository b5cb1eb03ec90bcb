// Time from process start to the guest's exit for a trivial guest, and the peak RSS of
// `kvmscope --headless`, over repeated runs. The floor printed beside it is the same measurement
// for `/bin/true`: what starting any process costs here.
//
//   kvmscope-bench-startup [--runs N]
#include "BenchSupport.h"
#include "kvm/System.h"

#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

extern char** environ;

using namespace kvmscope;

namespace {

struct Run {
    double seconds = 0;
    long maxRssKiB = 0;
    int status = -1;
};

Run spawnAndWait(const std::vector<std::string>& arguments) {
    std::vector<char*> argv;
    for (const auto& argument : arguments)
        argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    Run run;
    const double start = bench::nowSeconds();
    pid_t pid = 0;
    if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0)
        throw std::runtime_error("cannot start " + arguments[0]);
    int status = 0;
    rusage usage{};
    wait4(pid, &status, 0, &usage);
    run.seconds = bench::nowSeconds() - start;
    run.maxRssKiB = usage.ru_maxrss;
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    posix_spawn_file_actions_destroy(&actions);
    return run;
}

} // namespace

int main(int argc, char** argv) {
    int runs = 20;
    for (int i = 1; i + 1 < argc; i += 2)
        if (!std::strcmp(argv[i], "--runs"))
            runs = std::atoi(argv[i + 1]);
    std::string why;
    if (!kvm::System::available(&why)) {
        fmt::print("skipped: needs /dev/kvm: {}\n", why);
        return 0;
    }
    try {
        // The trivial guest: the io-loop guest with one iteration, then the debug-exit port.
        const std::string image =
            bench::writeTemporary(bench::ioLoopImage(1), "kvmscope-bench-trivial.bin");
        const std::vector<std::string> kvmscope = {
            KVMSCOPE_BINARY, "--headless", "--serial", "none", "--memory", "16M", image};
        std::vector<double> times, floor;
        long peakRss = 0;
        for (int r = 0; r < runs; ++r) {
            const Run run = spawnAndWait(kvmscope);
            if (run.status != 1)
                throw std::runtime_error(
                    fmt::format("kvmscope exited {} (expected 1)", run.status));
            times.push_back(run.seconds * 1e3);
            peakRss = std::max(peakRss, run.maxRssKiB);
            floor.push_back(spawnAndWait({"/bin/true"}).seconds * 1e3);
        }
        const double median = bench::median(times), floorMedian = bench::median(floor);
        fmt::print("start to exit of a trivial guest, kvmscope --headless, {} runs:\n", runs);
        fmt::print("  median {:.2f} ms (min {:.2f}, max {:.2f}); target <= 10 ms\n", median,
                   *std::min_element(times.begin(), times.end()),
                   *std::max_element(times.begin(), times.end()));
        fmt::print("  /bin/true floor {:.2f} ms; ratio {:.1f}\n", floorMedian,
                   median / floorMedian);
        fmt::print("  peak RSS {:.2f} MiB (target <= 8 MiB)\n", double(peakRss) / 1024.0);
        std::remove(image.c_str());
    } catch (const std::exception& error) {
        fmt::print(stderr, "kvmscope-bench-startup: {}\n", error.what());
        return 1;
    }
    return 0;
}
