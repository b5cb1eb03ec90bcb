// The window's cost to a running guest (docs/benchmarks.md, "The window"):
//
//   kvmscope-bench-gui [--iterations N] [--rounds R] [--idle-seconds S]
//
// 1. Exit rate: the io-loop guest (N port-I/O exits) run by a bare Machine with no window, then
//    in a MainWindow with every dock visible; rounds alternate and the medians are compared
//    (target: the window keeps >= 97% of the headless rate).
// 2. Event-loop stalls: a 10 ms timer on the GUI thread while the windowed guest floods exits;
//    the longest gap between its ticks (target <= 50 ms).
// 3. Idle CPU: the window with a running guest that halts (the hang guest: no exits at all),
//    the process's CPU time over S seconds (target <= 2% of one core).
// 4. Window shown: `kvmscope --demo hello` started as a user starts it, timed from spawn to its
//    log line for the main window's first expose (target <= 400 ms).
// Run it with a display (or under xvfb-run) to measure real drawing; without one it uses Qt's
// offscreen platform, which still renders every widget.
#include "BenchSupport.h"
#include "devices/SerialSink.h"
#include "kvm/System.h"
#include "machine/Machine.h"
#include "session/MachineSession.h"
#include "window/MainWindow.h"

#include <QApplication>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTest>
#include <QTimer>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

using namespace kvmscope;

namespace {

class NullSink : public SerialSink {
public:
    void serialOutput(std::span<const uint8_t>) override {}
};

double cpuSeconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

MachineConfig ioLoopConfig(const std::string& image) {
    MachineConfig config;
    config.name = "io-loop";
    config.memorySize = 16ull << 20;
    config.boot.imagePath = image;
    config.inspectKernelDevices = false;
    return config;
}

// µs per exit with no window: the core alone, as the headless runner uses it.
double headlessMicrosPerExit(kvm::System& system, const std::string& image, uint32_t exits) {
    NullSink sink;
    Machine machine(ioLoopConfig(image), system, sink);
    machine.boot();
    const double start = bench::nowSeconds();
    machine.run();
    const auto stop = machine.waitForStop(120000);
    const double seconds = bench::nowSeconds() - start;
    if (!stop || stop->kind != StopKind::DebugExit)
        throw std::runtime_error("the io-loop guest did not reach its debug-exit write");
    return seconds * 1e6 / exits;
}

struct WindowRun {
    double microsPerExit = 0;
    double longestStallMs = 0;
};

// µs per exit with the window open, every dock visible and the machine current; a 10 ms timer
// measures how long the event loop goes without turning.
WindowRun windowMicrosPerExit(ui::MainWindow& window, const std::string& image, uint32_t exits) {
    ui::MachineSession* session = window.openMachine(ioLoopConfig(image));
    if (!session)
        throw std::runtime_error("cannot open the io-loop machine in the window");
    QElapsedTimer sinceTick;
    double longest = 0;
    QTimer ticker;
    ticker.setInterval(10); // fine enough for a 50 ms target, light enough not to perturb
    QObject::connect(&ticker, &QTimer::timeout, [&] {
        longest = std::max(longest, double(sinceTick.nsecsElapsed()) / 1e6);
        sinceTick.restart();
    });
    QTest::qWait(50); // let the window settle on the new machine
    sinceTick.start();
    ticker.start();
    const double start = bench::nowSeconds();
    // A real event loop, as the application runs one (a processEvents() loop would spin).
    QEventLoop loop;
    QObject::connect(session, &ui::MachineSession::stateChanged, &loop, [&] {
        if (session->state() == ui::MachineSession::State::Stopped)
            loop.quit();
    });
    session->run();
    if (session->state() != ui::MachineSession::State::Stopped)
        loop.exec();
    const double seconds = bench::nowSeconds() - start;
    ticker.stop();
    if (session->stopReason()->kind != StopKind::DebugExit)
        throw std::runtime_error("the io-loop guest stopped early in the window");
    window.action(ui::MainWindow::Action::Remove)->trigger();
    return {seconds * 1e6 / exits, longest};
}

double idleCpuPercent(ui::MainWindow& window, double seconds) {
    MachineConfig config;
    config.name = "hang";
    config.memorySize = 16ull << 20;
    config.boot.imagePath = std::string(KVMSCOPE_GUESTS_DIR) + "/hang";
    ui::MachineSession* session = window.openMachine(config);
    if (!session)
        throw std::runtime_error("cannot open the hang guest");
    session->run();
    QTest::qWait(500); // it printed and halted
    const double cpuBefore = cpuSeconds();
    const double start = bench::nowSeconds();
    QTest::qWait(static_cast<int>(seconds * 1000));
    const double percent = (cpuSeconds() - cpuBefore) / (bench::nowSeconds() - start) * 100.0;
    session->stop();
    window.action(ui::MainWindow::Action::Remove)->trigger();
    return percent;
}

// Spawn to the "main window exposed" log line of a real `kvmscope --demo hello`.
double windowShownMs() {
    int pipeFds[2];
    if (pipe2(pipeFds, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipeFds[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    std::vector<std::string> arguments = {KVMSCOPE_BINARY, "--demo",    "hello", "--log-level",
                                          "info",          "--timeout", "20"};
    std::vector<char*> argv;
    for (auto& argument : arguments)
        argv.push_back(argument.data());
    argv.push_back(nullptr);
    const double start = bench::nowSeconds();
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(pipeFds[1]);
    if (spawned != 0)
        throw std::runtime_error("cannot start kvmscope");
    std::string output;
    double shown = -1;
    char buffer[4096];
    while (shown < 0) {
        pollfd fd{pipeFds[0], POLLIN, 0};
        if (poll(&fd, 1, 20000) <= 0)
            break;
        const ssize_t n = read(pipeFds[0], buffer, sizeof buffer);
        if (n <= 0)
            break;
        output.append(buffer, static_cast<size_t>(n));
        if (output.find("main window exposed") != std::string::npos)
            shown = (bench::nowSeconds() - start) * 1e3;
    }
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    close(pipeFds[0]);
    if (shown < 0)
        throw std::runtime_error("kvmscope never logged its window as exposed:\n" + output);
    return shown;
}

} // namespace

int main(int argc, char** argv) {
    uint32_t iterations = 200000;
    int rounds = 3;
    double idleSeconds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--iterations"))
            iterations = static_cast<uint32_t>(std::atol(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--rounds"))
            rounds = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--idle-seconds"))
            idleSeconds = std::atof(argv[i + 1]);
    }
    std::string why;
    if (!kvm::System::available(&why)) {
        fmt::print("skipped: needs /dev/kvm: {}\n", why);
        return 0;
    }
    if (!std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication application(argc, argv);
    QCoreApplication::setOrganizationName(QStringLiteral("kvmscope-bench"));
    QCoreApplication::setApplicationName(QStringLiteral("kvmscope-bench-gui"));
    try {
        kvm::System system;
        const std::string image =
            bench::writeTemporary(bench::ioLoopImage(iterations), "kvmscope-bench-gui-io.bin");
        ui::MainWindow window;
        window.resize(1600, 1000);
        window.show();
        for (QDockWidget* dock : window.findChildren<QDockWidget*>())
            dock->show();
        QTest::qWait(200);

        std::vector<double> headless, windowed, stalls;
        for (int round = 0; round < rounds; ++round) {
            headless.push_back(headlessMicrosPerExit(system, image, iterations));
            const WindowRun run = windowMicrosPerExit(window, image, iterations);
            windowed.push_back(run.microsPerExit);
            stalls.push_back(run.longestStallMs);
        }
        const double h = bench::median(headless), w = bench::median(windowed);
        fmt::print("platform {}, {} rounds of {} port-I/O exits\n",
                   QGuiApplication::platformName().toStdString(), rounds, iterations);
        fmt::print("  headless {:.2f} us/exit, window open {:.2f} us/exit; "
                   "window keeps {:.1f}% of the headless rate (target >= 97%)\n",
                   h, w, h / w * 100.0);
        fmt::print("  longest event-loop stall while flooding: {:.1f} ms (median of rounds "
                   "{:.1f} ms; target <= 50 ms)\n",
                   *std::max_element(stalls.begin(), stalls.end()), bench::median(stalls));
        fmt::print("  idle guest, window open: {:.2f}% of one core over {} s (target <= 2%)\n",
                   idleCpuPercent(window, idleSeconds), idleSeconds);
        std::vector<double> shown;
        for (int round = 0; round < rounds; ++round)
            shown.push_back(windowShownMs());
        fmt::print("  window shown {:.0f} ms after spawn (median of {}; target <= 400 ms)\n",
                   bench::median(shown), rounds);
    } catch (const std::exception& error) {
        fmt::print(stderr, "kvmscope-bench-gui: {}\n", error.what());
        return 1;
    }
    return 0;
}
