#pragma once
// Shared by the benchmarks that race kvmscope against other VMMs booting the same guest: each
// peer is a command line started as a process; the wall time from its start to each milestone
// (a text on its output) and its peak RSS are taken, and the figures the guest prints itself
// (readings: a rate on a line of its output); --rounds alternates the order and prints medians
// and ratios to the first peer.
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

// A figure the guest measures and prints: the number just before `unit` on the first whole line
// of the peer's output that holds `text` ("blkbench: seq-read " ... "207.5 MiB/s": text
// "blkbench: seq-read ", unit " MiB/s"). A rate: the higher, the better.
struct Reading {
    const char* name;
    const char* text;
    const char* unit;
};

struct PeerResult {
    std::vector<std::optional<double>> seconds; // per milestone
    std::vector<std::optional<double>> values;  // per reading
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

// The reading's value if `seen` holds a whole line with it.
inline std::optional<double> findReading(const std::string& seen, const Reading& reading) {
    const size_t at = seen.find(reading.text);
    if (at == std::string::npos)
        return std::nullopt;
    const size_t end = seen.find('\n', at);
    if (end == std::string::npos)
        return std::nullopt;
    const size_t unit = seen.substr(at, end - at).find(reading.unit);
    if (unit == std::string::npos || unit == 0)
        return std::nullopt;
    const size_t number = seen.find_last_of(' ', at + unit - 1);
    if (number == std::string::npos || number < at)
        return std::nullopt;
    const std::string digits = seen.substr(number + 1, at + unit - number - 1);
    char* stop = nullptr;
    const double value = std::strtod(digits.c_str(), &stop);
    if (digits.empty() || *stop != '\0')
        return std::nullopt;
    return value;
}

// The last whole line of `seen` that says "error:", without its line ending; empty if none.
inline std::string lastErrorLine(const std::string& seen) {
    const size_t at = seen.rfind("error:");
    if (at == std::string::npos)
        return {};
    const size_t end = seen.find('\n', at);
    if (end == std::string::npos)
        return lastErrorLine(seen.substr(0, at));
    const size_t newline = seen.find_last_of('\n', at);
    const size_t begin = newline == std::string::npos ? 0 : newline + 1;
    std::string line = seen.substr(begin, end - begin);
    return line.substr(0, line.find_last_not_of('\r') + 1);
}

// Runs one peer until its last milestone, its exit or `limitSeconds`; `lastReached` names the
// ending when the last milestone came. The readings are taken on the way.
inline PeerResult runPeer(const std::vector<std::string>& arguments,
                          const std::vector<Milestone>& milestones, double limitSeconds,
                          const std::string& lastReached,
                          const std::vector<Reading>& readings = {}) {
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
    result.values.resize(readings.size());
    std::string seen;
    std::string errorLine;
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
        for (size_t i = 0; i < readings.size(); ++i)
            if (!result.values[i])
                result.values[i] = findReading(seen, readings[i]);
        if (std::string line = lastErrorLine(seen); !line.empty())
            errorLine = std::move(line);
        // Keep a tail long enough to hold a milestone split across two reads.
        if (seen.size() > 8192)
            seen.erase(0, seen.size() - 256);
    }
    // A peer that exits early says why in its last line, or in an error line before it (a guest
    // that fails powers off, and the kernel's last words follow).
    std::string lastLine = seen.substr(0, seen.find_last_not_of("\r\n") + 1);
    lastLine = lastLine.substr(lastLine.find_last_of('\n') + 1);
    if (!errorLine.empty() && errorLine != lastLine)
        lastLine += " (before it: " + errorLine + ")";
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

// Calls run(index of the peer, round) for every chosen peer `rounds` times, in the given order in
// even rounds and the reverse in odd ones (so no peer always starts on a host the one before it
// has just warmed or loaded).
template <typename Run>
void alternateRounds(size_t peers, int rounds, Run run) {
    for (int round = 0; round < rounds; ++round)
        for (size_t k = 0; k < peers; ++k)
            run(round % 2 == 0 ? k : peers - 1 - k, round);
}

// Runs every chosen peer `rounds` times (alternateRounds), printing each run as it ends; with
// more than one round, each peer's median per milestone and its ratio to the first peer's median.
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
    alternateRounds(chosen.size(), rounds, [&](size_t index, int round) {
        const Peer& peer = *chosen[index];
        const PeerResult result = runPeer(peer.arguments, milestones, limitSeconds, lastReached);
        results[index].push_back(result);
        fmt::print("{:<22}",
                   rounds > 1 ? fmt::format("{} (round {})", peer.name, round + 1) : peer.name);
        for (const auto& value : result.seconds)
            printSeconds(value);
        fmt::print("{:>8.1f} MiB  {}\n", double(result.peakRssKiB) / 1024.0, result.ending);
        std::fflush(stdout);
    });
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

// Runs every chosen peer `rounds` times (alternateRounds), each until `end` (a text on its
// output), its exit or `limitSeconds`, and prints each run's readings as it ends; with more than
// one round, each peer's median per reading (where every run gave it) and the ratio of the first
// peer's median to each other peer's: above 1, the first peer did better (readings are rates).
// `prepare` runs before every run (e.g. fresh scratch copies for the peer).
template <typename Prepare>
void runReadingRounds(const std::vector<const Peer*>& chosen, const std::vector<Reading>& readings,
                      const Milestone& end, int rounds, double limitSeconds, Prepare prepare,
                      int width = 16) {
    auto printValue = [&](std::optional<double> value, const char* format = "{:.1f}") {
        fmt::print("{:>{}}", value ? fmt::format(fmt::runtime(format), *value) : std::string("-"),
                   width);
    };
    // Wide enough for "NAME (round N)" and "FIRST / NAME".
    size_t nameWidth = 22;
    for (const Peer* peer : chosen)
        nameWidth = std::max({nameWidth, peer->name.size() + 13,
                              chosen[0]->name.size() + peer->name.size() + 4});
    fmt::print("{:<{}}", "peer", nameWidth);
    for (const Reading& reading : readings)
        fmt::print("{:>{}}", reading.name, width);
    fmt::print("{:>12}  {}\n", "peak RSS", "ending");
    std::vector<std::vector<PeerResult>> results(chosen.size());
    alternateRounds(chosen.size(), rounds, [&](size_t index, int round) {
        const Peer& peer = *chosen[index];
        prepare(peer);
        const PeerResult result =
            runPeer(peer.arguments, {end}, limitSeconds, "finished", readings);
        results[index].push_back(result);
        fmt::print("{:<{}}",
                   rounds > 1 ? fmt::format("{} (round {})", peer.name, round + 1) : peer.name,
                   nameWidth);
        for (const auto& value : result.values)
            printValue(value);
        fmt::print("{:>8.1f} MiB  {}\n", double(result.peakRssKiB) / 1024.0, result.ending);
        std::fflush(stdout);
    });
    if (rounds == 1)
        return;
    auto medianOf = [&](size_t index, size_t reading) -> std::optional<double> {
        std::vector<double> values;
        for (const PeerResult& run : results[index])
            if (run.values[reading])
                values.push_back(*run.values[reading]);
        if (values.empty() || values.size() != results[index].size())
            return std::nullopt;
        return median(values);
    };
    fmt::print("\n{:<{}}", fmt::format("median of {} runs", rounds), nameWidth);
    for (const Reading& reading : readings)
        fmt::print("{:>{}}", reading.name, width);
    fmt::print("\n");
    for (size_t index = 0; index < chosen.size(); ++index) {
        fmt::print("{:<{}}", chosen[index]->name, nameWidth);
        for (size_t r = 0; r < readings.size(); ++r)
            printValue(medianOf(index, r));
        fmt::print("\n");
    }
    for (size_t index = 1; index < chosen.size(); ++index) {
        fmt::print("{:<{}}", fmt::format("{} / {}", chosen[0]->name, chosen[index]->name),
                   nameWidth);
        for (size_t r = 0; r < readings.size(); ++r) {
            const auto first = medianOf(0, r);
            const auto other = medianOf(index, r);
            printValue(first && other && *other > 0 ? std::optional(*first / *other)
                                                    : std::nullopt,
                       "{:.3f}");
        }
        fmt::print("\n");
        // The same ratio round by round (the two runs of a round are neighbours in time, so
        // share more of the host's load than the medians do), and its median.
        fmt::print("{:<{}}", "  per round, median", nameWidth);
        for (size_t r = 0; r < readings.size(); ++r) {
            std::vector<double> ratios;
            for (size_t round = 0; round < results[0].size(); ++round) {
                const auto first = results[0][round].values[r];
                const auto other = results[index][round].values[r];
                if (first && other && *other > 0)
                    ratios.push_back(*first / *other);
            }
            printValue(ratios.size() == results[0].size() ? std::optional(median(ratios))
                                                          : std::nullopt,
                       "{:.3f}");
        }
        fmt::print("\n");
    }
    if (chosen.size() > 1)
        fmt::print("(a ratio above 1: {}'s rate was higher, it was faster; \"per round\": the "
                   "median of the ratios of each round's two runs)\n",
                   chosen[0]->name);
}

} // namespace kvmscope::bench
