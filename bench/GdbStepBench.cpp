// Cost of one single step seen from a gdb client: (a) the floor, a bare loop of KVM_RUN with
// KVM_GUESTDBG_SINGLESTEP on one vcpu (no threads, no device model); (b) kvmscope's
// Debugger::stepInstruction (the vcpu thread steps, parks, and the stop is recorded and
// signalled); (c) a `s` packet over loopback TCP through kvmscope's gdb stub until its T stop
// reply is read, by a minimal client in no-ack mode, as gdb's stepi does at its core. All three
// step the same ring-0 guest (`spin`, real mode), measured in one run; prints µs per step and the
// ratios (b)/(a) and (c)/(a) (target: (c)/(a) <= 2), each the median of the per-run ratios
// (the host is shared: a run's three figures are measured close together). Also (a) + qC: the
// least a step through any stub can cost over loopback, since a step is a guest step plus one
// request/reply exchange with another process, and how far (c) is above it.
//
//   kvmscope-bench-gdb [--steps N] [--repeats R]
#include "BareVm.h"
#include "BenchSupport.h"
#include "debug/Debugger.h"
#include "debug/gdb/GdbPacket.h"
#include "debug/gdb/GdbServer.h"
#include "debug/gdb/MachineGdbTarget.h"
#include "devices/SerialSink.h"
#include "kvm/System.h"
#include "kvm/Vcpu.h"
#include "kvm/Vm.h"
#include "machine/GuestMemory.h"
#include "machine/Machine.h"

#include <arpa/inet.h>
#include <cstring>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace kvmscope;
using bench::kGuestRam;
using bench::kLoadAddress;

namespace {

std::vector<uint8_t> readGuest(const std::string& name) {
    const std::string path = std::string(KVMSCOPE_GUESTS_DIR) + "/" + name;
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw std::runtime_error("cannot read " + path + " (build the guests first)");
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(file)), {});
}

// (a) The floor: KVM_RUN with single-step until `steps` debug exits; an I/O exit (the guest
// prints its name first) is completed by the next KVM_RUN, as any VMM must.
double bareSteps(kvm::System& system, const std::vector<uint8_t>& image, unsigned steps) {
    bench::BareVm bare(system, image, kLoadAddress);
    kvm::Vcpu& vcpu = bare.vcpu;
    kvm_guest_debug debug{};
    debug.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
    vcpu.setGuestDebug(debug);

    kvm_run* run = vcpu.runState();
    auto stepOnce = [&] {
        for (;;) {
            if (vcpu.run() < 0)
                continue;
            if (run->exit_reason == KVM_EXIT_DEBUG)
                return;
            if (run->exit_reason != KVM_EXIT_IO)
                throw std::runtime_error(
                    fmt::format("bare loop: unexpected exit {}", run->exit_reason));
        }
    };
    stepOnce(); // as in (b) and (c): the first step, which sets the guest up in KVM, is not timed
    const double start = bench::nowSeconds();
    for (unsigned i = 0; i < steps; ++i)
        stepOnce();
    return (bench::nowSeconds() - start) * 1e6 / steps;
}

class NullSink : public SerialSink {
public:
    void serialOutput(std::span<const uint8_t>) override {}
};

std::unique_ptr<Machine> spinMachine(kvm::System& system, NullSink& sink) {
    MachineConfig config;
    config.memorySize = kGuestRam;
    config.boot.imagePath = std::string(KVMSCOPE_GUESTS_DIR) + "/spin";
    config.boot.format = boot::ImageFormat::Flat;
    auto machine = std::make_unique<Machine>(config, system, sink);
    machine->boot();
    return machine;
}

// (b) Through the debug engine.
double debuggerSteps(kvm::System& system, unsigned steps) {
    NullSink sink;
    auto machine = spinMachine(system, sink);
    debug::Debugger& debugger = machine->debugger();
    debugger.stepInstruction(0); // the first step applies the guest-debug state
    const double start = bench::nowSeconds();
    for (unsigned i = 0; i < steps; ++i)
        debugger.stepInstruction(0);
    return (bench::nowSeconds() - start) * 1e6 / steps;
}

// A blocking client: sends a packet, reads up to the end of one reply packet (no-ack mode).
class Client {
public:
    explicit Client(uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
            throw std::runtime_error("cannot connect to the gdb stub");
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ~Client() { ::close(fd_); }
    std::string request(const std::string& packet) {
        if (::send(fd_, packet.data(), packet.size(), MSG_NOSIGNAL) != ssize_t(packet.size()))
            throw std::runtime_error("send to the gdb stub failed");
        // Reads until '#' and its two checksum digits (one recv() for a whole reply, as gdb's
        // buffered reads do); bytes after them stay for the next reply.
        for (;;) {
            const auto hash = buffered_.find('#');
            if (hash != std::string::npos && buffered_.size() >= hash + 3) {
                const auto start = buffered_.find('$');
                std::string reply = buffered_.substr(start + 1, hash - start - 1);
                buffered_.erase(0, hash + 3);
                return reply;
            }
            char chunk[512];
            const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0)
                throw std::runtime_error("the gdb stub closed the connection");
            buffered_.append(chunk, static_cast<size_t>(n));
        }
    }

private:
    int fd_ = -1;
    std::string buffered_;
};

struct StubSample {
    double step = 0;   // µs per `s` round trip
    double packet = 0; // µs per `qC` round trip: the stub and loopback alone, no vcpu involved
};

// (c) Through the stub over loopback.
StubSample stubSteps(kvm::System& system, unsigned steps) {
    NullSink sink;
    auto machine = spinMachine(system, sink);
    debug::gdb::MachineGdbTarget target(*machine);
    debug::gdb::GdbServer server(target, {"127.0.0.1", 0});
    Client client(server.port());
    // The stub acks this packet with '+' before its reply: read that byte with the reply.
    if (client.request(debug::gdb::frame("QStartNoAckMode")) != "OK")
        throw std::runtime_error("the stub refused QStartNoAckMode");
    const std::string step = debug::gdb::frame("s");
    client.request(step);
    StubSample sample;
    double start = bench::nowSeconds();
    for (unsigned i = 0; i < steps; ++i) {
        const std::string reply = client.request(step);
        if (reply.rfind("T05", 0) != 0)
            throw std::runtime_error("unexpected reply to a step: " + reply);
    }
    sample.step = (bench::nowSeconds() - start) * 1e6 / steps;
    const std::string query = debug::gdb::frame("qC");
    start = bench::nowSeconds();
    for (unsigned i = 0; i < steps; ++i)
        client.request(query);
    sample.packet = (bench::nowSeconds() - start) * 1e6 / steps;
    return sample;
}

} // namespace

int main(int argc, char** argv) {
    unsigned steps = 2000;
    int repeats = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--steps"))
            steps = static_cast<unsigned>(std::strtoul(argv[i + 1], nullptr, 0));
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
        const auto image = readGuest("spin");
        std::vector<double> bare, engine, stub, packet, engineRatio, stubRatio, overFloor;
        for (int r = 0; r < repeats; ++r) {
            bare.push_back(bareSteps(system, image, steps));
            engine.push_back(debuggerSteps(system, steps));
            const StubSample s = stubSteps(system, steps);
            stub.push_back(s.step);
            packet.push_back(s.packet);
            engineRatio.push_back(engine.back() / bare.back());
            stubRatio.push_back(stub.back() / bare.back());
            overFloor.push_back(stub.back() / (bare.back() + packet.back()));
            fmt::print("run {}: bare {:.2f} us/step, Debugger {:.2f} us/step, gdb stub {:.2f} "
                       "us/step, qC {:.2f} us\n",
                       r + 1, bare.back(), engine.back(), stub.back(), packet.back());
        }
        const double a = bench::median(bare), b = bench::median(engine), c = bench::median(stub);
        fmt::print("median over {} runs of {} single steps of a ring-0 guest:\n", repeats, steps);
        fmt::print("  (a) bare KVM_RUN + SINGLESTEP     {:8.2f} us/step\n", a);
        fmt::print("  (b) Debugger::stepInstruction     {:8.2f} us/step\n", b);
        fmt::print("  (c) gdb `s` round trip, loopback  {:8.2f} us/step\n", c);
        fmt::print("      `qC` round trip (no vcpu)     {:8.2f} us\n", bench::median(packet));
        fmt::print("  (a) + qC: the floor for any stub  {:8.2f} us/step\n",
                   a + bench::median(packet));
        fmt::print("  ratio (b)/(a) {:.2f}\n", bench::median(engineRatio));
        fmt::print("  ratio (c)/(a) {:.2f} (target <= 2)\n", bench::median(stubRatio));
        fmt::print("  ratio (c)/((a) + qC) {:.2f}\n", bench::median(overFloor));
    } catch (const std::exception& error) {
        fmt::print(stderr, "kvmscope-bench-gdb: {}\n", error.what());
        return 1;
    }
    return 0;
}
