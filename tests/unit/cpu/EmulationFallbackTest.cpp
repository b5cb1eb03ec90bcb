// What kvmscope does with an instruction the host's emulator refused (cpu/EmulationFallback.h):
// int3 is a trap (skip, then #BP), fwait is #NM under CR0.MP+TS, #MF with FSW.ES, else nothing;
// LDMXCSR/STMXCSR are decoded in the vcpu's mode and complete through their memory operand, with
// #UD, #NM, the operand's faults and #GP for reserved MXCSR bits in the SDM's order; everything
// else is left to stop the VM.
#include "cpu/EmulationFallback.h"

#include "GuestPages.h"
#include "cpu/GuestOperand.h"

#include <QTest>
#include <array>
#include <vector>

using namespace kvmscope;
using namespace kvmscope::cpu;
using namespace kvmscope::test;
using Kind = FallbackAction::Kind;

namespace {

constexpr uint32_t kMxcsrDefault = 0x1F80; // all exceptions masked, round to nearest
constexpr uint32_t kMaskWithDaz = 0xFFFF;

struct MxcsrGuest {
    GuestMemory memory{2 << 20};
    kvm_sregs sregs = longModeSregs();
    kvm_regs regs{};
    MxcsrGuest() {
        buildPageTables(memory);
        regs.rflags = 2;
        regs.rip = 0xFFFF'FFFF'8100'0000;
    }
    MxcsrCompletion run(const std::vector<uint8_t>& bytes, uint32_t mxcsr = kMxcsrDefault,
                        uint32_t mask = kMaskWithDaz) {
        return completeMxcsrInstruction(bytes, regs, sregs, mxcsr, mask, memory);
    }
};

} // namespace

class EmulationFallbackTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void int3IsATrapDeliveringBreakpoint() {
        const std::array<uint8_t, 3> bytes{0xCC, 0x90, 0x90};
        const FallbackAction action = decideFallback(bytes, 0x80050033, 0);
        QCOMPARE(action.kind, Kind::SkipAndRaise);
        QCOMPARE(action.length, uint8_t{1});
        QCOMPARE(action.vector, uint8_t{3});
    }

    void fwaitFollowsCr0AndTheFpuStatus() {
        const std::array<uint8_t, 1> fwait{0x9B};
        const uint64_t mp = kCr0MonitorCoprocessor;
        const uint64_t ts = kCr0TaskSwitched;
        QCOMPARE(decideFallback(fwait, mp, 0).kind, Kind::Skip);
        QCOMPARE(decideFallback(fwait, mp, 0).length, uint8_t{1});
        QCOMPARE(decideFallback(fwait, ts, 0).kind, Kind::Skip); // TS without MP: no #NM
        const FallbackAction unavailable = decideFallback(fwait, mp | ts, 0);
        QCOMPARE(unavailable.kind, Kind::Raise);
        QCOMPARE(unavailable.vector, uint8_t{7});
        const FallbackAction pending = decideFallback(fwait, mp, kFpuStatusErrorSummary);
        QCOMPARE(pending.kind, Kind::Raise);
        QCOMPARE(pending.vector, uint8_t{16});
        // #NM takes priority over a pending x87 error (SDM vol. 2B, WAIT/FWAIT exceptions).
        QCOMPARE(decideFallback(fwait, mp | ts, kFpuStatusErrorSummary).vector, uint8_t{7});
    }

    void ldmxcsrLoadsTheOperandAtRspPlusDisplacement() {
        // kernel_fpu_begin's `ldmxcsr [rsp+4]`, where Linux stopped on such hosts.
        MxcsrGuest guest;
        guest.regs.rsp = kKernelPage + 0x100;
        guest.memory.writeValue<uint32_t>(physicalOf(kKernelPage) + 0x104, 0x1F80);
        const MxcsrCompletion done = guest.run({0x0F, 0xAE, 0x54, 0x24, 0x04}, 0x1F00);
        QCOMPARE(done.action.kind, Kind::Skip);
        QCOMPARE(done.action.length, uint8_t{5});
        QCOMPARE(done.mxcsr, std::optional<uint32_t>(0x1F80));
    }

    void stmxcsrStoresThroughRipRelativeAndSegmentOverrides() {
        MxcsrGuest guest;
        guest.regs.rip = kKernelPage; // stmxcsr [rip+0x100]: the next instruction + 0x100
        const MxcsrCompletion rip = guest.run({0x0F, 0xAE, 0x1D, 0x00, 0x01, 0x00, 0x00}, 0x1FA0);
        QCOMPARE(rip.action.kind, Kind::Skip);
        QCOMPARE(rip.action.length, uint8_t{7});
        QVERIFY(!rip.mxcsr);
        QCOMPARE(guest.memory.readValue<uint32_t>(physicalOf(kKernelPage) + 0x107), 0x1FA0u);
        QVERIFY(pageTableEntry(guest.memory, kKernelPage) & kPteDirty);
        // stmxcsr gs:[r9*4+0x10], with the per-cpu base in GS as Linux keeps it.
        guest.sregs.gs.base = kNextKernelPage;
        guest.regs.r9 = 2;
        const MxcsrCompletion gs =
            guest.run({0x65, 0x42, 0x0F, 0xAE, 0x1C, 0x8D, 0x10, 0x00, 0x00, 0x00}, 0x9FC0);
        QCOMPARE(gs.action.kind, Kind::Skip);
        QCOMPARE(gs.action.length, uint8_t{10});
        QCOMPARE(guest.memory.readValue<uint32_t>(physicalOf(kNextKernelPage) + 0x18), 0x9FC0u);
    }

    void addressSizeOverrideWrapsTheEffectiveAddress() {
        MxcsrGuest guest; // ldmxcsr [eax]: the upper half of RAX does not count
        guest.regs.rax = 0xFFFF'FFFF'0000'0000 | (kKernelPage + 0x40);
        guest.memory.writeValue<uint32_t>(physicalOf(kKernelPage) + 0x40, 0x1F81);
        const MxcsrCompletion done = guest.run({0x67, 0x0F, 0xAE, 0x10});
        QCOMPARE(done.action.kind, Kind::Skip);
        QCOMPARE(done.mxcsr, std::optional<uint32_t>(0x1F81));
    }

    void reservedMxcsrBitsRaiseGeneralProtection() {
        MxcsrGuest guest;
        guest.regs.rbx = kKernelPage;
        const std::vector<uint8_t> ldmxcsrRbx{0x0F, 0xAE, 0x13};
        guest.memory.writeValue<uint32_t>(physicalOf(kKernelPage), 0x1'1F80);
        const MxcsrCompletion high = guest.run(ldmxcsrRbx);
        QCOMPARE(high.action.kind, Kind::Raise);
        QCOMPARE(high.action.vector, kGeneralProtectionVector);
        QVERIFY(high.action.hasErrorCode);
        QCOMPARE(high.action.errorCode, 0u);
        QVERIFY(!high.mxcsr);
        // DAZ (bit 6) is reserved where MXCSR_MASK lacks it (SDM vol. 1 11.6.6).
        guest.memory.writeValue<uint32_t>(physicalOf(kKernelPage), 0x1FC0);
        QCOMPARE(guest.run(ldmxcsrRbx, kMxcsrDefault, kDefaultMxcsrMask).action.kind, Kind::Raise);
        QCOMPARE(guest.run(ldmxcsrRbx, kMxcsrDefault, kMaskWithDaz).mxcsr,
                 std::optional<uint32_t>(0x1FC0));
    }

    void undefinedAndUnavailableComeBeforeOperandFaults() {
        MxcsrGuest guest;
        guest.regs.rbx = kAbsentPage;
        const std::vector<uint8_t> ldmxcsrRbx{0x0F, 0xAE, 0x13};
        const FallbackAction pageFault = guest.run(ldmxcsrRbx).action;
        QCOMPARE(pageFault.kind, Kind::Raise);
        QCOMPARE(pageFault.vector, kPageFaultVector);
        QVERIFY(pageFault.setsCr2);
        QCOMPARE(pageFault.cr2, kAbsentPage);
        QCOMPARE(pageFault.errorCode, 0u);
        QCOMPARE(guest.run({0x0F, 0xAE, 0x1B}).action.errorCode, kPageFaultWrite); // stmxcsr
        guest.sregs.cr0 |= kCr0TaskSwitched;
        QCOMPARE(guest.run(ldmxcsrRbx).action.vector, uint8_t{7}); // #NM
        QVERIFY(!guest.run(ldmxcsrRbx).action.hasErrorCode);
        guest.sregs.cr4 &= ~kCr4Osfxsr;
        QCOMPARE(guest.run(ldmxcsrRbx).action.vector, uint8_t{6}); // #UD
        guest.sregs.cr4 |= kCr4Osfxsr;
        guest.sregs.cr0 |= kCr0Emulation;
        QCOMPARE(guest.run(ldmxcsrRbx).action.vector, uint8_t{6});
    }

    void protectedModeDecodesThirtyTwoBitAddressing() {
        MxcsrGuest guest;
        guest.sregs.cr0 &= ~(1ull << 31);
        guest.sregs.efer = 0;
        guest.sregs.cs.l = 0;
        guest.sregs.cs.db = 1;
        guest.regs.rsp = 0x8000;
        guest.memory.writeValue<uint32_t>(0x8008, 0x1F80);
        QCOMPARE(guest.run({0x0F, 0xAE, 0x54, 0x24, 0x08}, 0).mxcsr,
                 std::optional<uint32_t>(0x1F80));
        guest.sregs.ss.limit = 0x8009; // the dword ends past the limit: #SS(0)
        QCOMPARE(guest.run({0x0F, 0xAE, 0x54, 0x24, 0x08}).action.vector, kStackFaultVector);
    }

    void otherOpcodeAeFormsAndVexAreNotHandled() {
        MxcsrGuest guest;
        guest.regs.rsp = kKernelPage;
        QCOMPARE(guest.run({0x0F, 0xAE, 0x04, 0x24}).action.kind, Kind::NotHandled); // fxsave
        QCOMPARE(guest.run({0x48, 0x0F, 0xAE, 0x2F}).action.kind, Kind::NotHandled); // xrstor64
        QCOMPARE(guest.run({0x0F, 0xAE, 0xF0}).action.kind, Kind::NotHandled);       // mfence
        QCOMPARE(guest.run({0xC5, 0xF8, 0xAE, 0x14, 0x24}).action.kind,
                 Kind::NotHandled);                                      // vldmxcsr [rsp]
        QCOMPARE(guest.run({0x0F, 0xAE}).action.kind, Kind::NotHandled); // truncated
        QCOMPARE(guest.run({0xCC}).action.kind, Kind::NotHandled);
    }

    void hostMaskHasEveryArchitecturalMxcsrBit() {
        // Flags, masks, rounding and FZ (SDM vol. 1 10.2.3) are in every SSE CPU's MXCSR_MASK;
        // some CPUs add more (DAZ, AMD's misaligned-exception mask MM in bit 17).
        QCOMPARE(hostMxcsrMask() & kDefaultMxcsrMask, kDefaultMxcsrMask);
    }

    void otherInstructionsAreNotHandled() {
        const std::array<uint8_t, 3> clac{0x0F, 0x01, 0xCA};
        const std::array<uint8_t, 4> popcnt{0xF3, 0x48, 0x0F, 0xB8};
        const std::array<uint8_t, 2> intn{0xCD, 0x80};
        QCOMPARE(decideFallback(clac, 0, 0).kind, Kind::NotHandled);
        QCOMPARE(decideFallback(popcnt, 0, 0).kind, Kind::NotHandled);
        QCOMPARE(decideFallback(intn, 0, 0).kind, Kind::NotHandled);
        QCOMPARE(decideFallback({}, 0, 0).kind, Kind::NotHandled);
    }
};

QTEST_GUILESS_MAIN(EmulationFallbackTest)
#include "EmulationFallbackTest.moc"
