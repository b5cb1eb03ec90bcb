#include "debug/Debugger.h"

#include "common/Error.h"
#include "common/InputFile.h"
#include "debug/HostDebugProbe.h"
#include "kvm/System.h"
#include "kvm/Vcpu.h"
#include "log/Log.h"
#include "machine/Machine.h"

#include <algorithm>
#include <cstring>
#include <elf.h>
#include <fmt/format.h>
#include <unistd.h>

namespace kvmscope::debug {
namespace {

// Debug registers (SDM vol. 3B 18.2): DR6 status, DR7 control.
constexpr uint64_t kDr6SlotMask = 0xF;        // B0-B3: which breakpoint condition was met
constexpr uint64_t kDr6SingleStep = 1u << 14; // BS
constexpr uint64_t kDr7GlobalExact = 1u << 9; // GE (recommended with data breakpoints)
constexpr uint64_t kDr7Reserved1 = 1u << 10;  // reads as 1
constexpr unsigned kDr7RwShift = 16;          // R/Wn at 16 + 4n, LENn at 18 + 4n
constexpr uint64_t kDr7RwExecute = 0b00;
constexpr uint64_t kDr7RwWrite = 0b01;
constexpr uint64_t kDr7RwReadWrite = 0b11;
uint64_t dr7LengthBits(unsigned length) { // 00 = 1, 01 = 2, 11 = 4, 10 = 8 bytes
    switch (length) {
    case 2:
        return 0b01;
    case 4:
        return 0b11;
    case 8:
        return 0b10;
    default:
        return 0b00;
    }
}

constexpr uint8_t kInt3 = 0xCC;
constexpr uint32_t kExceptionDebug = 1;      // #DB
constexpr uint32_t kExceptionBreakpoint = 3; // #BP

} // namespace

const char* toString(DebugStopReason reason) {
    switch (reason) {
    case DebugStopReason::Breakpoint:
        return "breakpoint";
    case DebugStopReason::Watchpoint:
        return "watchpoint";
    case DebugStopReason::Step:
        return "step";
    case DebugStopReason::ExitBreakpoint:
        return "exit breakpoint";
    case DebugStopReason::DebugExit:
        return "debug exit";
    }
    return "?";
}

std::string Breakpoint::describe() const {
    std::string text = fmt::format("{} {} at {:#x}", toString(kind), id, address);
    if (kind == BreakpointKind::WriteWatch || kind == BreakpointKind::ReadWriteWatch)
        text += fmt::format(" ({} bytes)", length);
    text += fmt::format(" via {}", toString(mechanism));
    if (mechanism == BreakMechanism::DebugRegister && slot >= 0)
        text += fmt::format(" DR{}", slot);
    if (!enabled)
        text += " (disabled)";
    return text;
}

Debugger::Debugger(Machine& machine, const kvm::System& system, ExitBreakpoints& exitBreakpoints)
    : machine_(machine), system_(system), exitBreakpoints_(exitBreakpoints) {}

const HostDebugSupport& Debugger::support() const {
    return hostDebugSupport(system_);
}

// --- breakpoints ------------------------------------------------------------------------------

int Debugger::freeSlot() const {
    std::array<bool, kDebugRegisterSlots> used{};
    for (const Breakpoint& b : breakpoints_)
        if (b.slot >= 0)
            used[static_cast<size_t>(b.slot)] = true;
    for (unsigned i = 0; i < kDebugRegisterSlots; ++i)
        if (!used[i])
            return static_cast<int>(i);
    return -1;
}

kvm_sregs Debugger::sregsOf(uint32_t vcpu) {
    return machine_.vcpu(vcpu).call([](kvm::Vcpu& v) { return v.sregs(); }, kDefaultTimeoutMs);
}

uint64_t Debugger::pcOf(uint32_t vcpu) {
    const auto [regs, sregs] = machine_.vcpu(vcpu).call(
        [](kvm::Vcpu& v) {
            return std::pair{v.regs(), v.sregs()};
        },
        kDefaultTimeoutMs);
    return cpu::linearPc(regs, sregs);
}

Translation Debugger::translate(uint32_t vcpu, uint64_t linear) {
    const kvm_sregs sregs = sregsOf(vcpu);
    const PagingRegisters paging{sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer};
    GuestMemory& memory = machine_.memory();
    return debug::translate(paging, linear, [&memory](uint64_t address, void* out, size_t n) {
        if (!memory.contains(address, n))
            return false;
        memory.read(address, out, n);
        return true;
    });
}

size_t Debugger::readLinear(uint32_t vcpu, uint64_t linear, void* destination, size_t length) {
    return readLinear(sregsOf(vcpu), linear, destination, length);
}

size_t Debugger::readLinear(const kvm_sregs& sregs, uint64_t linear, void* destination,
                            size_t length) {
    const PagingRegisters paging{sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer};
    GuestMemory& memory = machine_.memory();
    const size_t done = debug::readLinear(paging, linear, destination, length,
                                          [&memory](uint64_t address, void* out, size_t n) {
                                              if (!memory.contains(address, n))
                                                  return false;
                                              memory.read(address, out, n);
                                              return true;
                                          });
    // Show the guest's own bytes where kvmscope put an int3.
    std::lock_guard lock(mutex_);
    for (const Breakpoint& b : breakpoints_)
        if (b.mechanism == BreakMechanism::Int3 && b.enabled && b.address >= linear &&
            b.address < linear + done)
            static_cast<uint8_t*>(destination)[b.address - linear] = b.originalByte;
    return done;
}

size_t Debugger::writePhysical(uint64_t physical, const void* source, size_t length) {
    GuestMemory& memory = machine_.memory();
    if (!memory.contains(physical, length))
        throw InputError(fmt::format("cannot write {} bytes at guest-physical {:#x}: not RAM",
                                     length, physical));
    memory.write(physical, source, length);
    // An int3 of ours inside the range keeps its 0xCC: the edit goes to the byte it saved, which
    // is what readLinear shows and what removing the breakpoint puts back.
    std::lock_guard lock(mutex_);
    for (Breakpoint& b : breakpoints_)
        if (b.mechanism == BreakMechanism::Int3 && b.enabled && b.physical >= physical &&
            b.physical < physical + length) {
            b.originalByte = static_cast<const uint8_t*>(source)[b.physical - physical];
            memory.writeValue<uint8_t>(b.physical, kInt3);
        }
    return length;
}

size_t Debugger::writeLinear(uint32_t vcpu, uint64_t linear, const void* source, size_t length) {
    const kvm_sregs sregs = sregsOf(vcpu);
    const PagingRegisters paging{sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer};
    GuestMemory& memory = machine_.memory();
    const PhysicalReader reader = [&memory](uint64_t address, void* out, size_t n) {
        if (!memory.contains(address, n))
            return false;
        memory.read(address, out, n);
        return true;
    };
    // Page by page, as readLinear: consecutive linear pages need not be consecutive in RAM.
    size_t done = 0;
    while (done < length) {
        const uint64_t at = linear + done;
        const Translation where = debug::translate(paging, at, reader);
        if (!where.valid)
            break;
        const uint64_t pageSize = where.pageSize ? where.pageSize : 0x1000;
        const size_t chunk =
            static_cast<size_t>(std::min<uint64_t>(length - done, pageSize - (at % pageSize)));
        if (!memory.contains(where.physical, chunk))
            break;
        writePhysical(where.physical, static_cast<const uint8_t*>(source) + done, chunk);
        done += chunk;
    }
    return done;
}

void Debugger::insertInt3(Breakpoint& breakpoint) {
    // The byte is patched in guest-physical memory, where the address maps now (vcpu 0's view).
    const Translation where = translate(0, breakpoint.address);
    if (!where.valid)
        throw InputError(
            fmt::format("cannot set a breakpoint at {:#x}: {}", breakpoint.address, where.fault));
    breakpoint.physical = where.physical;
    breakpoint.originalByte = machine_.memory().readValue<uint8_t>(where.physical);
    machine_.memory().writeValue<uint8_t>(where.physical, kInt3);
}

void Debugger::removeInt3(const Breakpoint& breakpoint) {
    machine_.memory().writeValue<uint8_t>(breakpoint.physical, breakpoint.originalByte);
}

int Debugger::addExecution(uint64_t address, BreakpointKind kind, bool temporary) {
    Breakpoint breakpoint;
    breakpoint.kind = kind;
    breakpoint.address = address;
    breakpoint.temporary = temporary;
    // The best mechanism the host probe saw work (chooseMechanism): int3, then a free debug
    // register, then stepping with an address check; none that works is a refusal. int3 does
    // not depend on the free slots, so it is patched in before mutex_ is taken (insertInt3
    // reads sregs through the vcpu thread).
    const HostDebugSupport& host = support();
    const bool int3 = chooseMechanism(kind, temporary, host, kDebugRegisterSlots).mechanism ==
                      BreakMechanism::Int3;
    if (int3)
        insertInt3(breakpoint);
    std::lock_guard lock(mutex_);
    const MechanismChoice choice =
        int3 ? chooseMechanism(kind, temporary, host, kDebugRegisterSlots)
             : chooseMechanism(kind, temporary, host, freeDebugRegistersLocked());
    if (!choice.mechanism)
        throw InputError(
            fmt::format("cannot set a {} at {:#x}: {}", toString(kind), address, choice.note));
    breakpoint.mechanism = *choice.mechanism;
    breakpoint.mechanismNote = choice.note;
    if (breakpoint.mechanism == BreakMechanism::DebugRegister)
        breakpoint.slot = freeSlot();
    breakpoint.id = nextId_++;
    if (choice.fallback && !temporary)
        log::get("debug")->info("{}: {}", breakpoint.describe(), choice.note);
    breakpoints_.push_back(breakpoint);
    return breakpoint.id;
}

unsigned Debugger::freeDebugRegisters() const {
    std::lock_guard lock(mutex_);
    return freeDebugRegistersLocked();
}

unsigned Debugger::freeDebugRegistersLocked() const {
    unsigned used = 0;
    for (const Breakpoint& b : breakpoints_)
        if (b.slot >= 0)
            ++used;
    return kDebugRegisterSlots - std::min(used, kDebugRegisterSlots);
}

int Debugger::addBreakpoint(uint64_t address) {
    const int id = addExecution(address, BreakpointKind::Software, false);
    applyDebugState();
    return id;
}

int Debugger::addHardwareBreakpoint(uint64_t address) {
    const int id = addExecution(address, BreakpointKind::Hardware, false);
    applyDebugState();
    return id;
}

int Debugger::addWatchpoint(uint64_t address, unsigned length, bool readWrite) {
    if (length != 1 && length != 2 && length != 4 && length != 8)
        throw InputError(fmt::format("a watchpoint covers 1, 2, 4 or 8 bytes, not {}", length));
    // SDM vol. 3B 18.2.5: a breakpoint address must be aligned to its length.
    if (address % length != 0)
        throw InputError(fmt::format("a {}-byte watchpoint needs an address aligned to {}, not "
                                     "{:#x}",
                                     length, length, address));
    const HostDebugSupport& host = support(); // the probe, the first time: outside mutex_
    int id = 0;
    {
        std::lock_guard lock(mutex_);
        const BreakpointKind kind =
            readWrite ? BreakpointKind::ReadWriteWatch : BreakpointKind::WriteWatch;
        // Only where the probe saw this kind of data breakpoint fire: one that cannot fire is
        // refused, never armed and silent.
        const MechanismChoice choice =
            chooseMechanism(kind, false, host, freeDebugRegistersLocked());
        if (!choice.mechanism)
            throw InputError(
                fmt::format("cannot set a {} at {:#x}: {}", toString(kind), address, choice.note));
        Breakpoint breakpoint;
        breakpoint.id = id = nextId_++;
        breakpoint.kind = kind;
        breakpoint.mechanism = *choice.mechanism;
        breakpoint.address = address;
        breakpoint.length = length;
        breakpoint.slot = freeSlot();
        breakpoints_.push_back(breakpoint);
    }
    applyDebugState();
    return id;
}

bool Debugger::removeBreakpoint(int id) {
    {
        std::lock_guard lock(mutex_);
        auto it = std::find_if(breakpoints_.begin(), breakpoints_.end(),
                               [id](const Breakpoint& b) { return b.id == id; });
        if (it == breakpoints_.end())
            return false;
        if (it->mechanism == BreakMechanism::Int3 && it->enabled) // a disabled one is out
            removeInt3(*it);
        breakpoints_.erase(it);
    }
    applyDebugState();
    return true;
}

bool Debugger::setBreakpointEnabled(int id, bool enabled) {
    auto find = [this, id] {
        return std::find_if(breakpoints_.begin(), breakpoints_.end(),
                            [id](const Breakpoint& b) { return b.id == id; });
    };
    std::optional<Breakpoint> reinsert; // an int3 to put back, outside mutex_ (insertInt3)
    {
        std::lock_guard lock(mutex_);
        const auto it = find();
        if (it == breakpoints_.end())
            return false;
        if (it->enabled == enabled)
            return true;
        if (!enabled) {
            // Disarmed, not forgotten: the guest's byte goes back, the debug register is free
            // for another breakpoint, applyDebugState below leaves it out of DR7 and the
            // stepping-check list.
            if (it->mechanism == BreakMechanism::Int3)
                removeInt3(*it);
            it->slot = -1;
            it->enabled = false;
        } else if (it->mechanism == BreakMechanism::DebugRegister) {
            // Same mechanism, any free slot: its old one may have been given away meanwhile.
            const int slot = freeSlot();
            if (slot < 0)
                throw InputError(fmt::format("cannot enable {}: no free debug register (DR0-DR3 "
                                             "are taken)",
                                             it->describe()));
            it->slot = slot;
            it->enabled = true;
        } else if (it->mechanism == BreakMechanism::SteppingCheck) {
            it->enabled = true;
        } else {
            reinsert = *it;
        }
    }
    if (reinsert) {
        // Where the address maps now (the guest may have changed its page tables).
        insertInt3(*reinsert);
        std::lock_guard lock(mutex_);
        if (const auto it = find(); it != breakpoints_.end()) {
            it->physical = reinsert->physical;
            it->originalByte = reinsert->originalByte;
            it->enabled = true;
        }
    }
    applyDebugState();
    return true;
}

std::vector<Breakpoint> Debugger::breakpoints() const {
    std::lock_guard lock(mutex_);
    return breakpoints_;
}

int Debugger::addExitBreakpoint(const ExitBreakpoint& breakpoint) {
    return exitBreakpoints_.add(breakpoint);
}

bool Debugger::removeExitBreakpoint(int id) {
    return exitBreakpoints_.remove(id);
}

bool Debugger::setExitBreakpointEnabled(int id, bool enabled) {
    return exitBreakpoints_.setEnabled(id, enabled);
}

std::vector<ExitBreakpoint> Debugger::exitBreakpoints() const {
    return exitBreakpoints_.list();
}

void Debugger::dropTemporaries() {
    std::erase_if(breakpoints_, [](const Breakpoint& b) { return b.temporary; });
}

void Debugger::applyDebugState() {
    // One kvm_guest_debug for every vcpu (api.rst 4.59 KVM_SET_GUEST_DEBUG): debugreg[0-3] the
    // slot addresses, debugreg[7] their enables (G bits), types and lengths.
    kvm_guest_debug debug{};
    std::vector<uint64_t> stepCheck;
    {
        std::lock_guard lock(mutex_);
        uint64_t dr7 = 0;
        bool int3 = false;
        for (const Breakpoint& b : breakpoints_) {
            if (!b.enabled)
                continue;
            switch (b.mechanism) {
            case BreakMechanism::Int3:
                int3 = true;
                break;
            case BreakMechanism::SteppingCheck:
                stepCheck.push_back(b.address);
                break;
            case BreakMechanism::DebugRegister: {
                const auto slot = static_cast<unsigned>(b.slot);
                const uint64_t rw = b.kind == BreakpointKind::WriteWatch       ? kDr7RwWrite
                                    : b.kind == BreakpointKind::ReadWriteWatch ? kDr7RwReadWrite
                                                                               : kDr7RwExecute;
                const uint64_t len = rw == kDr7RwExecute ? 0 : dr7LengthBits(b.length);
                debug.arch.debugreg[slot] = b.address;
                dr7 |= (2ull << (slot * 2)) | (rw << (kDr7RwShift + slot * 4)) |
                       (len << (kDr7RwShift + 2 + slot * 4));
                break;
            }
            }
        }
        if (dr7 != 0) {
            debug.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
            debug.arch.debugreg[7] = dr7 | kDr7GlobalExact | kDr7Reserved1;
        }
        if (int3)
            debug.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP;
    }
    for (size_t i = 0; i < machine_.vcpuCount(); ++i) {
        machine_.vcpu(i).setGuestDebug(debug);
        machine_.vcpu(i).setStepCheckAddresses(stepCheck);
    }
}

const Breakpoint* Debugger::executionBreakpointAt(uint64_t linear) const {
    for (const Breakpoint& b : breakpoints_)
        if (b.address == linear && b.enabled &&
            (b.kind == BreakpointKind::Software || b.kind == BreakpointKind::Hardware))
            return &b;
    return nullptr;
}

// --- stops ------------------------------------------------------------------------------------

DebugStop Debugger::classify(const cpu::VcpuStop& stop) const {
    DebugStop result;
    result.vcpu = stop.vcpu;
    if (stop.cause == cpu::StopCause::ExitBreakpoint) {
        result.reason = DebugStopReason::ExitBreakpoint;
        result.breakpointId = stop.exitBreakpoint;
        result.dataAddress = stop.accessAddress;
        result.value = stop.accessValue;
        result.description = stop.description;
        return result;
    }
    if (stop.cause == cpu::StopCause::Stepped) {
        result.reason = DebugStopReason::Step;
        result.pc = stop.debug.pc;
        result.description = describeStep(stop.vcpu, stop.steps, stop.debug.pc);
        return result;
    }
    // KVM_EXIT_DEBUG (api.rst 5): exception 1 (#DB) with DR6 saying which condition, or 3 (#BP)
    // for an int3; pc is the linear address of the instruction that trapped or comes next.
    const kvm_debug_exit_arch& arch = stop.debug;
    result.pc = arch.pc;
    result.reason = DebugStopReason::DebugExit;
    const Breakpoint* hit = nullptr;
    if (arch.exception == kExceptionBreakpoint) {
        for (const Breakpoint& b : breakpoints_)
            if (b.mechanism == BreakMechanism::Int3 && b.enabled && b.address == arch.pc)
                hit = &b;
    } else if (arch.exception == kExceptionDebug) {
        if (arch.dr6 & kDr6SlotMask)
            for (const Breakpoint& b : breakpoints_)
                if (b.slot >= 0 && (arch.dr6 & (1u << b.slot)))
                    hit = &b;
        // A step trap onto a stepping-check address (DR6 may carry B bits of slots that are not
        // ours: a host reports the guest's DR6 as it is).
        if (!hit && (arch.dr6 & kDr6SingleStep))
            for (const Breakpoint& b : breakpoints_)
                if (b.mechanism == BreakMechanism::SteppingCheck && b.enabled &&
                    b.address == arch.pc)
                    hit = &b;
    }
    if (hit) {
        result.breakpointId = hit->id;
        const bool watch =
            hit->kind == BreakpointKind::WriteWatch || hit->kind == BreakpointKind::ReadWriteWatch;
        result.reason = watch ? DebugStopReason::Watchpoint : DebugStopReason::Breakpoint;
        if (watch)
            result.dataAddress = hit->address;
    }
    const std::string where = symbols_.describe(arch.pc);
    result.description =
        fmt::format("vcpu {} stopped at {:#x}{}: {}", stop.vcpu, arch.pc,
                    where.empty() ? "" : " <" + where + ">",
                    hit ? hit->describe() : "debug exit (" + stop.description + ")");
    return result;
}

void Debugger::countHit(const DebugStop& stop) {
    if (stop.reason != DebugStopReason::Breakpoint && stop.reason != DebugStopReason::Watchpoint)
        return;
    for (Breakpoint& b : breakpoints_)
        if (b.id == stop.breakpointId)
            ++b.hits;
}

void Debugger::recordStop(const DebugStop& stop) {
    {
        std::lock_guard lock(mutex_);
        lastStop_ = stop;
        ++stopSequence_;
    }
    stopChanged_.notify_all();
    stopped.emit(stop);
}

void Debugger::vcpuStopped(const cpu::VcpuStop& stop) {
    stopsBegun_.fetch_add(1);
    // All-stop: this vcpu has parked itself; the others are kicked and park too.
    for (size_t i = 0; i < machine_.vcpuCount(); ++i)
        if (i != stop.vcpu)
            machine_.vcpu(i).pause();
    DebugStop classified;
    bool hadTemporary = false;
    {
        std::lock_guard lock(mutex_);
        classified = classify(stop);
        countHit(classified); // before the stop is announced: its clients see the new count
        hadTemporary = std::any_of(breakpoints_.begin(), breakpoints_.end(),
                                   [](const Breakpoint& b) { return b.temporary; });
        dropTemporaries(); // a step-over or run-to ends at the first stop, whatever it is
    }
    if (classified.reason == DebugStopReason::ExitBreakpoint)
        exitBreakpoints_.countHit(classified.breakpointId);
    if (hadTemporary)
        applyDebugState();
    // Steps are the user's own doing and can come by the thousand: not worth the log's time.
    if (classified.reason == DebugStopReason::Step)
        log::get("debug")->debug("{}", classified.description);
    else
        log::get("debug")->info("{}", classified.description);
    recordStop(classified);
}

std::optional<DebugStop> Debugger::lastStop() const {
    std::lock_guard lock(mutex_);
    return lastStop_;
}

std::optional<DebugStop> Debugger::waitForStop(int timeoutMs) {
    std::unique_lock lock(mutex_);
    if (!stopChanged_.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                               [this] { return stopSequence_ > waitFrom_; }))
        return std::nullopt;
    return lastStop_;
}

// --- execution control ------------------------------------------------------------------------

void Debugger::pauseAll() {
    machine_.pause();
    if (!machine_.waitUntilPaused(kDefaultTimeoutMs))
        throw Error("the vcpus did not pause");
}

void Debugger::stepOffBreakpoint(uint32_t vcpu, int timeoutMs) {
    // An instruction breakpoint is a fault: resuming at it would fire it again. Step once with
    // execution breakpoints left out (the int3 byte put back meanwhile), then re-arm.
    std::optional<Breakpoint> int3;
    const uint64_t pc = pcOf(vcpu);
    {
        std::lock_guard lock(mutex_);
        const Breakpoint* at = executionBreakpointAt(pc);
        if (at && at->mechanism == BreakMechanism::Int3) {
            int3 = *at;
            removeInt3(*at);
        }
    }
    auto& runner = machine_.vcpu(vcpu);
    runner.step(true);
    const bool parked = runner.waitUntilParked(timeoutMs);
    if (int3)
        machine_.memory().writeValue<uint8_t>(int3->physical, kInt3);
    if (!parked)
        throw Error(fmt::format("vcpu {} did not finish its step", vcpu));
}

void Debugger::continueAll() {
    pauseAll();
    uint64_t sequence = 0;
    {
        std::lock_guard lock(mutex_);
        sequence = stopSequence_;
    }
    for (uint32_t i = 0; i < machine_.vcpuCount(); ++i) {
        const uint64_t pc = pcOf(i);
        bool onBreakpoint = false;
        {
            std::lock_guard lock(mutex_);
            const Breakpoint* at = executionBreakpointAt(pc);
            onBreakpoint = at && at->mechanism != BreakMechanism::SteppingCheck;
        }
        if (onBreakpoint)
            stepOffBreakpoint(i, kDefaultTimeoutMs);
    }
    {
        std::lock_guard lock(mutex_);
        // A step off a breakpoint can itself stop (a watchpoint, an exit breakpoint): then the
        // machine stays paused at that new stop.
        if (stopSequence_ != sequence)
            return;
        waitFrom_ = stopSequence_;
    }
    // A vcpu can stop while the others are still being resumed; its pause() of a vcpu not yet
    // resumed would then be undone by the resume. Seen here (stopsBegun_ moved): pause them all
    // again. A stop that begins after this check pauses vcpus that are all already resumed.
    const uint64_t begun = stopsBegun_.load();
    machine_.run();
    if (stopsBegun_.load() != begun)
        machine_.pause();
}

bool Debugger::pauseAndCheckOnBreakpoint(uint32_t vcpu) {
    pauseAll();
    bool anyExecution = false;
    {
        std::lock_guard lock(mutex_);
        anyExecution = std::any_of(breakpoints_.begin(), breakpoints_.end(), [](const auto& b) {
            return b.mechanism != BreakMechanism::SteppingCheck && b.enabled &&
                   (b.kind == BreakpointKind::Software || b.kind == BreakpointKind::Hardware);
        });
    }
    // Only with execution breakpoints set can the vcpu sit on one: spare the register read (a
    // round trip to the vcpu thread) otherwise, so a step costs little more than the bare ioctls.
    if (!anyExecution)
        return false;
    const uint64_t pc = pcOf(vcpu);
    std::lock_guard lock(mutex_);
    const Breakpoint* at = executionBreakpointAt(pc);
    return at && at->mechanism != BreakMechanism::SteppingCheck;
}

void Debugger::recordStep(uint32_t vcpu, uint64_t steps, std::optional<uint64_t> pc) {
    DebugStop stop;
    stop.vcpu = vcpu;
    stop.reason = DebugStopReason::Step;
    stop.pc = pc ? *pc : pcOf(vcpu);
    stop.description = describeStep(vcpu, steps, stop.pc);
    recordStop(stop);
}

std::string Debugger::describeStep(uint32_t vcpu, uint64_t steps, uint64_t pc) const {
    const std::string where = symbols_.describe(pc);
    const std::string symbol = where.empty() ? "" : " <" + where + ">";
    if (steps == 1)
        return fmt::format("vcpu {} stepped to {:#x}{}", vcpu, pc, symbol);
    return fmt::format("vcpu {} stepped {} instructions to {:#x}{}", vcpu, steps, pc, symbol);
}

void Debugger::stepInstruction(uint32_t vcpu, int timeoutMs) {
    stepInstructions(vcpu, 1, timeoutMs);
}

uint64_t Debugger::stepInstructions(uint32_t vcpu, uint64_t count, int timeoutMs,
                                    std::vector<uint64_t>* pcs) {
    if (pcs)
        pcs->clear();
    if (count == 0)
        return 0;
    const bool onBreakpoint = pauseAndCheckOnBreakpoint(vcpu);
    uint64_t sequence = 0;
    {
        std::lock_guard lock(mutex_);
        sequence = waitFrom_ = stopSequence_;
    }
    auto stoppedMeanwhile = [&] {
        std::lock_guard lock(mutex_);
        return stopSequence_ != sequence;
    };
    auto& runner = machine_.vcpu(vcpu);
    uint64_t done = 0;
    if (onBreakpoint) {
        // The first step leaves the breakpoint (an int3 is lifted for it), the rest run as one.
        stepOffBreakpoint(vcpu, timeoutMs);
        if (stoppedMeanwhile())
            return 0; // the step hit a watchpoint or an exit breakpoint: that is the stop
        done = runner.stepsDone();
        if (pcs && runner.lastStepPc())
            pcs->push_back(*runner.lastStepPc());
        if (done == count) {
            recordStep(vcpu, done, runner.lastStepPc());
            return done;
        }
    }
    cpu::StepRequest request;
    request.count = count - done;
    request.stepsBefore = done;
    request.report = true; // the vcpu thread records the stop before it parks: no extra hand-off
    request.recordPcs = pcs != nullptr;
    runner.step(request);
    if (!runner.waitUntilParked(timeoutMs)) {
        runner.pause();
        runner.waitUntilParked(kDefaultTimeoutMs);
        if (!stoppedMeanwhile())
            recordStep(vcpu, done + runner.stepsDone(), runner.lastStepPc());
        throw Error(fmt::format("vcpu {} did not finish {} step{} in {} ms ({} done)", vcpu, count,
                                count == 1 ? "" : "s", timeoutMs, done + runner.stepsDone()));
    }
    done += runner.stepsDone();
    if (pcs) {
        const auto more = runner.stepPcs();
        pcs->insert(pcs->end(), more.begin(), more.end());
    }
    // Paused by someone else between two steps: no stop was reported, say where it is.
    if (!stoppedMeanwhile())
        recordStep(vcpu, done, runner.lastStepPc());
    return done;
}

void Debugger::stepRange(uint32_t vcpu, uint64_t begin, uint64_t end) {
    cpu::StepRequest request;
    request.count = begin < end ? UINT64_MAX : 1; // an empty range is one step (gdb's vCont)
    request.rangeBegin = begin;
    request.rangeEnd = end;
    startStepping(vcpu, request);
}

void Debugger::startSteps(uint32_t vcpu, uint64_t count) {
    if (count == 0)
        return;
    cpu::StepRequest request;
    request.count = count;
    startStepping(vcpu, request);
}

void Debugger::startStepping(uint32_t vcpu, cpu::StepRequest request) {
    const bool onBreakpoint = pauseAndCheckOnBreakpoint(vcpu);
    uint64_t sequence = 0;
    {
        std::lock_guard lock(mutex_);
        sequence = waitFrom_ = stopSequence_;
    }
    auto& runner = machine_.vcpu(vcpu);
    request.report = true;
    if (onBreakpoint) {
        stepOffBreakpoint(vcpu, kDefaultTimeoutMs);
        {
            std::lock_guard lock(mutex_);
            if (stopSequence_ != sequence)
                return; // the step hit a watchpoint or an exit breakpoint: that is the stop
        }
        const auto pc = runner.lastStepPc();
        const bool ranged = request.rangeBegin < request.rangeEnd;
        if (!pc || request.count == 1 ||
            (ranged && (*pc < request.rangeBegin || *pc >= request.rangeEnd))) {
            recordStep(vcpu, 1, pc);
            return;
        }
        if (request.count != UINT64_MAX)
            --request.count;
        request.stepsBefore = 1;
    }
    runner.step(request);
}

void Debugger::stepOver(uint32_t vcpu, int timeoutMs) {
    pauseAll();
    const uint64_t pc = pcOf(vcpu);
    const auto code = disassemble(vcpu, pc, 1);
    if (code.empty() || !code.front().isCall) {
        stepInstruction(vcpu, timeoutMs);
        return;
    }
    addExecution(pc + code.front().length, BreakpointKind::Software, true);
    applyDebugState();
    continueAll();
}

void Debugger::runTo(uint64_t address) {
    pauseAll();
    addExecution(address, BreakpointKind::Software, true);
    applyDebugState();
    continueAll();
}

// --- code ---------------------------------------------------------------------------------------

void Debugger::setSymbols(SymbolTable symbols) {
    symbols_ = std::move(symbols);
}

void Debugger::loadSymbols(const std::string& symbolsPath, const std::string& imagePath) {
    if (!symbolsPath.empty()) {
        setSymbols(SymbolTable::load(symbolsPath));
        log::get("debug")->info("{}: {} symbols", symbolsPath, symbols_.symbols().size());
        return;
    }
    // Only an ELF image can carry a .symtab; a bzImage or a flat binary is not looked into.
    if (imagePath.empty())
        return;
    try {
        char magic[SELFMAG] = {};
        const InputFile image(imagePath, "image");
        if (::pread(image.fd(), magic, SELFMAG, 0) != SELFMAG ||
            std::memcmp(magic, ELFMAG, SELFMAG) != 0)
            return;
        setSymbols(SymbolTable::fromElfFile(imagePath));
        log::get("debug")->info("{}: {} symbols from its .symtab", imagePath,
                                symbols_.symbols().size());
    } catch (const LoadError& error) {
        log::get("debug")->info("no symbols: {}", error.what()); // stripped: addresses only
    }
}

std::vector<Instruction> Debugger::disassemble(uint32_t vcpu, uint64_t address, size_t count) {
    // One KVM_GET_SREGS for the whole listing: the vcpu is paused, its paging does not change.
    const kvm_sregs sregs = sregsOf(vcpu);
    const Disassembler disassembler = Disassembler::forState(sregs, &symbols_);
    return disassembler.listing(address, count, [this, &sregs](uint64_t at, void* out, size_t n) {
        return readLinear(sregs, at, out, n);
    });
}

std::vector<Instruction> Debugger::disassembleAroundPc(uint32_t vcpu, size_t before, size_t after) {
    const kvm_sregs sregs = sregsOf(vcpu);
    const Disassembler disassembler = Disassembler::forState(sregs, &symbols_);
    return disassembler.around(
        pcOf(vcpu), before, after,
        [this, &sregs](uint64_t at, void* out, size_t n) { return readLinear(sregs, at, out, n); });
}

} // namespace kvmscope::debug
