// How a completed instruction reaches its memory operand (cpu/GuestOperand.h): segmentation,
// paging and access rights as the CPU checks them, with the exception it would raise, and the
// cases kvmscope refuses rather than guess.
#include "cpu/GuestOperand.h"

#include "GuestPages.h"

#include <QTest>
#include <array>

using namespace kvmscope;
using namespace kvmscope::cpu;
using namespace kvmscope::test;
using Outcome = OperandAccess::Outcome;

namespace {

constexpr uint64_t kRflagsAc = 1u << 18;
constexpr uint64_t kCr0Wp = 1u << 16;
constexpr uint64_t kCr4Smap = 1u << 21;

struct Guest {
    GuestMemory memory{2 << 20};
    kvm_sregs sregs = longModeSregs();
    Guest() { buildPageTables(memory); }

    OperandAccess read(uint64_t offset, std::array<uint8_t, 4>& data,
                       SegmentRegister segment = SegmentRegister::Ds, uint64_t rflags = 2) {
        return accessOperand(sregs, rflags, segment, offset, data, false, memory);
    }
    OperandAccess write(uint64_t offset, std::array<uint8_t, 4>& data,
                        SegmentRegister segment = SegmentRegister::Ds, uint64_t rflags = 2) {
        return accessOperand(sregs, rflags, segment, offset, data, true, memory);
    }
};

} // namespace

class GuestOperandTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void readsAndWritesThroughThePageTables() {
        Guest guest;
        guest.memory.writeValue<uint32_t>(physicalOf(kKernelPage) + 0x10, 0x12345678);
        std::array<uint8_t, 4> data{};
        QCOMPARE(guest.read(kKernelPage + 0x10, data).outcome, Outcome::Done);
        QCOMPARE(data, (std::array<uint8_t, 4>{0x78, 0x56, 0x34, 0x12}));
        // Reading sets the accessed flag but not the dirty flag (SDM 4.8).
        QVERIFY(pageTableEntry(guest.memory, kKernelPage) & kPteAccessed);
        QVERIFY(!(pageTableEntry(guest.memory, kKernelPage) & kPteDirty));
        data = {1, 2, 3, 4};
        QCOMPARE(guest.write(kKernelPage + 0x20, data).outcome, Outcome::Done);
        QCOMPARE(guest.memory.readValue<uint32_t>(physicalOf(kKernelPage) + 0x20), 0x04030201u);
        QVERIFY(pageTableEntry(guest.memory, kKernelPage) & kPteDirty);
    }

    void fsAndGsAddTheirBaseInLongModeOthersDoNot() {
        Guest guest;
        guest.sregs.gs.base = kKernelPage;
        guest.sregs.ds.base = 0x1000; // ignored in 64-bit mode (SDM 3.4.4)
        guest.memory.writeValue<uint32_t>(physicalOf(kKernelPage) + 0x40, 0xCAFE);
        std::array<uint8_t, 4> data{};
        QCOMPARE(guest.read(0x40, data, SegmentRegister::Gs).outcome, Outcome::Done);
        QCOMPARE(data[0], uint8_t{0xFE});
        data = {};
        QCOMPARE(guest.read(kKernelPage + 0x40, data, SegmentRegister::Ds).outcome, Outcome::Done);
        QCOMPARE(data[1], uint8_t{0xCA});
    }

    void notPresentPageIsAPageFaultWithCr2() {
        Guest guest;
        std::array<uint8_t, 4> data{};
        const OperandAccess read = guest.read(kAbsentPage + 8, data);
        QCOMPARE(read.outcome, Outcome::Raise);
        QCOMPARE(read.exception.vector, kPageFaultVector);
        QVERIFY(read.exception.hasErrorCode);
        QCOMPARE(read.exception.errorCode, 0u); // P=0, read, supervisor
        QVERIFY(read.exception.setsCr2);
        QCOMPARE(read.exception.cr2, kAbsentPage + 8);
        const OperandAccess write = guest.write(kAbsentPage, data);
        QCOMPARE(write.exception.errorCode, kPageFaultWrite);
    }

    void readOnlyPageFaultsOnWriteOnlyWithCr0Wp() {
        Guest guest;
        std::array<uint8_t, 4> data{9, 9, 9, 9};
        QCOMPARE(guest.read(kReadOnlyPage, data).outcome, Outcome::Done);
        const OperandAccess write = guest.write(kReadOnlyPage, data);
        QCOMPARE(write.outcome, Outcome::Raise);
        QCOMPARE(write.exception.vector, kPageFaultVector);
        QCOMPARE(write.exception.errorCode, kPageFaultPresent | kPageFaultWrite);
        QCOMPARE(guest.memory.readValue<uint32_t>(physicalOf(kReadOnlyPage)), 0u);
        guest.sregs.cr0 &= ~kCr0Wp; // supervisor writes ignore R/W (SDM 4.6.1)
        data = {9, 9, 9, 9};
        QCOMPARE(guest.write(kReadOnlyPage, data).outcome, Outcome::Done);
        QCOMPARE(guest.memory.readValue<uint32_t>(physicalOf(kReadOnlyPage)), 0x09090909u);
    }

    void smapKeepsTheKernelOffUserPagesUnlessAcIsSet() {
        Guest guest;
        std::array<uint8_t, 4> data{};
        QCOMPARE(guest.read(kUserPage, data).outcome, Outcome::Done);
        guest.sregs.cr4 |= kCr4Smap;
        const OperandAccess read = guest.read(kUserPage, data);
        QCOMPARE(read.outcome, Outcome::Raise);
        QCOMPARE(read.exception.errorCode, kPageFaultPresent);
        QCOMPARE(guest.read(kUserPage, data, SegmentRegister::Ds, 2 | kRflagsAc).outcome,
                 Outcome::Done);
    }

    void userModeNeedsUserPages() {
        Guest guest;
        guest.sregs.cs.selector = 0x23;
        guest.sregs.cs.dpl = 3;
        std::array<uint8_t, 4> data{};
        QCOMPARE(guest.read(kUserPage, data).outcome, Outcome::Done);
        const OperandAccess kernel = guest.write(kKernelPage, data);
        QCOMPARE(kernel.outcome, Outcome::Raise);
        QCOMPARE(kernel.exception.errorCode, kPageFaultPresent | kPageFaultWrite | kPageFaultUser);
    }

    void nonCanonicalAddressIsGpOrSsThroughSs() {
        Guest guest;
        std::array<uint8_t, 4> data{};
        const OperandAccess ds = guest.read(0x0000'8000'0000'0000, data);
        QCOMPARE(ds.outcome, Outcome::Raise);
        QCOMPARE(ds.exception.vector, kGeneralProtectionVector);
        QCOMPARE(ds.exception.errorCode, 0u);
        QVERIFY(!ds.exception.setsCr2);
        const OperandAccess ss = guest.read(0x0000'8000'0000'0000, data, SegmentRegister::Ss);
        QCOMPARE(ss.exception.vector, kStackFaultVector);
        // The last byte counts too: an access ending past the canonical range faults.
        QCOMPARE(guest.read(0x0000'7FFF'FFFF'FFFE, data).exception.vector,
                 kGeneralProtectionVector);
    }

    void pageCrossingIsSplitOrRefusedWhenEitherPageFaults() {
        Guest guest;
        guest.memory.writeValue<uint16_t>(physicalOf(kKernelPage) + 0xFFE, 0x2211);
        guest.memory.writeValue<uint16_t>(physicalOf(kReadOnlyPage), 0x4433);
        std::array<uint8_t, 4> data{};
        QCOMPARE(guest.read(kKernelPage + 0xFFE, data).outcome, Outcome::Done);
        QCOMPARE(data, (std::array<uint8_t, 4>{0x11, 0x22, 0x33, 0x44}));
        QCOMPARE(guest.read(kReadOnlyPage + 0xFFE, data).outcome, Outcome::Refused);
        QCOMPARE(guest.write(kKernelPage + 0xFFE, data).outcome, Outcome::Refused);
        QCOMPARE(guest.memory.readValue<uint16_t>(physicalOf(kKernelPage) + 0xFFE), 0x2211);
    }

    void protectedModeChecksLimitAndWritability() {
        Guest guest;
        guest.sregs.cr0 &= ~(1ull << 31); // no paging: linear = physical
        guest.sregs.efer = 0;
        guest.sregs.cs.l = 0;
        guest.sregs.cs.db = 1;
        guest.sregs.ds.base = 0x100000;
        guest.sregs.ds.limit = 0xFFF;
        guest.memory.writeValue<uint32_t>(0x100FFC, 0xABCD);
        std::array<uint8_t, 4> data{};
        QCOMPARE(guest.read(0xFFC, data).outcome, Outcome::Done);
        QCOMPARE(data[1], uint8_t{0xAB});
        QCOMPARE(guest.read(0xFFD, data).exception.vector, kGeneralProtectionVector);
        QCOMPARE(guest.read(0xFFD, data, SegmentRegister::Ss).outcome, Outcome::Done);
        guest.sregs.ds.type = 0x1; // read-only data
        QCOMPARE(guest.write(0, data).exception.vector, kGeneralProtectionVector);
        guest.sregs.ds.unusable = 1; // a null selector
        QCOMPARE(guest.read(0, data).exception.vector, kGeneralProtectionVector);
        guest.sregs.ss.type = 0x7; // expand-down: not modelled
        QCOMPARE(guest.read(0, data, SegmentRegister::Ss).outcome, Outcome::Refused);
    }

    void realModeAndOperandsOutsideRamAreRefused() {
        Guest guest;
        std::array<uint8_t, 4> data{};
        kvm_sregs real = guest.sregs;
        real.cr0 = 0x10;
        QCOMPARE(accessOperand(real, 2, SegmentRegister::Ds, 0, data, false, guest.memory).outcome,
                 Outcome::Refused);
        // A page that maps MMIO space (the APIC page) is left to stop the vcpu.
        guest.memory.writeValue<uint64_t>(kPageTable + 5 * 8,
                                          0xFEE00000 | kPtePresent | kPteWritable);
        QCOMPARE(guest.read(0x205000, data).outcome, Outcome::Refused);
    }
};

QTEST_GUILESS_MAIN(GuestOperandTest)
#include "GuestOperandTest.moc"
