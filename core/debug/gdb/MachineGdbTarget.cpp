#include "debug/gdb/MachineGdbTarget.h"

#include "common/Error.h"
#include "debug/Debugger.h"
#include "kvm/Vcpu.h"
#include "log/Log.h"
#include "machine/Machine.h"

#include <algorithm>
#include <fmt/format.h>

namespace kvmscope::debug::gdb {
namespace {

constexpr int kTimeoutMs = Debugger::kDefaultTimeoutMs;
constexpr uint64_t kPageSize = 0x1000;

} // namespace

MachineGdbTarget::MachineGdbTarget(Machine& machine) : machine_(machine) {
    // The stop is handed on from the thread that reports it (a vcpu thread, or the stub's own
    // during a step); the listener only queues it and wakes the stub's thread.
    debuggerStops_ = machine_.debugger().stopped.connect([shared = shared_](const DebugStop& stop) {
        GdbStop out;
        out.vcpu = stop.vcpu;
        out.address = stop.pc;
        switch (stop.reason) {
        case DebugStopReason::Breakpoint: {
            out.kind = GdbStop::Kind::Breakpoint;
            std::lock_guard lock(shared->mutex);
            out.hardware = shared->hardwareIds.count(stop.breakpointId) != 0;
            break;
        }
        case DebugStopReason::Watchpoint: {
            out.kind = GdbStop::Kind::Watchpoint;
            out.address = stop.dataAddress;
            std::lock_guard lock(shared->mutex);
            out.readWrite = shared->accessWatchIds.count(stop.breakpointId) != 0;
            break;
        }
        case DebugStopReason::Step:
            out.kind = GdbStop::Kind::Step;
            break;
        case DebugStopReason::ExitBreakpoint:
        case DebugStopReason::DebugExit:
            out.kind = GdbStop::Kind::Other;
            break;
        }
        shared->deliver(out);
    });
    machineStops_ = machine_.stopped.connect([shared = shared_](const MachineStop& stop) {
        GdbStop out;
        out.kind = GdbStop::Kind::Exited;
        out.vcpu = stop.vcpu;
        out.exitStatus = stop.exitStatus();
        shared->deliver(out);
    });
}

MachineGdbTarget::~MachineGdbTarget() {
    // Disconnected first: once these return, no handler is running or will run (Signal.h).
    debuggerStops_.reset();
    machineStops_.reset();
}

void MachineGdbTarget::Shared::deliver(const GdbStop& stop) {
    std::lock_guard lock(mutex);
    if (listener)
        listener(stop);
}

void MachineGdbTarget::setStopListener(StopListener listener) {
    std::lock_guard lock(shared_->mutex);
    shared_->listener = std::move(listener);
}

std::optional<GdbStop> MachineGdbTarget::exitStop() const {
    const auto stop = machine_.stopState();
    if (!stop)
        return std::nullopt;
    GdbStop out;
    out.kind = GdbStop::Kind::Exited;
    out.vcpu = stop->vcpu;
    out.exitStatus = stop->exitStatus();
    return out;
}

size_t MachineGdbTarget::vcpuCount() const {
    return machine_.vcpuCount();
}

RegisterFile MachineGdbTarget::readRegisters(uint32_t vcpu) {
    const VcpuRegisters state = machine_.vcpu(vcpu).call(
        [](kvm::Vcpu& v) {
            VcpuRegisters r;
            r.regs = v.regs();
            r.sregs = v.sregs();
            r.fpu = v.fpu();
            const auto msrs = v.msrs({kMsrKernelGsBase});
            if (!msrs.empty())
                r.kernelGsBase = msrs.front().data;
            return r;
        },
        kTimeoutMs);
    return toRegisterFile(state);
}

void MachineGdbTarget::writeRegisters(uint32_t vcpu, const RegisterFile& file) {
    machine_.vcpu(vcpu).call(
        [&file](kvm::Vcpu& v) {
            VcpuRegisters r;
            r.regs = v.regs();
            r.sregs = v.sregs();
            r.fpu = v.fpu();
            fromRegisterFile(file, r);
            v.setRegs(r.regs);
            v.setSregs(r.sregs);
            v.setFpu(r.fpu);
            kvm_msr_entry entry{};
            entry.index = kMsrKernelGsBase;
            entry.data = r.kernelGsBase;
            v.setMsrs({entry});
        },
        kTimeoutMs);
}

size_t MachineGdbTarget::readMemory(uint32_t vcpu, uint64_t address, void* out, size_t length) {
    return machine_.debugger().guest().readLinear(vcpu, address, out, length);
}

size_t MachineGdbTarget::writeMemory(uint32_t vcpu, uint64_t address, const void* data,
                                     size_t length) {
    // Page by page through the vcpu's page tables. A debugger may write where the guest may not
    // (read-only code pages): only a present mapping to RAM is required.
    const auto* bytes = static_cast<const uint8_t*>(data);
    size_t done = 0;
    while (done < length) {
        const uint64_t linear = address + done;
        const size_t chunk = std::min<uint64_t>(length - done, kPageSize - (linear % kPageSize));
        const Translation where = machine_.debugger().guest().translate(vcpu, linear);
        if (!where.valid || !machine_.memory().contains(where.physical, chunk))
            break;
        machine_.memory().write(where.physical, bytes + done, chunk);
        done += chunk;
    }
    return done;
}

bool MachineGdbTarget::supports(GdbBreakpointType type) const {
    // What the debugger's host probe saw work (chooseMechanism with every register free): a
    // type no mechanism can serve here is "unsupported", never armed and silent. gdb then says
    // it cannot insert it, and for watchpoints falls back to watching by single-stepping itself.
    const HostDebugSupport& host = machine_.debugger().hostSupport();
    auto served = [&host](BreakpointKind kind) {
        return chooseMechanism(kind, false, host, Debugger::kDebugRegisterSlots)
            .mechanism.has_value();
    };
    switch (type) {
    case GdbBreakpointType::Software:
        return served(BreakpointKind::Software);
    case GdbBreakpointType::Hardware:
        return served(BreakpointKind::Hardware); // a debug register, or the stepping fallback
    case GdbBreakpointType::WriteWatch:
        return served(BreakpointKind::WriteWatch);
    case GdbBreakpointType::AccessWatch:
        return served(BreakpointKind::ReadWriteWatch);
    case GdbBreakpointType::ReadWatch:
        return false; // x86 debug registers have no read-only condition (SDM vol. 3B 18.2.4)
    }
    return false;
}

std::optional<std::string> MachineGdbTarget::monitor(std::string_view command) {
    const Debugger& debugger = machine_.debugger();
    if (command == "breakpoints") {
        std::string text;
        for (const Breakpoint& b : debugger.breakpoints()) {
            text += b.describe() + "\n";
            if (!b.mechanismNote.empty())
                text += "  (" + b.mechanismNote + ")\n";
        }
        return text.empty() ? "no breakpoints\n" : text;
    }
    if (command == "host") {
        std::string text;
        const HostDebugSupport& host = debugger.hostSupport();
        for (const auto& entry : HostDebugSupport::entries()) {
            const ProbeFinding& finding = host.*entry.finding;
            text += fmt::format("{}: {} ({})\n", entry.name,
                                finding.works ? "works" : "does not work", finding.detail);
        }
        return text;
    }
    return std::string("kvmscope monitor commands:\n"
                       "  breakpoints  every breakpoint and the mechanism it uses\n"
                       "  host         what the host probe saw of each debug mechanism\n");
}

void MachineGdbTarget::logMechanism(int id) const {
    // gdb shows nothing of how a breakpoint is served: the log (and `monitor breakpoints`) do.
    for (const Breakpoint& b : machine_.debugger().breakpoints())
        if (b.id == id)
            log::get("gdb")->debug("{}", b.describe());
}

int MachineGdbTarget::addBreakpoint(GdbBreakpointType type, uint64_t address, size_t length) {
    Debugger& debugger = machine_.debugger();
    switch (type) {
    case GdbBreakpointType::Software: {
        const int id = debugger.addBreakpoint(address);
        logMechanism(id);
        return id;
    }
    case GdbBreakpointType::Hardware: {
        const int id = debugger.addHardwareBreakpoint(address);
        logMechanism(id);
        std::lock_guard lock(shared_->mutex);
        shared_->hardwareIds.insert(id);
        return id;
    }
    case GdbBreakpointType::WriteWatch:
    case GdbBreakpointType::AccessWatch: {
        const bool access = type == GdbBreakpointType::AccessWatch;
        const int id = debugger.addWatchpoint(address, static_cast<unsigned>(length), access);
        if (access) {
            std::lock_guard lock(shared_->mutex);
            shared_->accessWatchIds.insert(id);
        }
        return id;
    }
    case GdbBreakpointType::ReadWatch:
        break;
    }
    throw InputError(fmt::format("breakpoint type {} is not supported", static_cast<int>(type)));
}

bool MachineGdbTarget::removeBreakpoint(int id) {
    {
        std::lock_guard lock(shared_->mutex);
        shared_->hardwareIds.erase(id);
        shared_->accessWatchIds.erase(id);
    }
    return machine_.debugger().removeBreakpoint(id);
}

void MachineGdbTarget::resume() {
    machine_.debugger().continueAll();
}

void MachineGdbTarget::step(uint32_t vcpu) {
    machine_.debugger().stepInstruction(vcpu);
}

void MachineGdbTarget::stepRange(uint32_t vcpu, uint64_t begin, uint64_t end) {
    machine_.debugger().stepRange(vcpu, begin, end);
}

void MachineGdbTarget::interrupt() {
    machine_.pause();
    if (!machine_.waitUntilPaused(kTimeoutMs))
        throw Error("the vcpus did not pause for the gdb client's interrupt");
}

void MachineGdbTarget::kill() {
    machine_.requestStop({StopKind::UserStop, 0, 0, "killed by the gdb client"});
}

} // namespace kvmscope::debug::gdb
