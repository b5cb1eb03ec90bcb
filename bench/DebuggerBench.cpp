// The debug engine's cost (issue 6 targets), each against a floor measured in the same run:
//
//  (1) the floor for a single step: a bare loop of KVM_RUN on a vcpu with KVM_SET_GUEST_DEBUG
//      (KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP), no thread hop, no device model;
//  (2) Debugger::stepInstruction on the same code through kvmscope's core (the request crosses to
//      the vcpu thread and back). Also shown, to split the difference: VcpuRunner::step alone,
//      and the context switches per step. "Step rate relative to bare" = (1)/(2) in µs per
//      step; target >= 0.90. Then Debugger::stepInstructions(N): the same N steps as one
//      request, stepped on the vcpu thread one KVM_RUN after another (what "step N", a trace and
//      gdb's range stepping use), against the same floor.
//  (3) the io-loop guest's exit rate through the core without the debugger (Machine::run) and
//      with it attached but nothing set (Debugger::continueAll): target >= 0.98. Then with a
//      breakpoint at an address the guest never reaches and an exit breakpoint on a port it
//      never touches, each alone and both, and as the floor for those a bare KVM_RUN exit loop
//      with and without the same hardware breakpoint armed: what the kernel charges for it.
//
// Every figure is given in wall time and, for the ratios, also in CPU time of the process: on a
// shared host the first includes waiting for a core, the second does not.
//
// The stepped code is the spin guest's loop (resources/guests/spin: `inc %eax; jmp` at 0x7C02,
// real mode), entered directly so that no serial output comes first. Every run checks EAX: a
// step that ran more (or less) than one instruction fails the benchmark.
//
//   kvmscope-bench-debugger [--steps N] [--iterations N] [--repeats R]
#include "BareVm.h"
#include "BenchSupport.h"
#include "debug/Debugger.h"
#include "debug/HostDebugProbe.h"
#include "devices/SerialSink.h"
#include "kvm/System.h"
#include "kvm/Vcpu.h"
#include "kvm/Vm.h"
#include "machine/GuestMemory.h"
#include "machine/Machine.h"

#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <sys/resource.h>

using namespace kvmscope;
using bench::kGuestRam;
using bench::kLoadAddress;

namespace {

// spin's loop: 66 40 (inc %eax), EB FC (jmp back to the inc), at this address.
constexpr uint64_t kSpinLoop = 0x7c02;
constexpr uint8_t kSpinLoopBytes[] = {0x66, 0x40, 0xeb, 0xfc};
// An address no guest here executes (below the load address, zero-filled RAM) and a port none of
// them touches (io-loop writes 0x500 and the debug-exit port only).
constexpr uint64_t kUnreachedAddress = 0x6000;
constexpr uint64_t kUnusedPort = 0x510;
constexpr uint16_t kDebugExitPort = 0xf4;

std::vector<uint8_t> readGuest(const char* name) {
    const std::string path = std::string(KVMSCOPE_GUESTS_DIR) + "/" + name;
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw std::runtime_error("cannot read " + path + " (build the guests first)");
    return {std::istreambuf_iterator<char>(file), {}};
}

void checkSpinLoop(const uint8_t* at) {
    if (std::memcmp(at, kSpinLoopBytes, sizeof kSpinLoopBytes) != 0)
        throw std::runtime_error("the spin guest has no `inc %eax; jmp` loop at 0x7c02");
}

// After `steps` single steps from the `inc`, the loop has run inc (steps + 1) / 2 times.
void checkEax(uint64_t rax, uint64_t steps, const char* who) {
    const uint64_t expected = (steps + 1) / 2;
    if ((rax & 0xffffffff) != expected)
        throw std::runtime_error(fmt::format("{}: EAX is {} after {} steps, expected {} (a step "
                                             "did not execute exactly one instruction)",
                                             who, rax & 0xffffffff, steps, expected));
}

// CPU time of the whole process (every thread), user and system.
double cpuSeconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Wall time and CPU time per unit (step or exit), in µs. On a host shared with other work the
// wall time includes the time the threads waited for a core; the CPU time does not, so its
// ratios stay readable when the wall-time ones drown in the noise.
struct Cost {
    double wall = 0;
    double cpu = 0;
};

class Stopwatch {
public:
    Stopwatch() : wall_(bench::nowSeconds()), cpu_(cpuSeconds()) {}
    Cost per(uint64_t units) const {
        return {(bench::nowSeconds() - wall_) * 1e6 / double(units),
                (cpuSeconds() - cpu_) * 1e6 / double(units)};
    }

private:
    double wall_;
    double cpu_;
};

// (1) The floor: KVM_RUN with KVM_GUESTDBG_SINGLESTEP, one KVM_EXIT_DEBUG per instruction.
Cost bareStepLoop(kvm::System& system, const std::vector<uint8_t>& image, uint64_t steps) {
    checkSpinLoop(image.data() + (kSpinLoop - kLoadAddress));
    bench::BareVm bare(system, image, kSpinLoop);
    kvm::Vcpu& vcpu = bare.vcpu;
    kvm_guest_debug debug{};
    debug.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
    vcpu.setGuestDebug(debug);

    kvm_run* run = vcpu.runState();
    const Stopwatch stopwatch;
    for (uint64_t done = 0; done < steps;) {
        if (vcpu.run() < 0)
            continue;
        if (run->exit_reason != KVM_EXIT_DEBUG)
            throw std::runtime_error(
                fmt::format("bare step loop: unexpected exit {}", run->exit_reason));
        ++done;
    }
    const Cost cost = stopwatch.per(steps);
    checkEax(vcpu.regs().rax, steps, "bare step loop");
    return cost;
}

// Context switches of the whole process so far (every thread: the caller and the vcpu thread).
// Deterministic where the host's timing is not: a step through the core costs a hand-off to the
// vcpu thread and back, and anything more shows here.
double contextSwitches() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_nvcsw + usage.ru_nivcsw);
}

struct StepCost {
    Cost cost;           // per step
    double switches = 0; // context switches per step
};

// (3') The floor for the exit rate: a bare KVM_RUN loop over io-loop's exits, optionally with the
// guest-debug state the debugger arms for one execution breakpoint at kUnreachedAddress (DR0,
// DR7 = G0 | GE | bit 10, KVM_GUESTDBG_USE_HW_BP): what the kernel charges for an armed
// breakpoint, whichever VMM asks for it.
Cost bareExitLoop(kvm::System& system, const std::vector<uint8_t>& image, bool hwBreakpoint) {
    bench::BareVm bare(system, image, kLoadAddress);
    kvm::Vcpu& vcpu = bare.vcpu;
    if (hwBreakpoint) {
        kvm_guest_debug debug{};
        debug.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
        debug.arch.debugreg[0] = kUnreachedAddress;
        debug.arch.debugreg[7] = (1u << 1) | (1u << 9) | (1u << 10);
        vcpu.setGuestDebug(debug);
    }
    kvm_run* run = vcpu.runState();
    uint64_t exits = 0;
    const Stopwatch stopwatch;
    for (;;) {
        if (vcpu.run() < 0)
            continue;
        if (run->exit_reason != KVM_EXIT_IO)
            throw std::runtime_error(
                fmt::format("bare exit loop: unexpected exit {}", run->exit_reason));
        if (run->io.port == kDebugExitPort)
            break;
        ++exits;
    }
    return stopwatch.per(exits);
}

class NullSink : public SerialSink {
public:
    void serialOutput(std::span<const uint8_t>) override {}
};

// A machine booted from `imagePath` (flat, at 0x7C00), vcpu 0 parked.
std::unique_ptr<Machine> flatMachine(kvm::System& system, const std::string& imagePath,
                                     NullSink& sink) {
    MachineConfig config;
    config.memorySize = kGuestRam;
    config.boot.imagePath = imagePath;
    config.boot.format = boot::ImageFormat::Flat;
    auto machine = std::make_unique<Machine>(config, system, sink);
    machine->boot();
    return machine;
}

// Puts vcpu 0 of a spin machine at the top of its loop with EAX = 0.
void enterSpinLoop(Machine& machine) {
    uint8_t code[sizeof kSpinLoopBytes];
    machine.memory().read(kSpinLoop, code, sizeof code);
    checkSpinLoop(code);
    cpu::CpuState state = machine.vcpu(0).readState();
    state.regs.rip = kSpinLoop;
    state.regs.rax = 0;
    machine.vcpu(0).writeState(state, cpu::PartRegs);
}

// (2) Debugger::stepInstruction, the engine's step as the GUI and the gdb stub use it, one
// request per step; (2'') with `oneRequest`, Debugger::stepInstructions: the same steps as one
// request, which the vcpu thread steps back to back.
StepCost debuggerSteps(kvm::System& system, const std::string& spinPath, uint64_t steps,
                       bool oneRequest) {
    NullSink sink;
    auto machine = flatMachine(system, spinPath, sink);
    enterSpinLoop(*machine);
    debug::Debugger& debugger = machine->debugger();
    const char* who = oneRequest ? "Debugger::stepInstructions" : "Debugger::stepInstruction";
    const double switches = contextSwitches();
    const Stopwatch stopwatch;
    if (oneRequest) {
        const uint64_t done = debugger.stepInstructions(0, steps, 600'000);
        if (done != steps)
            throw std::runtime_error(fmt::format("{}: {} of {} steps", who, done, steps));
    } else {
        for (uint64_t i = 0; i < steps; ++i)
            debugger.stepInstruction(0);
    }
    const Cost cost = stopwatch.per(steps);
    checkEax(machine->vcpu(0).readState().regs.rax, steps, who);
    return {cost, (contextSwitches() - switches) / double(steps)};
}

// (2') The runner's step alone (request, KVM_RUN on the vcpu thread, park, wake the caller): what
// every step through the core pays before the engine adds anything.
StepCost runnerSteps(kvm::System& system, const std::string& spinPath, uint64_t steps) {
    NullSink sink;
    auto machine = flatMachine(system, spinPath, sink);
    enterSpinLoop(*machine);
    cpu::VcpuRunner& runner = machine->vcpu(0);
    const double switches = contextSwitches();
    const Stopwatch stopwatch;
    for (uint64_t i = 0; i < steps; ++i) {
        runner.step();
        if (!runner.waitUntilParked(5000))
            throw std::runtime_error("VcpuRunner::step: the vcpu did not park");
    }
    const Cost cost = stopwatch.per(steps);
    checkEax(runner.readState().regs.rax, steps, "VcpuRunner::step");
    return {cost, (contextSwitches() - switches) / double(steps)};
}

// What the debugger has set during an io-loop run.
enum Attached : unsigned {
    kNothing = 0,
    kBreakpoint = 1u << 0,     // an execution breakpoint the guest never reaches
    kExitBreakpoint = 1u << 1, // an exit breakpoint on a port the guest never touches
    kBoth = kBreakpoint | kExitBreakpoint,
};

// (3) µs per io-loop exit through the core, with or without the debugger attached.
Cost ioLoopExits(kvm::System& system, const std::string& ioLoopPath, bool throughDebugger,
                 unsigned attached = kNothing) {
    NullSink sink;
    auto machine = flatMachine(system, ioLoopPath, sink);
    debug::Debugger& debugger = machine->debugger();
    if (attached & kBreakpoint)
        debugger.addBreakpoint(kUnreachedAddress);
    if (attached & kExitBreakpoint) {
        debug::ExitBreakpoint unusedPort;
        unusedPort.kind = debug::ExitBreakKind::PortWrite;
        unusedPort.address = kUnusedPort;
        debugger.addExitBreakpoint(unusedPort);
    }
    const Stopwatch stopwatch;
    if (throughDebugger)
        debugger.continueAll(); // how a front end resumes a machine it debugs
    else
        machine->run();
    const auto stop = machine->waitForStop(120000);
    // Every exit but the final debug-exit write is one loop round.
    const uint64_t exits = machine->vcpu(0).trace().totalExits() - 1;
    const Cost cost = stopwatch.per(exits);
    if (!stop || stop->kind != StopKind::DebugExit)
        throw std::runtime_error(fmt::format(
            "io-loop (debugger state {}): did not reach the debug-exit port", attached));
    return cost;
}

struct Series {
    std::vector<double> values;
    void add(double value) { values.push_back(value); }
    std::string summary(const char* format) const {
        const auto [low, high] = std::minmax_element(values.begin(), values.end());
        return fmt::format(fmt::runtime("median " + std::string(format) + " (min " + format +
                                        ", max " + format + ")"),
                           bench::median(values), *low, *high);
    }
};

} // namespace

int main(int argc, char** argv) {
    uint64_t steps = 20000;
    uint32_t iterations = 100000;
    int repeats = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--steps"))
            steps = std::strtoull(argv[i + 1], nullptr, 0);
        else if (!std::strcmp(argv[i], "--iterations"))
            iterations = static_cast<uint32_t>(std::strtoul(argv[i + 1], nullptr, 0));
        else if (!std::strcmp(argv[i], "--repeats"))
            repeats = std::atoi(argv[i + 1]);
    }
    std::string why;
    if (!kvm::System::available(&why)) {
        fmt::print("skipped: needs /dev/kvm: {}\n", why);
        return 0;
    }
    if (steps == 0 || iterations == 0 || repeats <= 0) {
        fmt::print(stderr,
                   "kvmscope-bench-debugger: --steps, --iterations, --repeats must be > 0\n");
        return 2;
    }
    try {
        kvm::System system;
        const auto spin = readGuest("spin");
        const std::string spinPath =
            bench::writeTemporary(spin, "kvmscope-bench-debugger-spin.bin");
        const auto ioLoop = bench::ioLoopImage(iterations);
        const std::string ioLoopPath =
            bench::writeTemporary(ioLoop, "kvmscope-bench-debugger-io-loop.bin");
        // The engine probes the host once per process (throwaway VMs): not inside a measurement.
        const auto& support = debug::hostDebugSupport(system);
        for (const auto& entry : debug::HostDebugSupport::entries())
            fmt::print("host: {} {}\n", entry.name,
                       (support.*entry.finding).works ? "works" : "does not work");

        Series bare, engine, runner, engineSwitches, runnerSwitches, stepRatio, stepRatioCpu;
        Series batch, batchSwitches, batchRatio, batchRatioCpu;
        Series detached, idle, attached, breakOnly, exitBreakOnly, bareExit, bareExitArmed;
        Series idleRatio, idleRatioCpu, attachedRatio, attachedRatioCpu, armedRatio, armedRatioCpu;
        for (int r = 0; r < repeats; ++r) {
            const Cost a = bareStepLoop(system, spin, steps);
            const StepCost b = debuggerSteps(system, spinPath, steps, false);
            const StepCost c = runnerSteps(system, spinPath, steps);
            bare.add(a.wall);
            engine.add(b.cost.wall);
            runner.add(c.cost.wall);
            engineSwitches.add(b.switches);
            runnerSwitches.add(c.switches);
            stepRatio.add(a.wall / b.cost.wall);
            stepRatioCpu.add(a.cpu / b.cost.cpu);
            const StepCost k = debuggerSteps(system, spinPath, steps, true);
            batch.add(k.cost.wall);
            batchSwitches.add(k.switches);
            batchRatio.add(a.wall / k.cost.wall);
            batchRatioCpu.add(a.cpu / k.cost.cpu);

            const Cost d = ioLoopExits(system, ioLoopPath, false);
            const Cost e = ioLoopExits(system, ioLoopPath, true);
            const Cost f = ioLoopExits(system, ioLoopPath, true, kBoth);
            // Which of the two costs what, and what the kernel charges for the armed breakpoint.
            const Cost g = ioLoopExits(system, ioLoopPath, true, kBreakpoint);
            const Cost h = ioLoopExits(system, ioLoopPath, true, kExitBreakpoint);
            const Cost i = bareExitLoop(system, ioLoop, false);
            const Cost j = bareExitLoop(system, ioLoop, true);
            detached.add(d.wall);
            idle.add(e.wall);
            attached.add(f.wall);
            breakOnly.add(g.wall);
            exitBreakOnly.add(h.wall);
            bareExit.add(i.wall);
            bareExitArmed.add(j.wall);
            idleRatio.add(d.wall / e.wall);
            idleRatioCpu.add(d.cpu / e.cpu);
            attachedRatio.add(d.wall / f.wall);
            attachedRatioCpu.add(d.cpu / f.cpu);
            armedRatio.add(i.wall / j.wall);
            armedRatioCpu.add(i.cpu / j.cpu);
            fmt::print("run {}: us/step bare {:.2f}, Debugger {:.2f}, one request of N {:.2f}, "
                       "runner alone {:.2f}; io-loop us/exit: no debugger {:.3f}, idle debugger "
                       "{:.3f}, breakpoint + exit breakpoint {:.3f}, breakpoint {:.3f}, exit "
                       "breakpoint {:.3f}; bare {:.3f}, bare with DR0 armed {:.3f}\n",
                       r + 1, a.wall, b.cost.wall, k.cost.wall, c.cost.wall, d.wall, e.wall, f.wall,
                       g.wall, h.wall, i.wall, j.wall);
        }
        fmt::print("over {} runs ({} steps, {} io-loop exits each): median (min, max)\n", repeats,
                   steps, iterations);
        fmt::print("single step, us/step\n");
        fmt::print("  bare KVM_SET_GUEST_DEBUG+KVM_RUN loop     {}\n", bare.summary("{:.2f}"));
        fmt::print("  Debugger::stepInstruction                 {}\n", engine.summary("{:.2f}"));
        fmt::print("  VcpuRunner::step alone                    {}\n", runner.summary("{:.2f}"));
        fmt::print("  context switches/step, Debugger           {}\n",
                   engineSwitches.summary("{:.2f}"));
        fmt::print("  context switches/step, runner alone       {}\n",
                   runnerSwitches.summary("{:.2f}"));
        fmt::print("  step rate relative to bare, wall time     {}  (target >= 0.90)\n",
                   stepRatio.summary("{:.3f}"));
        fmt::print("  step rate relative to bare, CPU time      {}\n",
                   stepRatioCpu.summary("{:.3f}"));
        fmt::print("  Debugger::stepInstructions(N), 1 request  {}\n", batch.summary("{:.2f}"));
        fmt::print("  context switches/step, 1 request          {}\n",
                   batchSwitches.summary("{:.4f}"));
        fmt::print("  its step rate relative to bare, wall time {}  (target >= 0.90)\n",
                   batchRatio.summary("{:.3f}"));
        fmt::print("  its step rate relative to bare, CPU time  {}\n",
                   batchRatioCpu.summary("{:.3f}"));
        fmt::print("io-loop through the core, us/exit\n");
        fmt::print("  no debugger (Machine::run)                {}\n", detached.summary("{:.3f}"));
        fmt::print("  debugger, nothing set (continueAll)       {}\n", idle.summary("{:.3f}"));
        fmt::print("  debugger, breakpoint + exit breakpoint    {}\n", attached.summary("{:.3f}"));
        fmt::print("    breakpoint only                         {}\n", breakOnly.summary("{:.3f}"));
        fmt::print("    exit breakpoint only                    {}\n",
                   exitBreakOnly.summary("{:.3f}"));
        fmt::print("  exit rate, nothing set / no debugger      {}  (target >= 0.98)\n",
                   idleRatio.summary("{:.3f}"));
        fmt::print("    same, CPU time                          {}\n",
                   idleRatioCpu.summary("{:.3f}"));
        fmt::print("  exit rate, both set / no debugger         {}\n",
                   attachedRatio.summary("{:.3f}"));
        fmt::print("    same, CPU time                          {}\n",
                   attachedRatioCpu.summary("{:.3f}"));
        fmt::print("bare KVM_RUN exit loop (no VMM), us/exit\n");
        fmt::print("  guest debug off                           {}\n", bareExit.summary("{:.3f}"));
        fmt::print("  one hardware breakpoint armed             {}\n",
                   bareExitArmed.summary("{:.3f}"));
        fmt::print("  exit rate, armed / off                    {}\n",
                   armedRatio.summary("{:.3f}"));
        fmt::print("    same, CPU time                          {}\n",
                   armedRatioCpu.summary("{:.3f}"));
        std::remove(spinPath.c_str());
        std::remove(ioLoopPath.c_str());
    } catch (const std::exception& error) {
        fmt::print(stderr, "kvmscope-bench-debugger: {}\n", error.what());
        return 1;
    }
    return 0;
}
