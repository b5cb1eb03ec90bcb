#pragma once
// The triple-fault autopsy's working parts (inspect/TripleFaultAutopsy.h), shared by its three
// files: TripleFaultAutopsy.cpp (the run, the processor's own accesses, the report),
// TripleFaultFirstException.cpp (the exception the instruction at RIP raises) and
// TripleFaultDelivery.cpp (delivering an event through the IDT, SDM vol. 3A 6.12).
#include "inspect/DescriptorTables.h"
#include "inspect/TripleFaultAutopsy.h"

#include <Zydis/Zydis.h>
#include <array>
#include <fmt/format.h>
#include <optional>
#include <string>

namespace kvmscope::inspect::autopsy {

constexpr unsigned kVectorDivide = 0;
constexpr unsigned kVectorBreakpoint = 3;
constexpr unsigned kVectorOverflow = 4;
constexpr unsigned kVectorInvalidOpcode = 6;
constexpr unsigned kVectorDoubleFault = 8;
constexpr unsigned kVectorInvalidTss = 10;
constexpr unsigned kVectorNotPresent = 11;
constexpr unsigned kVectorStack = 12;
constexpr unsigned kVectorGeneralProtection = 13;
constexpr unsigned kVectorPageFault = 14;

// Error code bits (SDM vol. 3A 6.13): EXT, the event was external to the program (an exception
// or interrupt being delivered, not INT n); IDT, the index names an IDT gate.
constexpr uint32_t kErrorExt = 1u << 0;
constexpr uint32_t kErrorIdt = 1u << 1;
// #PF error code bits (SDM vol. 3A 4.7).
constexpr uint32_t kPfPresent = 1u << 0;
constexpr uint32_t kPfWrite = 1u << 1;
constexpr uint32_t kPfUser = 1u << 2;
constexpr uint32_t kPfFetch = 1u << 4;

constexpr uint64_t kCr0Wp = 1ull << 16;
constexpr uint64_t kCr4Smep = 1ull << 20;
constexpr uint64_t kEferNxe = 1ull << 11;
constexpr uint64_t kRflagsOf = 1ull << 11;
constexpr uint64_t kRflagsVm = 1ull << 17;

constexpr size_t kMaxSteps = 24;

// GCC's 128-bit integers, for a divide's double-width dividend.
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 Uint128;

inline const char* mnemonicOf(unsigned vector) {
    static constexpr std::array<const char*, 22> names{
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO", "#TS",
        "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE",  "#CP"};
    return vector < names.size() ? names[vector] : "INT";
}

// SDM vol. 3A, table 6-4.
enum class ExceptionClass { Benign, Contributory, PageFault, DoubleFault };
inline ExceptionClass classOf(unsigned vector) {
    switch (vector) {
    case 0:
    case 10:
    case 11:
    case 12:
    case 13:
        return ExceptionClass::Contributory;
    case 14:
    case 20: // #VE counts with page faults
        return ExceptionClass::PageFault;
    case 8:
        return ExceptionClass::DoubleFault;
    default:
        return ExceptionClass::Benign;
    }
}
inline const char* toString(ExceptionClass c) {
    switch (c) {
    case ExceptionClass::Benign:
        return "benign";
    case ExceptionClass::Contributory:
        return "contributory";
    case ExceptionClass::PageFault:
        return "page fault";
    case ExceptionClass::DoubleFault:
        return "double fault";
    }
    return "?";
}

// One event to deliver, or that a delivery raised.
struct Event {
    unsigned vector = 0;
    std::optional<uint32_t> errorCode;
    std::optional<uint64_t> cr2;
    bool software = false; // INT n, INT3, INTO: the gate's DPL is checked, EXT is 0
    bool realMode = false; // no error code is pushed in real mode

    std::string name() const {
        std::string text = vector < 32 ? mnemonicOf(vector) : fmt::format("INT {:#x}", vector);
        if (vector < 32 && (vector >= 22 || vector == 15))
            text = fmt::format("exception {}", vector);
        if (errorCode && !realMode)
            text += fmt::format("({:#x})", *errorCode);
        if (cr2)
            text += fmt::format(" at {:#x}", *cr2);
        return text;
    }
};

inline Event fault(unsigned vector, std::optional<uint32_t> errorCode = std::nullopt) {
    Event event;
    event.vector = vector;
    event.errorCode = errorCode;
    return event;
}

// What trying something gives: nothing (it works), an exception, or nothing kvmscope can tell.
struct Outcome {
    enum class Kind { Fine, Raises, Unknown } kind = Kind::Fine;
    Event event;
    std::string why;
    static Outcome fine() { return {}; }
    static Outcome raises(Event event, std::string why) {
        return {Kind::Raises, std::move(event), std::move(why)};
    }
    static Outcome unknown(std::string why) { return {Kind::Unknown, {}, std::move(why)}; }
};

inline bool canonical(uint64_t address) {
    const int64_t extended = static_cast<int64_t>(address << 16) >> 16;
    return static_cast<uint64_t>(extended) == address;
}

class Autopsy {
public:
    Autopsy(const FaultState& state, const GuestView& memory) : state_(state), memory_(memory) {
        at_.cpu.regs = state.regs;
        at_.cpu.sregs = state.sregs;
        at_.pc = cpu::linearPc(state.regs, state.sregs);
        mode_ = tableModeOf(state.sregs);
        certainty_ = state.source == FaultState::Source::AtShutdown ? Certainty::Observed
                                                                    : Certainty::Inferred;
        // CPL is CS.RPL (SDM vol. 3A 5.5).
        cpl_ = mode_ == TableMode::Real ? 0 : (state.sregs.cs.selector & 3);
    }

    TripleFaultAutopsy run();

private:
    void step(std::string text) { result_.steps.push_back({certainty_, std::move(text)}); }
    void guess(std::string text) {
        result_.steps.push_back({Certainty::Inferred, std::move(text)});
    }
    std::optional<Event> firstException();
    Outcome fetchAt(uint64_t linear, uint64_t offset, unsigned cpl, const char* what);
    Outcome instructionFaults(uint64_t linear, const uint8_t* bytes, size_t length);
    Outcome memoryOperand(const ZydisDecodedInstruction& instruction,
                          const ZydisDecodedOperand& operand, uint64_t offset);
    Outcome divide(const ZydisDecodedInstruction& instruction, const ZydisDecodedOperand* operands,
                   uint64_t offset);
    // A supervisor access to `linear` by the processor itself (tables, TSS, stack): #PF when
    // the page is not mapped (or not writable for a write with CR0.WP), unknown when not RAM.
    Outcome systemAccess(uint64_t linear, size_t length, bool write, void* destination,
                         const std::string& what);
    Outcome deliver(const Event& event);
    Outcome deliverReal(const Event& event);
    Outcome readDescriptor(uint16_t selector, const Event& event, SegmentDescriptor& out,
                           const char* what, unsigned errorVector);
    // The frame's highest and lowest bytes, written by the processor as a supervisor.
    Outcome pushFrame(uint64_t highest, uint64_t lowest, const std::string& stackName);

    uint32_t ext(const Event& event) const { return event.software ? 0 : kErrorExt; }
    uint32_t pfUser() const { return cpl_ == 3 ? kPfUser : 0; }

    const FaultState& state_;
    const GuestView& memory_;
    VcpuSnapshot at_;
    TableMode mode_;
    Certainty certainty_;
    unsigned cpl_ = 0;
    uint64_t handler_ = 0; // where the last successful delivery went
    unsigned handlerCpl_ = 0;
    bool handlerKnown_ = false;
    TripleFaultAutopsy result_;
};

} // namespace kvmscope::inspect::autopsy
