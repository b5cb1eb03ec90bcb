#include "inspect/TripleFaultAutopsyParts.h"
#include "trace/ExitRecord.h"

#include <set>
#include <utility>

namespace kvmscope::inspect {
namespace autopsy {

Outcome Autopsy::systemAccess(uint64_t linear, size_t length, bool write, void* destination,
                              const std::string& what) {
    const uint64_t pages[2] = {linear, linear + length - 1};
    for (uint64_t address : pages) {
        const debug::Translation t = memory_.translate(at_, address);
        if (!t.valid) {
            Event pf = fault(kVectorPageFault, write ? kPfWrite : 0);
            pf.cr2 = address;
            return Outcome::raises(
                pf, fmt::format("{} at {:#x} is not mapped ({})", what, address, t.fault));
        }
        // Supervisor writes to a read-only page fault only with CR0.WP (SDM vol. 3A 4.6.1).
        if (write && !t.writable && (state_.sregs.cr0 & kCr0Wp)) {
            Event pf = fault(kVectorPageFault, kPfPresent | kPfWrite);
            pf.cr2 = address;
            return Outcome::raises(pf, fmt::format("{} at {:#x} is read-only", what, address));
        }
    }
    if (destination && memory_.readLinear(at_, linear, destination, length) != length)
        return Outcome::unknown(
            fmt::format("{} at {:#x} is mapped but not in guest RAM", what, linear));
    return Outcome::fine();
}

Outcome Autopsy::fetchAt(uint64_t linear, uint64_t offset, unsigned cpl, const char* what) {
    if (mode_ == TableMode::Long && state_.sregs.cs.l) {
        if (!canonical(linear))
            return Outcome::raises(fault(kVectorGeneralProtection, 0),
                                   fmt::format("{} {:#x} is not canonical", what, linear));
    } else if (mode_ != TableMode::Real && offset > state_.sregs.cs.limit) {
        return Outcome::raises(fault(kVectorGeneralProtection, 0),
                               fmt::format("{} {:#x} lies beyond the CS limit {:#x}", what, offset,
                                           state_.sregs.cs.limit));
    }
    const debug::Translation t = memory_.translate(at_, linear);
    // The I/D bit is reported where execute-disable or SMEP exist (SDM vol. 3A 4.7).
    const bool reportsFetch =
        (state_.sregs.cr4 & kCr4Smep) ||
        ((state_.sregs.efer & kEferNxe) &&
         (t.mode == debug::PagingMode::Pae || t.mode == debug::PagingMode::Level4 ||
          t.mode == debug::PagingMode::Level5));
    const uint32_t fetchBit = reportsFetch ? kPfFetch : 0;
    const uint32_t user = cpl == 3 ? kPfUser : 0;
    if (!t.valid) {
        Event pf = fault(kVectorPageFault, fetchBit | user);
        pf.cr2 = linear;
        return Outcome::raises(pf,
                               fmt::format("{} {:#x} is not mapped ({})", what, linear, t.fault));
    }
    if (!t.executable) {
        Event pf = fault(kVectorPageFault, kPfPresent | fetchBit | user);
        pf.cr2 = linear;
        return Outcome::raises(pf,
                               fmt::format("{} {:#x} is on an execute-disable page", what, linear));
    }
    if (cpl == 3 && !t.user) {
        Event pf = fault(kVectorPageFault, kPfPresent | fetchBit | kPfUser);
        pf.cr2 = linear;
        return Outcome::raises(
            pf, fmt::format("{} {:#x} is a supervisor page, fetched at CPL 3", what, linear));
    }
    return Outcome::fine();
}

TripleFaultAutopsy Autopsy::run() {
    if (state_.source == FaultState::Source::AtShutdown) {
        result_.basis = fmt::format(
            "KVM's state at the shutdown (not reset): RIP {:#x} is the faulting instruction's",
            at_.pc);
    } else {
        result_.basis = fmt::format(
            "the registers at the last exit before the shutdown ({}, RIP {:#x}): KVM reset the "
            "vcpu, so the first exception is inferred from the instruction after that exit and "
            "the system state then (descriptor tables and page tables as they are in memory "
            "now), not seen",
            trace::exitReasonName(state_.lastExitReason), at_.pc);
    }
    if (state_.events && state_.source == FaultState::Source::AtShutdown) {
        const kvm_vcpu_events& e = *state_.events;
        if (e.exception.injected || e.exception.pending)
            step(fmt::format("KVM still holds exception {} ({}{}) {}", e.exception.nr,
                             mnemonicOf(e.exception.nr),
                             e.exception.has_error_code
                                 ? fmt::format(", error code {:#x}", e.exception.error_code)
                                 : std::string(),
                             e.exception.injected ? "injected" : "pending"));
        // Only with KVM_CAP_X86_TRIPLE_FAULT_EVENT enabled, and then for a triple fault not yet
        // turned into the shutdown (api.rst 4.31): named where KVM reports one.
        if ((e.flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT) && e.triple_fault.pending)
            step("KVM reports a triple fault pending (KVM_VCPUEVENT_VALID_TRIPLE_FAULT)");
    }
    std::optional<Event> current = firstException();
    if (current && mode_ == TableMode::Real)
        current->realMode = true; // real mode pushes no error codes
    if (current)
        result_.chain.push_back(current->name());
    if (!current) {
        // Without the first exception, the one thing left to check is the end of every chain:
        // can #DF be delivered at all?
        guess("whatever the first exception was, one whose delivery failed ended in #DF; "
              "checking whether #DF itself can be delivered");
        Event df = fault(kVectorDoubleFault, 0);
        df.realMode = mode_ == TableMode::Real;
        const Outcome outcome = deliver(df);
        if (outcome.kind == Outcome::Kind::Raises &&
            classOf(outcome.event.vector) != ExceptionClass::Benign) {
            guess(fmt::format("#DF: {} → {}, during #DF: triple fault (shutdown)", outcome.why,
                              outcome.event.name()));
            result_.chain = {"?", "#DF", "triple fault"};
            result_.reachesShutdown = true;
        } else if (outcome.kind == Outcome::Kind::Unknown) {
            guess(fmt::format("#DF: {}", outcome.why));
        } else {
            guess(fmt::format("#DF could be delivered (its handler is at {:#x}): the chain cannot "
                              "be told from this state",
                              handler_));
        }
    }
    std::set<std::pair<unsigned, uint64_t>> handlerFetchFaults;
    while (current && result_.steps.size() < kMaxSteps) {
        const Event event = *current;
        current.reset();
        const Outcome outcome = deliver(event);
        if (outcome.kind == Outcome::Kind::Unknown) {
            step(fmt::format("delivering {}: {}: the chain ends here", event.name(), outcome.why));
            break;
        }
        if (outcome.kind == Outcome::Kind::Fine) {
            // Delivered: the handler's first fetch is the handler's own, a new exception if it
            // faults (not one during delivery, SDM vol. 3A 6.15, interrupt 8).
            // The code segment's limit was checked above: only the paging part matters here.
            const Outcome fetch = handlerKnown_ && mode_ != TableMode::Real
                                      ? fetchAt(handler_, 0, handlerCpl_, "the handler's address")
                                      : Outcome::fine();
            if (fetch.kind == Outcome::Kind::Raises) {
                if (!handlerFetchFaults.insert({event.vector, handler_}).second) {
                    step(fmt::format("{} is delivered again to the same unmapped handler at "
                                     "{:#x}: each round pushes another frame until the stack "
                                     "runs out; kvmscope does not follow it further",
                                     event.name(), handler_));
                    break;
                }
                step(fmt::format("{} is delivered to its handler at {:#x}, but {} → {} on "
                                 "fetching its first instruction (a new exception, not one "
                                 "during delivery)",
                                 event.name(), handler_, fetch.why, fetch.event.name()));
                current = fetch.event;
                result_.chain.push_back(current->name());
                continue;
            }
            step(fmt::format("{} can be delivered: its handler is at {:#x}. The reconstruction "
                             "does not end in a triple fault: the shutdown came from something "
                             "this state does not show",
                             event.name(), handler_));
            break;
        }
        const Event& second = outcome.event;
        const ExceptionClass first = classOf(event.vector);
        const ExceptionClass next = classOf(second.vector);
        if (first == ExceptionClass::DoubleFault &&
            (next == ExceptionClass::Contributory || next == ExceptionClass::PageFault)) {
            step(fmt::format("delivering #DF: {} → {}; a {} exception while delivering #DF is a "
                             "triple fault: the processor shuts down (SDM vol. 3A 6.15, "
                             "interrupt 8)",
                             outcome.why, second.name(), toString(next)));
            result_.chain.push_back(second.name());
            result_.chain.push_back("triple fault");
            result_.reachesShutdown = true;
            break;
        }
        const bool doubleFault =
            (first == ExceptionClass::Contributory && next == ExceptionClass::Contributory) ||
            (first == ExceptionClass::PageFault && next != ExceptionClass::Benign);
        if (doubleFault) {
            Event df = fault(kVectorDoubleFault, 0);
            df.realMode = mode_ == TableMode::Real;
            step(fmt::format("delivering {}: {} → {}; {} then {} is a double fault (table 6-5) "
                             "→ {}",
                             event.name(), outcome.why, second.name(), toString(first),
                             toString(next), df.name()));
            result_.chain.push_back(second.name());
            current = df;
            result_.chain.push_back(df.name());
        } else {
            step(fmt::format("delivering {}: {} → {}; {} then {}: the processor delivers {} on "
                             "its own (table 6-5)",
                             event.name(), outcome.why, second.name(), toString(first),
                             toString(next), second.name()));
            current = second;
            result_.chain.push_back(second.name());
        }
    }
    if (current)
        step("the chain goes on longer than kvmscope follows it");

    std::string chain;
    for (const std::string& link : result_.chain)
        chain += (chain.empty() ? "" : " → ") + link;
    const char* how = certainty_ == Certainty::Observed ? "observed at the fault"
                                                        : "inferred from the last exit's state";
    if (!result_.chain.empty() && result_.chain.front() == "?")
        how = certainty_ == Certainty::Observed
                  ? "the first exception unknown, the rest inferred from the state at the fault"
                  : "the first exception unknown, the rest inferred from the last exit's state";
    if (result_.reachesShutdown)
        result_.summary = fmt::format("{} ({})", chain, how);
    else
        result_.summary = fmt::format("no complete chain to the triple fault could be "
                                      "reconstructed{}{} ({})",
                                      chain.empty() ? "" : ": ", chain, how);
    return result_;
}

} // namespace autopsy

const char* toString(Certainty certainty) {
    return certainty == Certainty::Observed ? "observed" : "inferred";
}

TripleFaultAutopsy reconstructTripleFault(const FaultState& state, const GuestView& memory) {
    return autopsy::Autopsy(state, memory).run();
}

std::string formatAutopsy(const TripleFaultAutopsy& autopsy) {
    std::string text =
        fmt::format("Triple-fault autopsy: {}\n  from {}\n", autopsy.summary, autopsy.basis);
    for (size_t i = 0; i < autopsy.steps.size(); ++i)
        text += fmt::format("  {}. [{}] {}\n", i + 1, toString(autopsy.steps[i].certainty),
                            autopsy.steps[i].text);
    return text;
}

} // namespace kvmscope::inspect