// What the display costs (display/DisplaySource.h, ui/display/DisplayView.h), in two parts
// (docs/benchmarks.md, "Display"):
//
// 1. DisplaySource::update alone: a static screen (the dirty-log fetch and nothing else) and a
//    screen the guest redraws all the time (the plasma demo at 640x480 and at 1024x768), each
//    against the floor of copying the whole frame once per 60 Hz refresh with memcpy, measured in
//    the same run under the same conditions (a cold frame the guest is writing).
// 2. The Display view as the window uses it, 1:1: paints per second and the CPU time of the GUI
//    thread (which runs the whole display path: refresh timer, copy, paint, and on xcb the
//    hand-over to the X server) per second of wall time, for the busy 1024x768 plasma and for
//    fb-test's static 1024x768 screen; and the latency from a key that makes fb-test draw to the
//    paint that shows its pixels, in refresh intervals.
//
// Run it under xvfb-run to include the X server hand-over; without a display it uses Qt's
// offscreen platform.
#include "BenchSupport.h"
#include "devices/Uart16550.h"
#include "display/DisplaySource.h"
#include "display/DisplayView.h"
#include "kvm/System.h"
#include "machine/Machine.h"
#include "session/MachineSession.h"

#include <QApplication>
#include <QDir>
#include <QFile>
#include <QTest>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>

using namespace kvmscope;

namespace {

constexpr auto kRefresh = std::chrono::microseconds(1'000'000 / 60);

// Waits for a line of the guest's serial output.
class WaitingSink : public SerialSink {
public:
    void serialOutput(std::span<const uint8_t> bytes) override {
        std::lock_guard lock(mutex_);
        text_.append(bytes.begin(), bytes.end());
        changed_.notify_all();
    }
    bool waitFor(const std::string& needle, int seconds) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, std::chrono::seconds(seconds),
                                 [&] { return text_.find(needle) != std::string::npos; });
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::string text_;
};

MachineConfig configFor(const char* guest) {
    MachineConfig config;
    config.name = guest;
    config.memorySize = 64ull << 20;
    config.inspectKernelDevices = false;
    config.boot.imagePath = std::string(KVMSCOPE_GUESTS_DIR) + "/" + guest;
    return config;
}

std::unique_ptr<Machine> start(kvm::System& system, WaitingSink& sink, const char* guest,
                               const char* ready) {
    auto machine = std::make_unique<Machine>(configFor(guest), system, sink);
    machine->boot();
    machine->run();
    if (!sink.waitFor(ready, 60))
        throw std::runtime_error(std::string(guest) + " did not print '" + ready + "'");
    return machine;
}

struct Frame {
    std::vector<uint8_t> pixels;
    display::FrameTarget target;
    explicit Frame(const ScanoutMode& mode) {
        pixels.resize(size_t(mode.rowBytes()) * mode.height);
        target = {pixels.data(), mode.rowBytes(), mode.width, mode.height, mode.format()};
    }
};

// Median microseconds of a memcpy of the whole frame once per refresh interval, as a display
// that copies every frame without looking at the dirty log would do it.
double memcpyFloor(const uint8_t* source, std::vector<uint8_t>& destination, int repeats,
                   bool paced) {
    std::vector<double> samples;
    for (int i = 0; i < repeats; ++i) {
        if (paced)
            std::this_thread::sleep_for(kRefresh);
        const double begin = bench::nowSeconds();
        std::memcpy(destination.data(), source, destination.size());
        samples.push_back((bench::nowSeconds() - begin) * 1e6);
    }
    return bench::median(samples);
}

void staticScreen(kvm::System& system, int repeats) {
    // fb-test waits on COM1 after its mode set: the screen does not change.
    WaitingSink sink;
    auto machine = start(system, sink, "fb-test", "fb-test: mode set");
    auto& display = machine->display();
    const ScanoutMode mode = display.graphicsMode();
    Frame frame(mode);
    display.update(frame.target, true);
    std::vector<double> samples;
    uint32_t rows = 0;
    for (int i = 0; i < repeats; ++i) {
        const double begin = bench::nowSeconds();
        rows += display.update(frame.target).rowsCopied();
        samples.push_back((bench::nowSeconds() - begin) * 1e6);
    }
    const double floor =
        memcpyFloor(machine->framebuffer()->memory().data(), frame.pixels, repeats, false);
    const double update = bench::median(samples);
    fmt::print("static {}x{}x{} screen: update {:.1f} us ({} rows copied in {} updates), memcpy "
               "of the frame {:.1f} us: {:.3f}x the floor\n",
               mode.width, mode.height, mode.bitsPerPixel, update, rows, repeats, floor,
               update / floor);
}

void busyScreen(kvm::System& system, const char* guest, int repeats) {
    // The plasma redraws the whole screen from ring 3, frame after frame.
    WaitingSink sink;
    auto machine = start(system, sink, guest, "plasma: drawing in ring 3");
    auto& display = machine->display();
    const ScanoutMode mode = display.graphicsMode();
    Frame frame(mode);
    display.update(frame.target, true);
    std::vector<double> samples;
    uint64_t rows = 0;
    int streamed = 0;
    for (int i = 0; i < repeats; ++i) {
        std::this_thread::sleep_for(kRefresh);
        const double begin = bench::nowSeconds();
        const auto update = display.update(frame.target);
        samples.push_back((bench::nowSeconds() - begin) * 1e6);
        rows += update.rowsCopied();
        streamed += update.streamed ? 1 : 0;
    }
    const double floor =
        memcpyFloor(machine->framebuffer()->memory().data(), frame.pixels, repeats, true);
    const double update = bench::median(samples);
    fmt::print("changing {}x{}x{} screen ({}, 60 Hz): update {:.1f} us ({:.0f} rows per update, "
               "{} of {} streamed), memcpy of the frame per refresh {:.1f} us: {:.2f}x the "
               "floor\n",
               mode.width, mode.height, mode.bitsPerPixel, guest, update, double(rows) / repeats,
               streamed, repeats, floor, update / floor);
    machine->requestStop({StopKind::UserStop, 0, 0, "benchmark done"});
}

// The view -----------------------------------------------------------------------------------

double threadCpuSeconds() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return double(now.tv_sec) + double(now.tv_nsec) * 1e-9;
}

// The CPU seconds (user + system) the X server of $DISPLAY has used, or -1 when there is none to
// be found (offscreen, or not an Xvfb this user can read): the pixels it receives from the view
// are part of the display path too.
double xServerCpuSeconds() {
    const QByteArray display = qgetenv("DISPLAY");
    if (display.isEmpty())
        return -1;
    const QDir proc(QStringLiteral("/proc"));
    for (const QString& pid : proc.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile cmdline(proc.filePath(pid + QStringLiteral("/cmdline")));
        if (!cmdline.open(QIODevice::ReadOnly))
            continue;
        const QList<QByteArray> args = cmdline.readAll().split('\0');
        if (args.isEmpty() || !args.front().endsWith("Xvfb") || !args.contains(display))
            continue;
        QFile stat(proc.filePath(pid + QStringLiteral("/stat")));
        if (!stat.open(QIODevice::ReadOnly))
            return -1;
        // proc(5): fields 14 and 15 are utime and stime in clock ticks, counted after the
        // parenthesised command name.
        const QByteArray line = stat.readAll();
        const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
        if (fields.size() < 13)
            return -1;
        return double(fields[11].toLongLong() + fields[12].toLongLong()) /
               double(sysconf(_SC_CLK_TCK));
    }
    return -1;
}

// Counts the view's paints and remembers when the first one showing `watch` happened.
class PaintWatcher : public QObject {
public:
    explicit PaintWatcher(ui::DisplayView& view) { view.installEventFilter(this); }
    uint64_t paints = 0;
    std::function<bool()> watch; // checked at each paint until it holds
    double watchedAt = 0;

protected:
    bool eventFilter(QObject*, QEvent* event) override {
        if (event->type() == QEvent::Paint) {
            ++paints;
            if (watch && watchedAt == 0 && watch())
                watchedAt = bench::nowSeconds();
        }
        return false;
    }
};

bool waitForTranscript(ui::MachineSession& session, const char* needle, int seconds) {
    for (int waited = 0; waited < seconds * 1000; waited += 20) {
        if (session.serialTranscript().contains(needle))
            return true;
        QTest::qWait(20);
    }
    return false;
}

struct ViewRun {
    std::unique_ptr<ui::MachineSession> session;
    std::unique_ptr<ui::DisplayView> view;
};

ViewRun showGuest(kvm::System& system, const char* guest, const char* ready,
                  ui::DisplayView::ScaleMode scale = ui::DisplayView::ScaleMode::OneToOne,
                  QSize size = {1024, 768}) {
    ViewRun run;
    run.session = std::make_unique<ui::MachineSession>(configFor(guest), system);
    run.session->run();
    if (!waitForTranscript(*run.session, ready, 60))
        throw std::runtime_error(std::string(guest) + " did not print '" + ready + "'");
    run.view = std::make_unique<ui::DisplayView>();
    run.view->setScaleMode(scale);
    run.view->resize(size);
    run.view->setSession(run.session.get());
    run.view->show();
    if (!QTest::qWaitForWindowExposed(run.view.get()))
        throw std::runtime_error("the view was not exposed");
    return run;
}

void viewCost(kvm::System& system, const char* guest, const char* ready, const char* what,
              double seconds,
              ui::DisplayView::ScaleMode scale = ui::DisplayView::ScaleMode::OneToOne,
              QSize size = {1024, 768}) {
    ViewRun run = showGuest(system, guest, ready, scale, size);
    QTest::qWait(1000); // past the first full copy, and streaming if the screen is busy
    PaintWatcher watcher(*run.view);
    const double cpuBefore = threadCpuSeconds(), wallBefore = bench::nowSeconds();
    const double xBefore = xServerCpuSeconds();
    QTest::qWait(int(seconds * 1000));
    const double cpu = threadCpuSeconds() - cpuBefore, wall = bench::nowSeconds() - wallBefore;
    const double xAfter = xServerCpuSeconds();
    const std::string xServer =
        xBefore < 0 || xAfter < 0
            ? std::string("X server not measured")
            : fmt::format("X server {:.1f}% of a core", 100.0 * (xAfter - xBefore) / wall);
    fmt::print("view, {} ({}x{} in {}x{}, {}): {:.1f} paints/s, {:.1f} frames/s copied "
               "({:.0f} MB/s), GUI thread {:.1f}% of a core, {}\n",
               what, run.view->screenImage().width(), run.view->screenImage().height(),
               run.view->screenRect().width(), run.view->screenRect().height(),
               qPrintable(QGuiApplication::platformName()), double(watcher.paints) / wall,
               run.view->framesPerSecond(), run.view->bytesPerSecond() / 1e6, 100.0 * cpu / wall,
               xServer);
    run.session->stop();
}

void writeToPixelLatency(kvm::System& system, int rounds) {
    std::vector<double> frames;
    for (int round = 0; round < rounds; ++round) {
        ViewRun run = showGuest(system, "fb-test", "fb-test: mode set");
        QTest::qWait(200);
        PaintWatcher watcher(*run.view);
        // fb-test's second step writes (1023, 767) white last.
        watcher.watch = [&] { return run.view->screenImage().pixel(1023, 767) == 0xFFFFFFFFu; };
        const double sent = bench::nowSeconds();
        run.session->sendSerialInput("x");
        for (int waited = 0; watcher.watchedAt == 0 && waited < 5000; waited += 1)
            QTest::qWait(1);
        if (watcher.watchedAt == 0)
            throw std::runtime_error("fb-test's pixels never reached the view");
        frames.push_back((watcher.watchedAt - sent) * 60.0);
        run.session->stop();
    }
    std::sort(frames.begin(), frames.end());
    fmt::print("key to fb-test -> its pixels painted: median {:.2f} refresh intervals, worst "
               "{:.2f} ({} rounds)\n",
               bench::median(frames), frames.back(), rounds);
}

} // namespace

int main(int argc, char** argv) {
    int repeats = 200;
    double viewSeconds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--repeats"))
            repeats = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--view-seconds"))
            viewSeconds = std::atof(argv[i + 1]);
    }
    std::string why;
    if (!kvm::System::available(&why)) {
        fmt::print("skipped: needs /dev/kvm: {}\n", why);
        return 0;
    }
    if (!qEnvironmentVariableIsSet("DISPLAY") && !qEnvironmentVariableIsSet("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    try {
        kvm::System system;
        staticScreen(system, repeats);
        busyScreen(system, "plasma", repeats);
        busyScreen(system, "plasma-xga", repeats);
        viewCost(system, "plasma-xga", "plasma: drawing in ring 3", "busy plasma", viewSeconds);
        // The window's default: fitted to the dock (here scaled up by 1.25, nearest neighbour).
        viewCost(system, "plasma-xga", "plasma: drawing in ring 3", "busy plasma, fit", viewSeconds,
                 ui::DisplayView::ScaleMode::Fit, {1280, 960});
        viewCost(system, "fb-test", "fb-test: mode set", "static fb-test", viewSeconds);
        // The hello demo's VGA text after it powered off: the guest QEMU can boot too.
        viewCost(system, "hello", "Hello from the kvmscope hello demo", "static hello text",
                 viewSeconds);
        writeToPixelLatency(system, 5);
    } catch (const std::exception& error) {
        fmt::print(stderr, "error: {}\n", error.what());
        return 1;
    }
    return 0;
}
