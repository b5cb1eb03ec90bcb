#include "debug/BreakpointTable.h"

#include "common/Error.h"
#include "cpu/X86Bits.h"

#include <algorithm>
#include <array>
#include <asm/debugreg.h>
#include <fmt/format.h>
#include <utility>

namespace kvmscope::debug {
namespace {

uint64_t dr7Length(unsigned length) { // LENn for a data breakpoint of `length` bytes
    switch (length) {
    case 2:
        return DR_LEN_2;
    case 4:
        return DR_LEN_4;
    case 8:
        return DR_LEN_8;
    default:
        return DR_LEN_1;
    }
}

// R/Wn and LENn for one slot, and its global enable Gn.
uint64_t dr7Bits(const Breakpoint& breakpoint) {
    const auto slot = static_cast<unsigned>(breakpoint.slot);
    const uint64_t condition = breakpoint.kind == BreakpointKind::WriteWatch
                                   ? DR_RW_WRITE | dr7Length(breakpoint.length)
                               : breakpoint.kind == BreakpointKind::ReadWriteWatch
                                   ? DR_RW_READ | dr7Length(breakpoint.length)
                                   : DR_RW_EXECUTE | DR_LEN_1;
    return (uint64_t{DR_GLOBAL_ENABLE} << (slot * DR_ENABLE_SIZE)) |
           (condition << (DR_CONTROL_SHIFT + slot * DR_CONTROL_SIZE));
}

constexpr uint32_t kExceptionDebug = 1;      // #DB
constexpr uint32_t kExceptionBreakpoint = 3; // #BP

} // namespace

std::string Breakpoint::describe() const {
    std::string text = fmt::format("{} {} at {:#x}", toString(kind), id, address);
    if (isWatchpoint())
        text += fmt::format(" ({} bytes)", length);
    text += fmt::format(" via {}", toString(mechanism));
    if (mechanism == BreakMechanism::DebugRegister && slot >= 0)
        text += fmt::format(" DR{}", slot);
    if (!enabled)
        text += " (disabled)";
    return text;
}

MechanismChoice BreakpointTable::choose(BreakpointKind kind, bool temporary,
                                        const HostDebugSupport& host) const {
    return chooseMechanism(kind, temporary, host, freeDebugRegisters());
}

int BreakpointTable::add(Breakpoint breakpoint) {
    breakpoint.slot = -1;
    if (breakpoint.mechanism == BreakMechanism::DebugRegister && breakpoint.enabled) {
        breakpoint.slot = freeSlot();
        if (breakpoint.slot < 0)
            throw InputError(fmt::format("cannot set a {} at {:#x}: no free debug register "
                                         "(DR0-DR3 are taken)",
                                         toString(breakpoint.kind), breakpoint.address));
    }
    breakpoint.id = nextId_++;
    breakpoint.hits = 0;
    breakpoints_.push_back(std::move(breakpoint));
    return breakpoints_.back().id;
}

std::optional<Breakpoint> BreakpointTable::remove(int id) {
    const auto it = std::find_if(breakpoints_.begin(), breakpoints_.end(),
                                 [id](const Breakpoint& b) { return b.id == id; });
    if (it == breakpoints_.end())
        return std::nullopt;
    Breakpoint removed = std::move(*it);
    breakpoints_.erase(it);
    return removed;
}

std::vector<Breakpoint> BreakpointTable::dropTemporaries() {
    std::vector<Breakpoint> dropped;
    std::erase_if(breakpoints_, [&dropped](const Breakpoint& b) {
        if (b.temporary)
            dropped.push_back(b);
        return b.temporary;
    });
    return dropped;
}

std::optional<Breakpoint> BreakpointTable::disable(int id) {
    Breakpoint* breakpoint = findMutable(id);
    if (!breakpoint || !breakpoint->enabled)
        return std::nullopt;
    Breakpoint armed = *breakpoint;
    // Disarmed, not forgotten: its debug register is free for another breakpoint, and
    // guestDebug() leaves it out of DR7 and of the stepping-check list.
    breakpoint->slot = -1;
    breakpoint->enabled = false;
    return armed;
}

void BreakpointTable::enable(int id) {
    Breakpoint* breakpoint = findMutable(id);
    if (!breakpoint || breakpoint->enabled)
        return;
    if (breakpoint->mechanism == BreakMechanism::DebugRegister) {
        // The same mechanism in any free slot: its old one may have been given away meanwhile.
        const int slot = freeSlot();
        if (slot < 0)
            throw InputError(fmt::format("cannot enable {}: no free debug register (DR0-DR3 are "
                                         "taken)",
                                         breakpoint->describe()));
        breakpoint->slot = slot;
    } else if (breakpoint->mechanism == BreakMechanism::Int3) {
        throw Error(
            fmt::format("{} needs its int3 patched in to be enabled", breakpoint->describe()));
    }
    breakpoint->enabled = true;
}

void BreakpointTable::enableInt3(int id, const Int3Patch& patch) {
    Breakpoint* breakpoint = findMutable(id);
    if (!breakpoint || breakpoint->enabled || breakpoint->mechanism != BreakMechanism::Int3)
        return;
    breakpoint->physical = patch.physical;
    breakpoint->originalByte = patch.originalByte;
    breakpoint->enabled = true;
}

const Breakpoint* BreakpointTable::find(int id) const {
    const auto it = std::find_if(breakpoints_.begin(), breakpoints_.end(),
                                 [id](const Breakpoint& b) { return b.id == id; });
    return it == breakpoints_.end() ? nullptr : &*it;
}

Breakpoint* BreakpointTable::findMutable(int id) {
    return const_cast<Breakpoint*>(std::as_const(*this).find(id));
}

int BreakpointTable::freeSlot() const {
    std::array<bool, kDebugRegisterSlots> used{};
    for (const Breakpoint& b : breakpoints_)
        if (b.slot >= 0)
            used[static_cast<size_t>(b.slot)] = true;
    for (unsigned i = 0; i < kDebugRegisterSlots; ++i)
        if (!used[i])
            return static_cast<int>(i);
    return -1;
}

unsigned BreakpointTable::freeDebugRegisters() const {
    const auto used = static_cast<unsigned>(std::count_if(
        breakpoints_.begin(), breakpoints_.end(), [](const Breakpoint& b) { return b.slot >= 0; }));
    return kDebugRegisterSlots - std::min(used, kDebugRegisterSlots);
}

bool BreakpointTable::hasTemporaries() const {
    return std::any_of(breakpoints_.begin(), breakpoints_.end(),
                       [](const Breakpoint& b) { return b.temporary; });
}

const Breakpoint* BreakpointTable::executionAt(uint64_t linear) const {
    for (const Breakpoint& b : breakpoints_)
        if (b.address == linear && b.enabled && b.isExecution())
            return &b;
    return nullptr;
}

bool BreakpointTable::anyFiringExecution() const {
    return std::any_of(breakpoints_.begin(), breakpoints_.end(), [](const Breakpoint& b) {
        return b.enabled && b.isExecution() && b.mechanism != BreakMechanism::SteppingCheck;
    });
}

const Breakpoint* BreakpointTable::hitBy(const kvm_debug_exit_arch& exit) const {
    // KVM_EXIT_DEBUG (api.rst 5): exception 1 (#DB) with DR6 saying which condition, or 3 (#BP)
    // for an int3; pc is the linear address of the instruction that trapped or comes next.
    if (exit.exception == kExceptionBreakpoint) {
        for (const Breakpoint& b : breakpoints_)
            if (b.mechanism == BreakMechanism::Int3 && b.enabled && b.address == exit.pc)
                return &b;
        return nullptr;
    }
    if (exit.exception != kExceptionDebug)
        return nullptr;
    if (exit.dr6 & DR_TRAP_BITS)
        for (const Breakpoint& b : breakpoints_)
            if (b.slot >= 0 && (exit.dr6 & (uint64_t{DR_TRAP0} << b.slot)))
                return &b;
    // A step trap onto a stepping-check address. DR6 may carry B bits of slots that are not
    // ours (a host reports the guest's DR6 as it is), so this is looked at after them.
    if (exit.dr6 & DR_STEP)
        for (const Breakpoint& b : breakpoints_)
            if (b.mechanism == BreakMechanism::SteppingCheck && b.enabled && b.address == exit.pc)
                return &b;
    return nullptr;
}

void BreakpointTable::countHit(int id) {
    if (Breakpoint* breakpoint = findMutable(id))
        ++breakpoint->hits;
}

GuestDebugSettings BreakpointTable::guestDebug() const {
    // One kvm_guest_debug for every vcpu (api.rst 4.59 KVM_SET_GUEST_DEBUG): debugreg[0-3] the
    // slot addresses, debugreg[7] their enables (G bits), types and lengths.
    GuestDebugSettings settings;
    kvm_guest_debug& debug = settings.debug;
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
            settings.stepCheckAddresses.push_back(b.address);
            break;
        case BreakMechanism::DebugRegister:
            debug.arch.debugreg[static_cast<unsigned>(b.slot)] = b.address;
            dr7 |= dr7Bits(b);
            break;
        }
    }
    if (dr7 != 0) {
        debug.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
        // GE: exact data breakpoints, as the SDM recommends with them (18.2.4).
        debug.arch.debugreg[7] = dr7 | DR_GLOBAL_SLOWDOWN | x86::kDr7Reserved1;
    }
    if (int3)
        debug.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP;
    return settings;
}

void BreakpointTable::showOriginalBytes(uint64_t linear, std::span<uint8_t> bytes) const {
    for (const Breakpoint& b : breakpoints_)
        if (b.mechanism == BreakMechanism::Int3 && b.enabled && b.address >= linear &&
            b.address - linear < bytes.size())
            bytes[b.address - linear] = b.originalByte;
}

std::vector<uint64_t> BreakpointTable::absorbWrite(uint64_t physical,
                                                   std::span<const uint8_t> bytes) {
    // The edit goes to the byte the int3 saved, which is what showOriginalBytes shows and what
    // removing the breakpoint puts back; the 0xCC stays in guest memory.
    std::vector<uint64_t> repatch;
    for (Breakpoint& b : breakpoints_)
        if (b.mechanism == BreakMechanism::Int3 && b.enabled && b.physical >= physical &&
            b.physical - physical < bytes.size()) {
            b.originalByte = bytes[b.physical - physical];
            repatch.push_back(b.physical);
        }
    return repatch;
}

} // namespace kvmscope::debug
