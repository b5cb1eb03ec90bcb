#pragma once
// What the gdb stub needs from the machine it debugs, as an abstract interface: the command
// handling (GdbSession) is tested and fuzzed against a fake, and MachineGdbTarget implements it
// over kvmscope's Debugger. Threads are vcpus: gdb thread id = vcpu index + 1.
//
// Calls come from the stub's thread only. Every call may throw kvmscope::Error; the session
// turns that into an error reply. Stops reach the stub through the listener the server installs,
// on whatever thread they happen (a vcpu thread, or the stub's own during a step).
#include "debug/gdb/GdbRegisters.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace kvmscope::debug::gdb {

enum class GdbBreakpointType {
    Software = 0,    // Z0
    Hardware = 1,    // Z1
    WriteWatch = 2,  // Z2
    ReadWatch = 3,   // Z3
    AccessWatch = 4, // Z4
};

// Why the target stopped, as the stub reports it.
struct GdbStop {
    enum class Kind {
        Breakpoint,  // an execution breakpoint (the stub's or another front end's)
        Watchpoint,  // a data watchpoint; `address` is the watched address
        Step,        // a requested single step finished
        Interrupted, // paused on request (Ctrl-C, or another front end paused the machine)
        Other,       // an exit breakpoint or a debug exit no breakpoint explains
        Exited,      // the machine stopped for good; `exitStatus` is the CLI's status
    };
    Kind kind = Kind::Other;
    uint32_t vcpu = 0;
    uint64_t address = 0;
    bool hardware = false;  // Breakpoint: set through Z1 (reported as hwbreak)
    bool readWrite = false; // Watchpoint: an access (awatch) rather than a write watchpoint
    int exitStatus = 0;
};

class GdbTarget {
public:
    using StopListener = std::function<void(const GdbStop&)>;

    virtual ~GdbTarget() = default;

    virtual size_t vcpuCount() const = 0;
    virtual RegisterFile readRegisters(uint32_t vcpu) = 0;
    virtual void writeRegisters(uint32_t vcpu, const RegisterFile& file) = 0;
    // Guest-virtual memory as `vcpu` sees it; returns how many bytes could be accessed from the
    // start (fewer at an unmapped page).
    virtual size_t readMemory(uint32_t vcpu, uint64_t address, void* out, size_t length) = 0;
    virtual size_t writeMemory(uint32_t vcpu, uint64_t address, const void* data,
                               size_t length) = 0;

    // False when the host cannot serve this type at all (the stub answers "unsupported", and gdb
    // falls back to what it can do itself); throws Error when this one request cannot be met.
    virtual bool supports(GdbBreakpointType type) const = 0;
    // Returns an id for removeBreakpoint.
    virtual int addBreakpoint(GdbBreakpointType type, uint64_t address, size_t length) = 0;
    virtual bool removeBreakpoint(int id) = 0;

    // gdb's `monitor COMMAND` (qRcmd): the text to print, or nullopt when the target has no
    // such command (the stub then answers "not supported").
    virtual std::optional<std::string> monitor(std::string_view command) {
        (void)command;
        return std::nullopt;
    }

    // Non-blocking: the stop comes later through the listener.
    virtual void resume() = 0;
    // One instruction on `vcpu`, the others stay paused; the stop comes through the listener.
    virtual void step(uint32_t vcpu) = 0;
    // Range stepping (vCont;r): steps `vcpu` once, then on while its PC stays in [begin, end);
    // the others stay paused. Non-blocking: the stop (Step) comes through the listener.
    virtual void stepRange(uint32_t vcpu, uint64_t begin, uint64_t end) = 0;
    // Pauses every vcpu and returns once they are parked.
    virtual void interrupt() = 0;
    // Ends the machine (gdb's kill).
    virtual void kill() = 0;

    virtual void setStopListener(StopListener listener) = 0;
    // The Exited stop once the machine has stopped for good, else nullopt: the server asks it
    // when it shuts down, since the machine's stop may reach its owner before the listener.
    virtual std::optional<GdbStop> exitStop() const = 0;
};

} // namespace kvmscope::debug::gdb
