// BreakpointTable (debug/BreakpointTable.h) as pure data, with made-up debug exits: ids, the
// four debug-register slots, DR7 encoding (SDM vol. 3B 18.2.4), which breakpoint a
// KVM_EXIT_DEBUG belongs to, enabling and disabling, temporaries, hit counts, and the int3
// bookkeeping (original bytes shown, edits under an int3 absorbed). No KVM needed.
#include "debug/BreakpointTable.h"

#include "common/Error.h"

#include <QTest>
#include <array>

using namespace kvmscope;
using namespace kvmscope::debug;

namespace {

Breakpoint execution(uint64_t address, BreakMechanism mechanism,
                     BreakpointKind kind = BreakpointKind::Hardware) {
    Breakpoint breakpoint;
    breakpoint.kind = kind;
    breakpoint.mechanism = mechanism;
    breakpoint.address = address;
    return breakpoint;
}

Breakpoint watch(uint64_t address, unsigned length, bool readWrite) {
    Breakpoint breakpoint;
    breakpoint.kind = readWrite ? BreakpointKind::ReadWriteWatch : BreakpointKind::WriteWatch;
    breakpoint.mechanism = BreakMechanism::DebugRegister;
    breakpoint.address = address;
    breakpoint.length = length;
    return breakpoint;
}

Breakpoint int3(uint64_t address, uint64_t physical, uint8_t original) {
    Breakpoint breakpoint = execution(address, BreakMechanism::Int3, BreakpointKind::Software);
    breakpoint.physical = physical;
    breakpoint.originalByte = original;
    return breakpoint;
}

kvm_debug_exit_arch debugExit(uint32_t exception, uint64_t pc, uint64_t dr6) {
    kvm_debug_exit_arch exit{};
    exit.exception = exception;
    exit.pc = pc;
    exit.dr6 = dr6;
    return exit;
}

constexpr uint32_t kDebugException = 1;      // #DB
constexpr uint32_t kBreakpointException = 3; // #BP
constexpr uint64_t kDr6SingleStep = 1u << 14;

} // namespace

class BreakpointTableTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void idsAreNewAndNeverReused() {
        BreakpointTable table;
        const int first = table.add(execution(0x1000, BreakMechanism::SteppingCheck));
        const int second = table.add(execution(0x2000, BreakMechanism::SteppingCheck));
        QCOMPARE(first, 1);
        QCOMPARE(second, 2);
        QVERIFY(table.remove(first).has_value());
        QVERIFY(!table.remove(first).has_value());
        QCOMPARE(table.add(execution(0x3000, BreakMechanism::SteppingCheck)), 3);
        QCOMPARE(table.all().size(), size_t{2});
        QVERIFY(table.find(first) == nullptr);
        QCOMPARE(table.find(second)->address, uint64_t{0x2000});
    }

    void debugRegistersTakeTheLowestFreeSlotUntilAllFourAreTaken() {
        BreakpointTable table;
        std::array<int, 4> ids{};
        for (unsigned i = 0; i < 4; ++i) {
            QCOMPARE(table.freeDebugRegisters(), 4 - i);
            ids[i] = table.add(execution(0x1000 + i, BreakMechanism::DebugRegister));
            QCOMPARE(table.find(ids[i])->slot, static_cast<int>(i));
        }
        QCOMPARE(table.freeDebugRegisters(), 0u);
        QVERIFY_THROWS_EXCEPTION(InputError,
                                 table.add(execution(0x5000, BreakMechanism::DebugRegister)));
        // A freed slot is the next one given.
        table.remove(ids[2]);
        QCOMPARE(table.find(table.add(watch(0x8000, 4, false)))->slot, 2);
        // Other mechanisms hold no slot.
        QCOMPARE(table.find(table.add(execution(0x9000, BreakMechanism::SteppingCheck)))->slot, -1);
    }

    void choiceSeesTheFreeDebugRegisters() {
        HostDebugSupport host; // no int3: a software breakpoint takes a register, else steps
        host.executionRing0 = {true, "stopped"};
        host.stepRing0 = {true, "stopped"};
        BreakpointTable table;
        QCOMPARE(table.choose(BreakpointKind::Software, false, host).mechanism,
                 std::optional{BreakMechanism::DebugRegister});
        for (uint64_t i = 0; i < 4; ++i)
            table.add(execution(0x1000 + i, BreakMechanism::DebugRegister));
        const MechanismChoice full = table.choose(BreakpointKind::Software, false, host);
        QCOMPARE(full.mechanism, std::optional{BreakMechanism::SteppingCheck});
        QVERIFY(full.fallback);
        // A hardware breakpoint asked for explicitly is refused rather than quietly stepped.
        const MechanismChoice hardware = table.choose(BreakpointKind::Hardware, false, host);
        QVERIFY(!hardware.mechanism.has_value());
        QVERIFY(hardware.note.find("no free debug register") != std::string::npos);
    }

    void dr7EncodesEachSlotsConditionLengthAndEnable() {
        BreakpointTable table;
        table.add(execution(0x401000, BreakMechanism::DebugRegister)); // DR0: execute, 1 byte
        table.add(watch(0x6000, 4, false));                            // DR1: write, 4 bytes
        table.add(watch(0x7000, 8, true));                             // DR2: read/write, 8
        table.add(watch(0x7100, 2, false));                            // DR3: write, 2 bytes
        const GuestDebugSettings settings = table.guestDebug();
        QCOMPARE(settings.debug.control, uint32_t{KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP});
        QCOMPARE(settings.debug.arch.debugreg[0], uint64_t{0x401000});
        QCOMPARE(settings.debug.arch.debugreg[1], uint64_t{0x6000});
        QCOMPARE(settings.debug.arch.debugreg[2], uint64_t{0x7000});
        QCOMPARE(settings.debug.arch.debugreg[3], uint64_t{0x7100});
        const uint64_t dr7 = settings.debug.arch.debugreg[7];
        QCOMPARE(dr7 & 0xFF, uint64_t{0b10101010}); // G0-G3, no local enables
        QVERIFY(dr7 & (1u << 9));                   // GE
        QVERIFY(dr7 & (1u << 10));                  // reserved, reads as 1
        auto field = [dr7](unsigned slot) { return (dr7 >> (16 + 4 * slot)) & 0xF; };
        QCOMPARE(field(0), uint64_t{0b0000}); // R/W 00 execute, LEN 00
        QCOMPARE(field(1), uint64_t{0b1101}); // R/W 01 write, LEN 11 = 4 bytes
        QCOMPARE(field(2), uint64_t{0b1011}); // R/W 11 read/write, LEN 10 = 8 bytes
        QCOMPARE(field(3), uint64_t{0b0101}); // R/W 01 write, LEN 01 = 2 bytes
        QVERIFY(settings.stepCheckAddresses.empty());
    }

    void int3sAndSteppingChecksNeedNoDebugRegister() {
        BreakpointTable table;
        QCOMPARE(table.guestDebug().debug.control, 0u); // nothing armed: debugging off
        table.add(int3(0x1000, 0x1000, 0x55));
        table.add(execution(0x2000, BreakMechanism::SteppingCheck));
        const GuestDebugSettings settings = table.guestDebug();
        QCOMPARE(settings.debug.control, uint32_t{KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP});
        QCOMPARE(settings.debug.arch.debugreg[7], uint64_t{0});
        QCOMPARE(settings.stepCheckAddresses, std::vector<uint64_t>{0x2000});
    }

    void aDebugExitIsAttributedToTheBreakpointThatCausedIt() {
        BreakpointTable table;
        const int hardware = table.add(execution(0x401000, BreakMechanism::DebugRegister));
        const int watchpoint = table.add(watch(0x6000, 4, false));
        const int software = table.add(int3(0x402000, 0x2000, 0x90));
        const int stepped = table.add(execution(0x403000, BreakMechanism::SteppingCheck));

        QCOMPARE(table.hitBy(debugExit(kDebugException, 0x401000, 0b0001))->id, hardware);
        // A watchpoint reports the instruction after the access: only DR6 says which.
        QCOMPARE(table.hitBy(debugExit(kDebugException, 0x400123, 0b0010))->id, watchpoint);
        QCOMPARE(table.hitBy(debugExit(kBreakpointException, 0x402000, 0))->id, software);
        QCOMPARE(table.hitBy(debugExit(kDebugException, 0x403000, kDr6SingleStep))->id, stepped);

        // Not ours: an int3 the guest wrote itself, a slot we do not use, a step elsewhere.
        QVERIFY(table.hitBy(debugExit(kBreakpointException, 0x402001, 0)) == nullptr);
        QVERIFY(table.hitBy(debugExit(kDebugException, 0x401000, 0b1000)) == nullptr);
        QVERIFY(table.hitBy(debugExit(kDebugException, 0x403001, kDr6SingleStep)) == nullptr);
        // A B bit of a slot that is not ours beside the step bit: still the stepping check.
        QCOMPARE(table.hitBy(debugExit(kDebugException, 0x403000, kDr6SingleStep | 0b1000))->id,
                 stepped);
        // Another exception at the address is no breakpoint of ours.
        QVERIFY(table.hitBy(debugExit(6, 0x401000, 0b0001)) == nullptr);

        table.countHit(hardware);
        table.countHit(hardware);
        table.countHit(999); // gone meanwhile: nothing happens
        QCOMPARE(table.find(hardware)->hits, uint64_t{2});
        QCOMPARE(table.find(watchpoint)->hits, uint64_t{0});
    }

    void aDisabledBreakpointIsNotArmedAndGivesUpItsSlot() {
        BreakpointTable table;
        const int id = table.add(execution(0x401000, BreakMechanism::DebugRegister));
        const std::optional<Breakpoint> armed = table.disable(id);
        QVERIFY(armed.has_value());
        QCOMPARE(armed->slot, 0);
        QVERIFY(!table.disable(id).has_value()); // already disabled
        QCOMPARE(table.find(id)->slot, -1);
        QCOMPARE(table.freeDebugRegisters(), 4u);
        QCOMPARE(table.guestDebug().debug.control, 0u);
        QVERIFY(table.hitBy(debugExit(kDebugException, 0x401000, 0b0001)) == nullptr);
        QVERIFY(table.executionAt(0x401000) == nullptr);
        QVERIFY(table.find(id)->describe().ends_with("(disabled)"));

        // Its slot went to others meanwhile: enabling takes any free one, or refuses.
        std::array<int, 4> others{};
        for (uint64_t i = 0; i < 4; ++i)
            others[i] = table.add(execution(0x500000 + i, BreakMechanism::DebugRegister));
        QVERIFY_THROWS_EXCEPTION(InputError, table.enable(id));
        QVERIFY(!table.find(id)->enabled);
        table.remove(others[3]);
        table.enable(id);
        QVERIFY(table.find(id)->enabled);
        QCOMPARE(table.find(id)->slot, 3);
    }

    void anInt3IsReEnabledWithItsNewPatch() {
        BreakpointTable table;
        const int id = table.add(int3(0x402000, 0x2000, 0x90));
        QCOMPARE(table.disable(id)->physical, uint64_t{0x2000});
        QVERIFY_THROWS_EXCEPTION(Error, table.enable(id)); // needs its byte patched in first
        table.enableInt3(id, Int3Patch{0x9000, 0x55});     // the page moved meanwhile
        QVERIFY(table.find(id)->enabled);
        QCOMPARE(table.find(id)->physical, uint64_t{0x9000});
        QCOMPARE(table.find(id)->originalByte, uint8_t{0x55});
    }

    void temporariesAreDroppedTogether() {
        BreakpointTable table;
        Breakpoint temporary = execution(0x1000, BreakMechanism::DebugRegister);
        temporary.temporary = true;
        table.add(temporary);
        const int kept = table.add(execution(0x2000, BreakMechanism::DebugRegister));
        QVERIFY(table.hasTemporaries());
        QCOMPARE(table.dropTemporaries().size(), size_t{1});
        QVERIFY(!table.hasTemporaries());
        QVERIFY(table.dropTemporaries().empty());
        QCOMPARE(table.all().size(), size_t{1});
        QCOMPARE(table.all().front().id, kept);
        QCOMPARE(table.freeDebugRegisters(), 3u);
    }

    void executionLookupsSkipWatchpointsAndTellWhichFireByThemselves() {
        BreakpointTable table;
        table.add(watch(0x6000, 4, false));
        QVERIFY(table.executionAt(0x6000) == nullptr);
        QVERIFY(!table.anyFiringExecution());
        table.add(execution(0x7000, BreakMechanism::SteppingCheck));
        QVERIFY(table.executionAt(0x7000) != nullptr);
        QVERIFY(!table.anyFiringExecution()); // stepping checks never leave a vcpu on them
        const int hardware = table.add(execution(0x8000, BreakMechanism::DebugRegister));
        QVERIFY(table.anyFiringExecution());
        table.disable(hardware);
        QVERIFY(!table.anyFiringExecution());
    }

    void readsShowTheGuestsOwnBytesUnderInt3s() {
        BreakpointTable table;
        table.add(int3(0x402001, 0x2001, 0x90));
        table.add(int3(0x402003, 0x2003, 0xC3));
        const int disabled = table.add(int3(0x402002, 0x2002, 0x11));
        table.disable(disabled);
        std::array<uint8_t, 4> bytes{0x55, 0xCC, 0xAA, 0xCC};
        table.showOriginalBytes(0x402000, bytes);
        QCOMPARE(bytes, (std::array<uint8_t, 4>{0x55, 0x90, 0xAA, 0xC3}));
        // A read that ends before the breakpoint, or starts after it, is left alone.
        std::array<uint8_t, 1> before{0xCC};
        table.showOriginalBytes(0x402000, before);
        QCOMPARE(before[0], uint8_t{0xCC});
        std::array<uint8_t, 1> after{0xCC};
        table.showOriginalBytes(0x402004, after);
        QCOMPARE(after[0], uint8_t{0xCC});
    }

    void aWriteUnderAnInt3GoesToItsSavedByte() {
        BreakpointTable table;
        const int id = table.add(int3(0x402001, 0x2001, 0x90));
        const std::array<uint8_t, 3> written{0x01, 0x02, 0x03};
        QCOMPARE(table.absorbWrite(0x2000, written), std::vector<uint64_t>{0x2001});
        QCOMPARE(table.find(id)->originalByte, uint8_t{0x02});
        QVERIFY(table.absorbWrite(0x2002, written).empty());                     // after it
        QVERIFY(table.absorbWrite(0x1FFE, std::span(written).first(2)).empty()); // before it
    }
};

QTEST_APPLESS_MAIN(BreakpointTableTest)
#include "BreakpointTableTest.moc"
