#pragma once
// Shared by the benchmarks that race kvmscope against other VMMs booting the same guest: each
// peer is a command line started as a process; the wall time from its start to each milestone
// (a text on its output) and its peak RSS are taken; --rounds alternates the order and prints
// medians and ratios to the first peer.
#include "BenchSupport.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace kvmscope::bench {

struct Milestone {
    const char* name;
    const char* text; // a substring of the peer's output (stdout and stderr together)
};

struct PeerResult {
    std::vector<std::optional<double>> seconds; // per milestone
    long peakRssKiB = 0;
    std::string ending; // how the run ended
};

struct Peer {
    std::string name;
    std::vector<std::string> arguments;
};

// The peak resident set of a running process (its mm's high-water mark, /proc/PID/status VmHWM),
// in KiB; 0 once it is gone. wait4's ru_maxrss is no use here: posix_spawn's child starts in
// this process's memory (vfork), and exec keeps that high-water mark, so a peer would be charged
// with the benchmark's own buffers.
inline long peakRssKiB(pid_t pid) {
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("VmHWM:"))
            return std::atol(line.c_str() + 6);
    return 0;
}

// Runs one peer until its last milestone, its exit or `limitSeconds`; `lastReached` names the
// ending when the last milestone came.
inline PeerResult runPeer(const std::vector<std::string>& arguments,
                          const std::vector<Milestone>& milestones, double limitSeconds,
                          const std::string& lastReached) {
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
    const double start = nowSeconds();
    pid_t pid = 0;
    const int spawned = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(output[1]);
    if (spawned != 0) {
        ::close(output[0]);
        throw std::runtime_error(
            fmt::format("cannot start {}: {}", arguments[0], std::strerror(spawned)));
    }
    PeerResult result;
    result.seconds.resize(milestones.size());
    std::string seen;
    bool open = true;
    while (open && nowSeconds() - start < limitSeconds && !result.seconds.back()) {
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
        seen.append(buffer, static_cast<size_t>(n));
        const double now = nowSeconds() - start;
        for (size_t i = 0; i < milestones.size(); ++i)
            if (!result.seconds[i] && seen.find(milestones[i].text) != std::string::npos)
                result.seconds[i] = now;
        // Keep a tail long enough to hold a milestone split across two reads.
        if (seen.size() > 8192)
            seen.erase(0, seen.size() - 256);
    }
    // A peer that exits early says why in its last line.
    std::string lastLine = seen.substr(0, seen.find_last_not_of("\r\n") + 1);
    lastLine = lastLine.substr(lastLine.find_last_of('\n') + 1);
    result.ending = result.seconds.back() ? lastReached
                    : open                ? fmt::format("stopped after {:.0f} s", limitSeconds)
                    : lastLine.empty()    ? std::string("the VMM exited")
                                          : "the VMM exited: " + lastLine;
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
inline std::optional<double> medianIfAllReached(const std::vector<PeerResult>& runs,
                                                size_t milestone) {
    std::vector<double> values;
    for (const PeerResult& run : runs)
        if (run.seconds[milestone])
            values.push_back(*run.seconds[milestone]);
    if (values.empty() || values.size() != runs.size())
        return std::nullopt;
    return median(values);
}

inline std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::istringstream stream(text);
    for (std::string part; std::getline(stream, part, separator);)
        if (!part.empty())
            parts.push_back(part);
    return parts;
}

// The peers of `all` named in `wanted` (comma-separated), in that order.
inline std::vector<const Peer*> choosePeers(const std::vector<Peer>& all,
                                            const std::string& wanted) {
    std::vector<const Peer*> chosen;
    for (const std::string& name : split(wanted, ',')) {
        const auto peer =
            std::find_if(all.begin(), all.end(), [&](const Peer& p) { return p.name == name; });
        if (peer == all.end())
            throw std::runtime_error("unknown peer " + name);
        chosen.push_back(&*peer);
    }
    return chosen;
}

// Runs every chosen peer `rounds` times, in the given order in even rounds and the reverse in
// odd ones (so no peer always starts on a host the one before it has just warmed or loaded),
// printing each run as it ends; with more than one round, each peer's median per milestone and
// its ratio to the first peer's median.
inline void runRounds(const std::vector<const Peer*>& chosen,
                      const std::vector<Milestone>& milestones, int rounds, double limitSeconds,
                      const std::string& lastReached, int milestoneWidth = 14) {
    auto printHeader = [&](const std::string& first) {
        fmt::print("{:<22}", first);
        for (const auto& milestone : milestones)
            fmt::print("{:>{}}", milestone.name, milestoneWidth);
    };
    auto printSeconds = [&](std::optional<double> value) {
        fmt::print("{:>{}}", value ? fmt::format("{:.3f} s", *value) : std::string("-"),
                   milestoneWidth);
    };
    printHeader("peer");
    fmt::print("{:>12}  {}\n", "peak RSS", "ending");
    std::vector<std::vector<PeerResult>> results(chosen.size());
    for (int round = 0; round < rounds; ++round) {
        for (size_t k = 0; k < chosen.size(); ++k) {
            const size_t index = round % 2 == 0 ? k : chosen.size() - 1 - k;
            const Peer& peer = *chosen[index];
            const PeerResult result =
                runPeer(peer.arguments, milestones, limitSeconds, lastReached);
            results[index].push_back(result);
            fmt::print("{:<22}",
                       rounds > 1 ? fmt::format("{} (round {})", peer.name, round + 1) : peer.name);
            for (const auto& value : result.seconds)
                printSeconds(value);
            fmt::print("{:>8.1f} MiB  {}\n", double(result.peakRssKiB) / 1024.0, result.ending);
            std::fflush(stdout);
        }
    }
    if (rounds == 1)
        return;
    fmt::print("\n");
    printHeader(fmt::format("median of {} runs", rounds));
    fmt::print("\n");
    for (size_t index = 0; index < chosen.size(); ++index) {
        fmt::print("{:<22}", chosen[index]->name);
        for (size_t m = 0; m < milestones.size(); ++m)
            printSeconds(medianIfAllReached(results[index], m));
        fmt::print("\n");
    }
    for (size_t index = 1; index < chosen.size(); ++index) {
        fmt::print("{:<22}", fmt::format("{} / {}", chosen[index]->name, chosen[0]->name));
        for (size_t m = 0; m < milestones.size(); ++m) {
            const auto value = medianIfAllReached(results[index], m);
            const auto reference = medianIfAllReached(results[0], m);
            fmt::print("{:>{}}",
                       value && reference && *reference > 0
                           ? fmt::format("{:.3f}", *value / *reference)
                           : std::string("-"),
                       milestoneWidth);
        }
        fmt::print("\n");
    }
    if (chosen.size() > 1)
        fmt::print("(a ratio above 1: that peer's median came later than {}'s)\n", chosen[0]->name);
}

} // namespace kvmscope::bench
