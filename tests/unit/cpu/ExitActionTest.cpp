// What the vcpu thread does with each kind of exit, decided on kvm_run structures filled in by
// hand as KVM fills them (api.rst 5, "The kvm_run structure"), without /dev/kvm: the access to
// dispatch, a step that ends, the instruction to complete, or the stop with its description.
#include "cpu/ExitAction.h"

#include "debug/ExitBreakpoints.h"

#include <QTest>
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>

using namespace kvmscope::cpu;
using Kind = ExitAction::Kind;

namespace {
// Allocations while `countingAllocations` is set: the exit path makes none (design: "Threads").
std::atomic<bool> countingAllocations{false};
std::atomic<int> allocations{0};
} // namespace

void* operator new(std::size_t size) {
    if (countingAllocations.load(std::memory_order_relaxed))
        allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* memory = std::malloc(size != 0 ? size : 1))
        return memory;
    throw std::bad_alloc();
}
void operator delete(void* memory) noexcept {
    std::free(memory);
}
void operator delete(void* memory, std::size_t) noexcept {
    std::free(memory);
}

namespace {

constexpr uint32_t kIoDataOffset = 1024;

// A kvm_run with room after it for the I/O data, as the kernel's shared page has.
struct RunPage {
    alignas(kvm_run) uint8_t bytes[4096] = {};
    kvm_run& run() { return *reinterpret_cast<kvm_run*>(bytes); }
    const kvm_run& run() const { return *reinterpret_cast<const kvm_run*>(bytes); }
};

std::unique_ptr<RunPage> exitOf(uint32_t reason) {
    auto page = std::make_unique<RunPage>();
    page->run().exit_reason = reason;
    return page;
}

std::unique_ptr<RunPage> portExit(uint16_t port, bool out, uint8_t value = 0) {
    auto page = exitOf(KVM_EXIT_IO);
    kvm_run& run = page->run();
    run.io.direction = out ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
    run.io.port = port;
    run.io.size = 1;
    run.io.count = 1;
    run.io.data_offset = kIoDataOffset;
    page->bytes[kIoDataOffset] = value;
    return page;
}

std::unique_ptr<RunPage> mmioExit(uint64_t address, bool write) {
    auto page = exitOf(KVM_EXIT_MMIO);
    kvm_run& run = page->run();
    run.mmio.phys_addr = address;
    run.mmio.len = 4;
    run.mmio.is_write = write;
    return page;
}

// KVM_EXIT_DEBUG for a #DB (exception 1) with `dr6` at the next instruction `pc`.
std::unique_ptr<RunPage> debugExit(uint64_t dr6, uint64_t pc, uint32_t exception = 1) {
    auto page = exitOf(KVM_EXIT_DEBUG);
    kvm_run& run = page->run();
    run.debug.arch.exception = exception;
    run.debug.arch.pc = pc;
    run.debug.arch.dr6 = dr6;
    run.debug.arch.dr7 = 0x400;
    return page;
}

// KVM_EXIT_INTERNAL_ERROR, suberror KVM_INTERNAL_ERROR_EMULATION with the instruction's bytes,
// as KVM reports an instruction its emulator could not run (ndata counts flags, size and bytes).
std::unique_ptr<RunPage> emulationFailure(std::initializer_list<uint8_t> instruction) {
    auto page = exitOf(KVM_EXIT_INTERNAL_ERROR);
    auto& failure = page->run().emulation_failure;
    failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
    failure.ndata = 3;
    failure.flags = KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
    failure.insn_size = static_cast<uint8_t>(instruction.size());
    std::copy(instruction.begin(), instruction.end(), failure.insn_bytes);
    return page;
}

ExitContext stepping() {
    ExitContext context;
    context.singleStep = true;
    return context;
}

QString descriptionOf(const ExitAction& action) {
    return QString::fromStdString(action.stop.description);
}

} // namespace

class ExitActionTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void portOutIsDispatchedAndRunsOn() {
        const auto page = portExit(0x3f8, true, 'A');
        const ExitAction action = decodeExit(page->run(), {});
        QCOMPARE(action.kind, Kind::DispatchIo);
        QVERIFY(!action.endsStep);
        QVERIFY(action.runsOn());
        QVERIFY(!action.finishesStep());
    }

    void portInIsDispatchedAndRunsOn() {
        const auto page = portExit(0x3fd, false);
        const ExitAction action = decodeExit(page->run(), {});
        QCOMPARE(action.kind, Kind::DispatchIo);
        QVERIFY(action.runsOn());
    }

    void accessInAStepIsDispatchedAndEndsTheStep() {
        const auto in = portExit(0x60, false);
        ExitAction action = decodeExit(in->run(), stepping());
        QCOMPARE(action.kind, Kind::DispatchIo);
        QVERIFY(action.endsStep);
        QVERIFY(action.finishesStep());
        QVERIFY(!action.runsOn());

        const auto write = mmioExit(0xfee000b0, true);
        action = decodeExit(write->run(), stepping());
        QCOMPARE(action.kind, Kind::DispatchMmio);
        QVERIFY(action.finishesStep());
        QVERIFY(!action.runsOn());
    }

    void mmioReadAndWriteAreDispatched() {
        for (const bool write : {false, true}) {
            const auto page = mmioExit(0xfec00000, write);
            const ExitAction action = decodeExit(page->run(), {});
            QCOMPARE(action.kind, Kind::DispatchMmio);
            QVERIFY(action.runsOn());
        }
    }

    void haltStopsTheVcpu() {
        ExitContext context;
        context.vcpu = 1;
        const auto page = exitOf(KVM_EXIT_HLT);
        const ExitAction action = decodeExit(page->run(), context);
        QCOMPARE(action.kind, Kind::Stop);
        QVERIFY(!action.runsOn());
        QCOMPARE(action.stop.cause, StopCause::Halted);
        QCOMPARE(action.stop.vcpu, 1u);
        QCOMPARE(action.stop.exitReason, uint32_t{KVM_EXIT_HLT});
        QVERIFY(!action.stop.crash());
        QCOMPARE(descriptionOf(action), QString("vcpu 1 stopped: halted (KVM_EXIT_HLT)"));
    }

    void shutdownIsATripleFaultCrash() {
        ExitContext context;
        context.vcpu = 2;
        const auto page = exitOf(KVM_EXIT_SHUTDOWN);
        const ExitAction action = decodeExit(page->run(), context);
        QCOMPARE(action.kind, Kind::Stop);
        QCOMPARE(action.stop.cause, StopCause::Shutdown);
        QVERIFY(action.stop.crash());
        QCOMPARE(descriptionOf(action),
                 QString("vcpu 2 stopped: triple fault (shutdown) (KVM_EXIT_SHUTDOWN)"));
    }

    void internalErrorStopsWithSuberrorAndData() {
        const auto page = exitOf(KVM_EXIT_INTERNAL_ERROR);
        kvm_run& run = page->run();
        run.internal.suberror = KVM_INTERNAL_ERROR_DELIVERY_EV;
        run.internal.ndata = 2;
        run.internal.data[0] = 0x80000b0e;
        run.internal.data[1] = 0x1f;
        const ExitAction action = decodeExit(run, {});
        QCOMPARE(action.kind, Kind::Stop);
        QCOMPARE(action.stop.cause, StopCause::InternalError);
        QVERIFY(action.stop.crash());
        QCOMPARE(descriptionOf(action), QString("vcpu 0 stopped: internal error "
                                                "(KVM_EXIT_INTERNAL_ERROR: suberror 3, data "
                                                "0x80000b0e 0x1f)"));
    }

    void unemulatedInstructionIsOfferedForCompletion() {
        const auto page = emulationFailure({0x0f, 0xae, 0x10}); // ldmxcsr (%rax)
        const ExitAction action = decodeExit(page->run(), {});
        QCOMPARE(action.kind, Kind::CompleteInstruction);
        QCOMPARE(action.instruction.size(), size_t{3});
        QCOMPARE(action.instruction[1], uint8_t{0xae});
        QVERIFY(action.stop.description.empty()); // described only if the vcpu stops
        QVERIFY(!action.runsOn());                // the runner decides after trying
    }

    void emulationFailureWithoutBytesStops() {
        auto page = emulationFailure({0x9b});
        page->run().emulation_failure.flags = 0;
        QCOMPARE(decodeExit(page->run(), {}).stop.cause, StopCause::InternalError);
        page = emulationFailure({});
        QCOMPARE(decodeExit(page->run(), {}).kind, Kind::Stop);
    }

    void int3IsTheDebuggersWhileItsBreakpointsAreArmed() {
        const auto page = emulationFailure({0xcc});
        QCOMPARE(decodeExit(page->run(), {}).kind, Kind::CompleteInstruction);
        ExitContext context;
        context.softwareBreakpoints = true;
        const ExitAction action = decodeExit(page->run(), context);
        QCOMPARE(action.kind, Kind::Stop);
        QCOMPARE(action.stop.cause, StopCause::InternalError);
        // data[0] the flags, data[1] the size (1) and the byte 0xCC, little-endian.
        QCOMPARE(descriptionOf(action), QString("vcpu 0 stopped: internal error "
                                                "(KVM_EXIT_INTERNAL_ERROR: suberror 1, data 0x1 "
                                                "0xcc01 0x0)"));
    }

    void failedEntryStopsWithTheHardwareReason() {
        const auto page = exitOf(KVM_EXIT_FAIL_ENTRY);
        page->run().fail_entry.hardware_entry_failure_reason = 0x21;
        page->run().fail_entry.cpu = 3;
        const ExitAction action = decodeExit(page->run(), {});
        QCOMPARE(action.stop.cause, StopCause::FailEntry);
        QVERIFY(action.stop.crash());
        QCOMPARE(descriptionOf(action),
                 QString("vcpu 0 stopped: failed entry (KVM_EXIT_FAIL_ENTRY: hardware entry "
                         "failure reason 0x21 on cpu 3)"));
    }

    void singleStepTrapFinishesARequestedStep() {
        const auto page = debugExit(kDr6SingleStep, 0x100005);
        const ExitAction action = decodeExit(page->run(), stepping());
        QCOMPARE(action.kind, Kind::StepDone);
        QCOMPARE(action.stepPc, uint64_t{0x100005});
        QVERIFY(action.finishesStep());
        QVERIFY(!action.runsOn());
    }

    void breakpointInAStepStopsAsADebugExit() {
        const auto page = debugExit(0x1, 0x100010); // DR6.B0: debug register 0 matched
        const ExitAction action = decodeExit(page->run(), stepping());
        QCOMPARE(action.kind, Kind::Stop);
        QVERIFY(!action.finishesStep());
        QCOMPARE(action.stop.cause, StopCause::Debug);
        QCOMPARE(action.stop.debug.pc, uint64_t{0x100010});
        QCOMPARE(action.stop.debug.dr6, uint64_t{0x1});
        QVERIFY(!action.stop.crash());
        QCOMPARE(descriptionOf(action), QString("vcpu 0 stopped: debug exit (KVM_EXIT_DEBUG: "
                                                "exception 1 pc 0x100010 dr6 0x1 dr7 0x400)"));
    }

    void int3BreakpointStopsAsADebugExit() {
        const auto page = debugExit(0, 0x7c00, 3); // #BP
        const ExitAction action = decodeExit(page->run(), {});
        QCOMPARE(action.stop.cause, StopCause::Debug);
        QCOMPARE(action.stop.debug.exception, 3u);
    }

    void stepTrapNotRequestedStopsTheVcpu() {
        const auto page = debugExit(kDr6SingleStep, 0x2000);
        const ExitAction action = decodeExit(page->run(), {});
        QCOMPARE(action.kind, Kind::Stop);
        QCOMPARE(action.stop.cause, StopCause::Debug);
    }

    void stepCheckStepsOnUntilItsAddress() {
        const std::array<uint64_t, 2> addresses{0x3000, 0x4000};
        ExitContext context;
        context.stepCheck = addresses;
        const auto elsewhere = debugExit(kDr6SingleStep, 0x2000);
        ExitAction action = decodeExit(elsewhere->run(), context);
        QCOMPARE(action.kind, Kind::Resume);
        QVERIFY(action.runsOn());

        const auto onIt = debugExit(kDr6SingleStep, 0x4000);
        action = decodeExit(onIt->run(), context);
        QCOMPARE(action.kind, Kind::Stop);
        QCOMPARE(action.stop.cause, StopCause::Debug);
        QCOMPARE(action.stop.debug.pc, uint64_t{0x4000});

        // A hardware breakpoint on the way stops there although it is no step-check address.
        const auto breakpoint = debugExit(0x2, 0x2800);
        QCOMPARE(decodeExit(breakpoint->run(), context).kind, Kind::Stop);
    }

    void systemEventsStopWithTheirType() {
        for (const uint32_t type :
             {KVM_SYSTEM_EVENT_SHUTDOWN, KVM_SYSTEM_EVENT_RESET, KVM_SYSTEM_EVENT_CRASH}) {
            const auto page = exitOf(KVM_EXIT_SYSTEM_EVENT);
            page->run().system_event.type = type;
            const ExitAction action = decodeExit(page->run(), {});
            QCOMPARE(action.kind, Kind::Stop);
            QCOMPARE(action.stop.cause, StopCause::SystemEvent);
            QCOMPARE(action.stop.systemEventType, type);
            QVERIFY(!action.stop.crash()); // the machine decides what each type means
            QCOMPARE(
                descriptionOf(action),
                QString("vcpu 0 stopped: system event (KVM_EXIT_SYSTEM_EVENT: type %1)").arg(type));
        }
    }

    void interruptLeavesTheRunWithoutAStop() {
        const auto page = exitOf(KVM_EXIT_INTR);
        const ExitAction action = decodeExit(page->run(), stepping());
        QCOMPARE(action.kind, Kind::Interrupted);
        QVERIFY(!action.runsOn());
        QVERIFY(!action.finishesStep());
    }

    void irqWindowAndTprAccessRunOn() {
        for (const uint32_t reason : {KVM_EXIT_IRQ_WINDOW_OPEN, KVM_EXIT_TPR_ACCESS}) {
            const auto page = exitOf(reason);
            const ExitAction action = decodeExit(page->run(), {});
            QCOMPARE(action.kind, Kind::Resume);
            QVERIFY(action.runsOn());
        }
    }

    void unknownReasonIsAHostError() {
        const auto page = exitOf(200);
        const ExitAction action = decodeExit(page->run(), {});
        QCOMPARE(action.kind, Kind::Stop);
        QCOMPARE(action.stop.cause, StopCause::HostError);
        QCOMPARE(action.stop.exitReason, 200u);
        QVERIFY(action.stop.crash());
        // A reason newer than kvmscope's headers is named by its number, not by a placeholder.
        QCOMPARE(descriptionOf(action), QString("vcpu 0 stopped: host error (KVM_EXIT_200)"));
    }

    void exitBreakpointStopsBeforeTheAccessIsDispatched() {
        kvmscope::debug::ExitBreakpoints breakpoints;
        const int id = breakpoints.add(
            {0, kvmscope::debug::ExitBreakKind::PortWrite, 0x3f8, 1, uint64_t{'B'}, 0});
        ExitContext context;
        context.exitBreakpoints = &breakpoints;

        const auto other = portExit(0x3f8, true, 'A'); // armed, but not this value
        QCOMPARE(decodeExit(other->run(), context).kind, Kind::DispatchIo);

        const auto page = portExit(0x3f8, true, 'B');
        const ExitAction action = decodeExit(page->run(), context);
        QCOMPARE(action.kind, Kind::Stop);
        QCOMPARE(action.stop.cause, StopCause::ExitBreakpoint);
        QCOMPARE(action.stop.exitBreakpoint, id);
        QCOMPARE(action.stop.accessAddress, uint64_t{0x3f8});
        QCOMPARE(action.stop.accessValue, uint64_t{'B'});
        QCOMPARE(descriptionOf(action),
                 QString("vcpu 0 stopped: exit breakpoint (KVM_EXIT_IO): exit breakpoint %1 "
                         "(port write 0x3f8 value 0x42)")
                     .arg(id));
    }

    void exitsThatRunOnAllocateNothing() {
        kvmscope::debug::ExitBreakpoints none; // set, but none armed: one relaxed load
        const std::array<uint64_t, 1> stepCheck{0x3000};
        ExitContext context;
        context.exitBreakpoints = &none;
        context.stepCheck = stepCheck;
        const auto out = portExit(0x3f8, true, 'A');
        const auto in = portExit(0x3fd, false);
        const auto mmio = mmioExit(0xfee000b0, true);
        const auto step = debugExit(kDr6SingleStep, 0x2000);
        const auto window = exitOf(KVM_EXIT_IRQ_WINDOW_OPEN);
        allocations = 0;
        countingAllocations = true;
        int runOn = 0;
        for (const RunPage* page : {out.get(), in.get(), mmio.get(), step.get(), window.get()})
            runOn += decodeExit(page->run(), context).runsOn();
        countingAllocations = false;
        QCOMPARE(runOn, 5);
        QCOMPARE(allocations.load(), 0);
    }

    void exitReasonBreakpointComesBeforeTheExitsOwnStop() {
        kvmscope::debug::ExitBreakpoints breakpoints;
        breakpoints.add({0, kvmscope::debug::ExitBreakKind::ExitReason, 0, 1, {}, KVM_EXIT_HLT});
        ExitContext context;
        context.exitBreakpoints = &breakpoints;
        const auto page = exitOf(KVM_EXIT_HLT);
        const ExitAction action = decodeExit(page->run(), context);
        QCOMPARE(action.stop.cause, StopCause::ExitBreakpoint);
        QVERIFY2(descriptionOf(action).endsWith("(exit KVM_EXIT_HLT)"),
                 qPrintable(descriptionOf(action)));
    }
};

QTEST_GUILESS_MAIN(ExitActionTest)
#include "ExitActionTest.moc"
