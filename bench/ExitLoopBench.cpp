// Cost of one port-I/O exit: (a) a bare KVM_RUN loop with no device model — the floor — and
// (b) the same guest through kvmscope's core (vcpu thread, bus dispatch, exit trace), measured
// alternately in one run. Prints µs per exit for both and the ratio (b)/(a).
//
//   kvmscope-bench-exits [--iterations N] [--repeats R]
#include "BareVm.h"
#include "BenchSupport.h"
#include "devices/Uart16550.h"
#include "kvm/System.h"
#include "kvm/Vcpu.h"
#include "kvm/Vm.h"
#include "machine/GuestMemory.h"
#include "machine/Machine.h"

#include <cstdio>
#include <cstring>
#include <fmt/format.h>

using namespace kvmscope;
using bench::kGuestRam;
using bench::kLoadAddress;

namespace {

constexpr uint16_t kDebugExitPort = 0xf4;

struct Sample {
    double seconds = 0;
    uint64_t exits = 0;
    double microsecondsPerExit() const { return exits ? seconds * 1e6 / double(exits) : 0; }
};

// (a) The floor: the least a VMM can do per exit — KVM_RUN, look at the port, KVM_RUN again.
Sample bareLoop(kvm::System& system, const std::vector<uint8_t>& image) {
    bench::BareVm bare(system, image, kLoadAddress);
    kvm::Vcpu& vcpu = bare.vcpu;

    kvm_run* run = vcpu.runState();
    Sample sample;
    const double start = bench::nowSeconds();
    for (;;) {
        if (vcpu.run() < 0)
            continue;
        if (run->exit_reason != KVM_EXIT_IO)
            throw std::runtime_error(
                fmt::format("bare loop: unexpected exit {}", run->exit_reason));
        if (run->io.port == kDebugExitPort)
            break;
        ++sample.exits;
    }
    sample.seconds = bench::nowSeconds() - start;
    return sample;
}

class NullSink : public SerialSink {
public:
    void serialOutput(std::span<const uint8_t>) override {}
};

// (b) The same guest through kvmscope's core.
Sample throughCore(kvm::System& system, const std::string& imagePath) {
    MachineConfig config;
    config.memorySize = kGuestRam;
    config.boot.imagePath = imagePath;
    config.boot.format = boot::ImageFormat::Flat;
    NullSink sink;
    Machine machine(config, system, sink);
    machine.boot();
    const double start = bench::nowSeconds();
    machine.run();
    const auto stop = machine.waitForStop();
    Sample sample;
    sample.seconds = bench::nowSeconds() - start;
    if (!stop || stop->kind != StopKind::DebugExit)
        throw std::runtime_error("core: the io-loop guest did not reach the debug-exit port");
    // Every exit but the final debug-exit write is one loop iteration.
    sample.exits = machine.vcpu(0).trace().totalExits() - 1;
    return sample;
}

} // namespace

int main(int argc, char** argv) {
    uint32_t iterations = 200000;
    int repeats = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--iterations"))
            iterations = static_cast<uint32_t>(std::strtoul(argv[i + 1], nullptr, 0));
        else if (!std::strcmp(argv[i], "--repeats"))
            repeats = std::atoi(argv[i + 1]);
    }
    std::string why;
    if (!kvm::System::available(&why)) {
        fmt::print("skipped: needs /dev/kvm: {}\n", why);
        return 0;
    }
    try {
        kvm::System system;
        const auto image = bench::ioLoopImage(iterations);
        const std::string path = bench::writeTemporary(image, "kvmscope-bench-io-loop.bin");
        std::vector<double> bare, core;
        for (int r = 0; r < repeats; ++r) {
            const Sample a = bareLoop(system, image);
            const Sample b = throughCore(system, path);
            bare.push_back(a.microsecondsPerExit());
            core.push_back(b.microsecondsPerExit());
            fmt::print(
                "run {}: bare {:.3f} us/exit ({} exits), kvmscope {:.3f} us/exit ({} exits)\n",
                r + 1, a.microsecondsPerExit(), a.exits, b.microsecondsPerExit(), b.exits);
        }
        const double a = bench::median(bare), b = bench::median(core);
        fmt::print("median over {} runs of {} port-I/O exits:\n", repeats, iterations);
        fmt::print("  bare KVM_RUN loop  {:8.3f} us/exit\n", a);
        fmt::print("  kvmscope core      {:8.3f} us/exit\n", b);
        fmt::print("  ratio kvmscope/bare {:.3f} (target <= 1.03)\n", b / a);
        std::remove(path.c_str());
    } catch (const std::exception& error) {
        fmt::print(stderr, "kvmscope-bench-exits: {}\n", error.what());
        return 1;
    }
    return 0;
}
