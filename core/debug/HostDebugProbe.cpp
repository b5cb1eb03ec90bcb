#include "debug/HostDebugProbe.h"

#include "common/Error.h"
#include "cpu/X86Bits.h"
#include "kvm/System.h"
#include "kvm/Vcpu.h"
#include "kvm/Vm.h"
#include "log/Log.h"
#include "trace/ExitRecord.h"

#include <asm/debugreg.h>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <span>
#include <sys/mman.h>
#include <vector>

namespace kvmscope::debug {
namespace {

// A 64 KiB guest: code at 0x1000, the watched dword at 0x2000, the rest hlt.
constexpr uint64_t kProbeMemory = 0x10000;
constexpr uint64_t kProbeCode = 0x1000;
constexpr uint64_t kProbeData = 0x2000;
constexpr uint64_t kProbeTss = 0xfffbd000; // outside the probe's RAM (api.rst 4.48)

constexpr uint8_t kInt3 = 0xCC;
constexpr uint8_t kNop = 0x90;
constexpr uint8_t kHlt = 0xF4;
constexpr uint8_t kOutImm8Al = 0xE6;   // out imm8, al
constexpr uint8_t kEndPort = 0x80;     // POST port: the ring-3 probes' end marker
constexpr uint8_t kMovMoffsEax = 0xA3; // mov [moffs32], eax
constexpr uint8_t kMovEaxMoffs = 0xA1; // mov eax, [moffs32]

constexpr uint32_t kExceptionDebug = 1;      // #DB
constexpr uint32_t kExceptionBreakpoint = 3; // #BP

// More KVM_RUNs than any probe needs (two steps and the end), and a bound on signal retries: a
// probe ends whatever the host does.
constexpr unsigned kMaxRuns = 4;
constexpr unsigned kMaxInterruptedRuns = 16;

struct ProbeGuest {
    std::vector<uint8_t> code; // at kProbeCode; the end marker is appended
    bool ring3 = false;
    bool endMarker = true;
    kvm_guest_debug debug{};
    unsigned runs = 1; // KVM_RUNs while every exit is KVM_EXIT_DEBUG
    uint64_t cr4 = 0;
    uint32_t data = 0; // the dword at kProbeData
};

struct ProbeExit {
    uint32_t reason = 0;
    kvm_debug_exit_arch debug{};
};

struct ProbeRun {
    std::vector<ProbeExit> exits;
    std::string error; // the probe itself failed (no VM, an ioctl refused)
};

kvm_segment flatSegment(uint16_t selector, uint8_t type, uint8_t dpl) {
    kvm_segment segment{};
    segment.base = 0;
    segment.limit = 0xFFFFFFFF;
    segment.selector = selector;
    segment.type = type;
    segment.present = 1;
    segment.dpl = dpl;
    segment.s = 1;
    segment.db = 1;
    segment.g = 1;
    return segment;
}

ProbeRun runProbe(const kvm::System& system, const ProbeGuest& guest) {
    ProbeRun result;
    try {
        std::vector<uint8_t> code = guest.code;
        if (guest.endMarker && guest.ring3) { // hlt would #GP in ring 3: a port write instead
            code.push_back(kOutImm8Al);
            code.push_back(kEndPort);
        } else if (guest.endMarker) {
            code.push_back(kHlt);
        }
        kvm::Vm vm = system.createVm();
        void* host = mmap(nullptr, kProbeMemory, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (host == MAP_FAILED)
            throw Error(fmt::format("mmap of the probe's {} bytes failed: {}", kProbeMemory,
                                    std::strerror(errno)));
        struct Unmap {
            void* p;
            ~Unmap() { munmap(p, kProbeMemory); }
        } unmap{host};
        std::memset(host, kHlt, kProbeMemory); // a stray jump ends at a hlt
        std::memcpy(static_cast<uint8_t*>(host) + kProbeCode, code.data(), code.size());
        std::memcpy(static_cast<uint8_t*>(host) + kProbeData, &guest.data, sizeof guest.data);
        vm.setTssAddress(kProbeTss);
        vm.setMemoryRegion(0, 0, kProbeMemory, host);
        kvm::Vcpu vcpu = vm.createVcpu(0);
        // Flat 32-bit segments set directly through KVM_SET_SREGS: no GDT is needed for the
        // hidden parts to be used (SDM vol. 3A 3.4.3), and the CPL is CS's (and SS's) DPL as
        // loaded. The empty IDT turns any exception delivered to the guest into a shutdown.
        const uint8_t dpl = guest.ring3 ? 3 : 0;
        kvm_sregs sregs = vcpu.sregs();
        sregs.cs = flatSegment(static_cast<uint16_t>(0x08 | dpl), 0xB, dpl); // execute/read
        const kvm_segment data = flatSegment(static_cast<uint16_t>(0x10 | dpl), 0x3, dpl);
        sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
        sregs.idt.base = 0;
        sregs.idt.limit = 0;
        sregs.cr0 = 0x11; // PE, ET
        sregs.cr4 = guest.cr4;
        sregs.efer = 0;
        vcpu.setSregs(sregs);
        kvm_regs regs{};
        regs.rip = kProbeCode;
        // IOPL 3 lets the ring-3 probes use `out` (SDM vol. 1 18.5.1).
        regs.rflags = X86_EFLAGS_FIXED | (guest.ring3 ? X86_EFLAGS_IOPL : 0);
        regs.rsp = kProbeMemory - 0x10;
        vcpu.setRegs(regs);
        vcpu.setGuestDebug(guest.debug);
        for (unsigned run = 0; run < std::min(guest.runs, kMaxRuns); ++run) {
            int rc = vcpu.run();
            for (unsigned retry = 0; rc == -EINTR && retry < kMaxInterruptedRuns; ++retry)
                rc = vcpu.run();
            if (rc == -EINTR)
                throw Error("KVM_RUN of the probe was interrupted again and again");
            ProbeExit exit;
            exit.reason = vcpu.runState()->exit_reason;
            if (exit.reason == KVM_EXIT_DEBUG)
                exit.debug = vcpu.runState()->debug.arch;
            result.exits.push_back(exit);
            if (exit.reason != KVM_EXIT_DEBUG)
                break;
        }
    } catch (const std::exception& error) {
        result.error = error.what();
    }
    return result;
}

std::string describeExit(const ProbeExit& exit) {
    std::string text = fmt::format("KVM_EXIT_{}", trace::exitReasonName(exit.reason));
    if (exit.reason != KVM_EXIT_DEBUG)
        return text;
    if (exit.debug.exception == kExceptionBreakpoint)
        return text + fmt::format(" (#BP at {:#x})", exit.debug.pc);
    return text + fmt::format(" (exception {}, DR6 {:#x}, pc {:#x})", exit.debug.exception,
                              exit.debug.dr6, exit.debug.pc);
}

// "what ... gave EXIT, EXIT": every exit the probe saw, in order.
ProbeFinding finding(const std::string& what, const ProbeRun& run, bool works) {
    ProbeFinding result;
    if (!run.error.empty()) {
        result.detail = what + ": the probe failed: " + run.error;
        return result;
    }
    std::string exits;
    for (const ProbeExit& exit : run.exits)
        exits += (exits.empty() ? "" : ", then ") + describeExit(exit);
    result.works = works;
    result.detail = what + " gave " + exits;
    return result;
}

const char* ringName(bool ring3) {
    return ring3 ? "ring 3" : "ring 0";
}

bool isDebugExit(const ProbeRun& run, size_t index, uint32_t exception) {
    return run.error.empty() && run.exits.size() > index &&
           run.exits[index].reason == KVM_EXIT_DEBUG &&
           run.exits[index].debug.exception == exception;
}

ProbeFinding probeInt3(const kvm::System& system, bool ring3) {
    ProbeGuest guest;
    guest.code = {kInt3};
    guest.ring3 = ring3;
    guest.debug.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP;
    const ProbeRun run = runProbe(system, guest);
    const bool works =
        isDebugExit(run, 0, kExceptionBreakpoint) && run.exits[0].debug.pc == kProbeCode;
    return finding(fmt::format("int3 in {}", ringName(ring3)), run, works);
}

ProbeFinding probeExecutionBreakpoint(const kvm::System& system, bool ring3) {
    // DR0 on the second nop: a fault, reported with pc at that nop.
    ProbeGuest guest;
    guest.code = {kNop, kNop};
    guest.ring3 = ring3;
    guest.debug.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
    guest.debug.arch.debugreg[0] = kProbeCode + 1;
    guest.debug.arch.debugreg[7] =
        DR_GLOBAL_ENABLE | DR_GLOBAL_SLOWDOWN | x86::kDr7Reserved1; // R/W0 = LEN0 = 0
    const ProbeRun run = runProbe(system, guest);
    const bool works = isDebugExit(run, 0, kExceptionDebug) &&
                       (run.exits[0].debug.dr6 & DR_TRAP0) &&
                       run.exits[0].debug.pc == kProbeCode + 1;
    return finding(fmt::format("a DR0 execution breakpoint in {}", ringName(ring3)), run, works);
}

ProbeFinding probeWatchpoint(const kvm::System& system, bool readWrite) {
    // Ring 0: a store (write watchpoint) or a load (read/write watchpoint) of the dword at
    // kProbeData, with DR0 watching it for 4 bytes.
    ProbeGuest guest;
    guest.code = {readWrite ? kMovEaxMoffs : kMovMoffsEax, static_cast<uint8_t>(kProbeData),
                  static_cast<uint8_t>(kProbeData >> 8), static_cast<uint8_t>(kProbeData >> 16),
                  static_cast<uint8_t>(kProbeData >> 24)};
    guest.debug.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
    guest.debug.arch.debugreg[0] = kProbeData;
    guest.debug.arch.debugreg[7] =
        DR_GLOBAL_ENABLE | DR_GLOBAL_SLOWDOWN | x86::kDr7Reserved1 |
        (static_cast<uint64_t>((readWrite ? DR_RW_READ : DR_RW_WRITE) | DR_LEN_4)
         << DR_CONTROL_SHIFT);
    const ProbeRun run = runProbe(system, guest);
    const bool works = isDebugExit(run, 0, kExceptionDebug) && (run.exits[0].debug.dr6 & DR_TRAP0);
    return finding(readWrite ? "a DR0 read/write watchpoint on a ring-0 load"
                             : "a DR0 write watchpoint on a ring-0 store",
                   run, works);
}

ProbeFinding probeSingleStep(const kvm::System& system, bool ring3) {
    // Two nops: a step trap after each, at the next one.
    ProbeGuest guest;
    guest.code = {kNop, kNop};
    guest.ring3 = ring3;
    guest.debug.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
    guest.runs = 2;
    const ProbeRun run = runProbe(system, guest);
    bool works = true;
    for (size_t i = 0; i < 2; ++i)
        works = works && isDebugExit(run, i, kExceptionDebug) &&
                (run.exits[i].debug.dr6 & DR_STEP) && run.exits[i].debug.pc == kProbeCode + 1 + i;
    return finding(fmt::format("single-stepping two nops in {}", ringName(ring3)), run, works);
}

} // namespace

ProbeFinding probeRing3Privilege(const kvm::System& system) {
    ProbeGuest guest;
    guest.code = {kHlt};
    guest.ring3 = true;
    guest.endMarker = false;
    const ProbeRun run = runProbe(system, guest);
    const bool works =
        run.error.empty() && !run.exits.empty() && run.exits[0].reason == KVM_EXIT_SHUTDOWN;
    return finding("hlt in the ring-3 probe guest", run, works);
}

ProbeFinding probeLdmxcsrReservedBitFault(const kvm::System& system) {
    // ldmxcsr [kProbeData] (0F AE /2, ModRM 0x15: disp32) with CR4.OSFXSR set, so that SSE state
    // instructions do not raise #UD. With a valid MXCSR (0x1F80, its reset value) the guest must
    // reach its hlt; with bit 16 set, which is reserved, it must take #GP(0) (SDM vol. 2B,
    // LDMXCSR), here a shutdown through the empty IDT.
    constexpr uint32_t kMxcsrDefault = 0x1F80;
    constexpr uint32_t kMxcsrReservedBit = 1u << 16;
    ProbeGuest guest;
    guest.code = {0x0F,
                  0xAE,
                  0x15,
                  static_cast<uint8_t>(kProbeData),
                  static_cast<uint8_t>(kProbeData >> 8),
                  static_cast<uint8_t>(kProbeData >> 16),
                  static_cast<uint8_t>(kProbeData >> 24)};
    guest.cr4 = X86_CR4_OSFXSR;
    guest.data = kMxcsrDefault;
    const ProbeRun valid = runProbe(system, guest);
    if (!valid.error.empty() || valid.exits.empty() || valid.exits[0].reason != KVM_EXIT_HLT)
        return finding("ldmxcsr of the default MXCSR 0x1f80 in ring 0", valid, false);
    guest.data = kMxcsrDefault | kMxcsrReservedBit;
    const ProbeRun reserved = runProbe(system, guest);
    const bool faulted = reserved.error.empty() && !reserved.exits.empty() &&
                         reserved.exits[0].reason == KVM_EXIT_SHUTDOWN;
    return finding("ldmxcsr of 0x11f80 (reserved bit 16) in ring 0", reserved, faulted);
}

HostDebugSupport probeHostDebugSupport(const kvm::System& system) {
    HostDebugSupport support;
    support.int3Ring0 = probeInt3(system, false);
    support.int3Ring3 = probeInt3(system, true);
    support.executionRing0 = probeExecutionBreakpoint(system, false);
    support.executionRing3 = probeExecutionBreakpoint(system, true);
    support.writeWatch = probeWatchpoint(system, false);
    support.readWriteWatch = probeWatchpoint(system, true);
    support.stepRing0 = probeSingleStep(system, false);
    support.stepRing3 = probeSingleStep(system, true);
    // One line for the whole table, what each probe guest did below it.
    auto logger = log::get("debug");
    std::string summary;
    for (const auto& entry : HostDebugSupport::entries()) {
        const ProbeFinding& f = support.*entry.finding;
        summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", entry.name,
                               f.works ? "works" : "no");
        logger->debug("host probe: {}", f.detail);
    }
    logger->info("host probe: {}", summary);
    return support;
}

const HostDebugSupport& hostDebugSupport(const kvm::System& system) {
    static const HostDebugSupport support = probeHostDebugSupport(system);
    return support;
}

} // namespace kvmscope::debug
