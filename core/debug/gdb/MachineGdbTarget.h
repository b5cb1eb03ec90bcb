#pragma once
// The gdb stub's view of a kvmscope Machine: registers through the vcpu runners (every ioctl on
// the vcpu's own thread), memory through the debugger's page walker, breakpoints, stepping and
// all-stop through the machine's Debugger. Stops come from the Debugger's and the machine's
// `stopped` notifications (common/Signal.h) on the thread that reports them, so the stub sees the
// same stops as any other front end (the GUI connects to the same signals).
#include "common/Signal.h"
#include "debug/gdb/GdbTarget.h"

#include <memory>
#include <mutex>
#include <set>

namespace kvmscope {
class Machine;
}

namespace kvmscope::debug::gdb {

class MachineGdbTarget : public GdbTarget {
public:
    explicit MachineGdbTarget(Machine& machine);
    ~MachineGdbTarget() override;

    size_t vcpuCount() const override;
    RegisterFile readRegisters(uint32_t vcpu) override;
    void writeRegisters(uint32_t vcpu, const RegisterFile& file) override;
    size_t readMemory(uint32_t vcpu, uint64_t address, void* out, size_t length) override;
    size_t writeMemory(uint32_t vcpu, uint64_t address, const void* data, size_t length) override;
    bool supports(GdbBreakpointType type) const override;
    int addBreakpoint(GdbBreakpointType type, uint64_t address, size_t length) override;
    bool removeBreakpoint(int id) override;
    // `monitor breakpoints`: every breakpoint with the mechanism it uses; `monitor host`: the
    // host probe's findings; anything else: the list of commands.
    std::optional<std::string> monitor(std::string_view command) override;
    void resume() override;
    void step(uint32_t vcpu) override;
    void stepRange(uint32_t vcpu, uint64_t begin, uint64_t end) override;
    void interrupt() override;
    void kill() override;
    void setStopListener(StopListener listener) override;
    std::optional<GdbStop> exitStop() const override;

private:
    void logMechanism(int id) const; // which mechanism breakpoint `id` got, in the gdb log

    // What the signal handlers use, shared with them: a handler already running on a vcpu thread
    // when the target goes away keeps it alive until it returns.
    struct Shared {
        std::mutex mutex;
        StopListener listener;        // guarded by mutex
        std::set<int> hardwareIds;    // guarded by mutex: Z1 breakpoints (reported as hwbreak)
        std::set<int> accessWatchIds; // guarded by mutex: Z4 watchpoints (reported as awatch)
        void deliver(const GdbStop& stop);
    };

    Machine& machine_;
    std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
    // Declared last, so destroyed first: once they are gone no handler runs (Signal.h).
    Connection debuggerStops_;
    Connection machineStops_;
};

} // namespace kvmscope::debug::gdb
