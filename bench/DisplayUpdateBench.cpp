// What a display update costs (display/DisplaySource.h): a static screen (the dirty-log fetch and
// nothing else) and a screen the guest redraws all the time (the plasma demo), each against the
// floor of copying the whole frame with memcpy, measured in the same run (docs/benchmarks.md).
#include "BenchSupport.h"
#include "devices/Uart16550.h"
#include "display/DisplaySource.h"
#include "kvm/System.h"
#include "machine/Machine.h"

#include <condition_variable>
#include <cstring>
#include <fmt/format.h>
#include <mutex>
#include <string>
#include <thread>

using namespace kvmscope;

namespace {

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

std::unique_ptr<Machine> start(kvm::System& system, WaitingSink& sink, const char* guest,
                               const char* ready) {
    MachineConfig config;
    config.memorySize = 64ull << 20;
    config.inspectKernelDevices = false;
    config.boot.imagePath = std::string(KVMSCOPE_GUESTS_DIR) + "/" + guest;
    auto machine = std::make_unique<Machine>(config, system, sink);
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

// Median microseconds of memcpy of a whole frame of `bytes` from `source`.
double memcpyFloor(const uint8_t* source, std::vector<uint8_t>& destination, int repeats) {
    std::vector<double> samples;
    for (int i = 0; i < repeats; ++i) {
        const double begin = bench::nowSeconds();
        std::memcpy(destination.data(), source, destination.size());
        samples.push_back((bench::nowSeconds() - begin) * 1e6);
    }
    return bench::median(samples);
}

} // namespace

int main(int argc, char** argv) {
    int repeats = 200;
    for (int i = 1; i + 1 < argc; i += 2)
        if (!std::strcmp(argv[i], "--repeats"))
            repeats = std::atoi(argv[i + 1]);
    std::string why;
    if (!kvm::System::available(&why)) {
        fmt::print("skipped: needs /dev/kvm: {}\n", why);
        return 0;
    }
    try {
        kvm::System system;
        {
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
                memcpyFloor(machine->framebuffer()->memory().data(), frame.pixels, repeats);
            const double update = bench::median(samples);
            fmt::print("static {}x{}x{} screen: update {:.1f} us ({} rows copied in {} updates), "
                       "memcpy of the frame {:.1f} us: {:.3f}x the floor\n",
                       mode.width, mode.height, mode.bitsPerPixel, update, rows, repeats, floor,
                       update / floor);
        }
        {
            // plasma redraws the whole screen from ring 3, frame after frame.
            WaitingSink sink;
            auto machine = start(system, sink, "plasma", "plasma: drawing in ring 3");
            auto& display = machine->display();
            const ScanoutMode mode = display.graphicsMode();
            Frame frame(mode);
            display.update(frame.target, true);
            std::vector<double> samples;
            uint64_t rows = 0;
            for (int i = 0; i < repeats; ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(16)); // a 60 Hz refresh
                const double begin = bench::nowSeconds();
                const auto update = display.update(frame.target);
                samples.push_back((bench::nowSeconds() - begin) * 1e6);
                rows += update.rowsCopied();
            }
            const double floor =
                memcpyFloor(machine->framebuffer()->memory().data(), frame.pixels, repeats);
            const double update = bench::median(samples);
            fmt::print("changing {}x{}x{} screen (plasma, ~60 Hz): update {:.1f} us ({:.0f} rows "
                       "per update on average), memcpy of the frame {:.1f} us: {:.2f}x the "
                       "floor\n",
                       mode.width, mode.height, mode.bitsPerPixel, update, double(rows) / repeats,
                       floor, update / floor);
            machine->requestStop({StopKind::UserStop, 0, 0, "benchmark done"});
        }
    } catch (const std::exception& error) {
        fmt::print(stderr, "error: {}\n", error.what());
        return 1;
    }
    return 0;
}
