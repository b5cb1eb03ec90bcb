// The path of an interrupt through made-up chip and vcpu states (inspect/InterruptPath.h): each
// place where a request can stop is named in the sentence, in the order the hardware meets them
// (8259A datasheet; 82093AA datasheet 3.2.4; Intel SDM Vol. 3A, 11.6-11.8).
#include "inspect/InterruptPath.h"

#include <QTest>
#include <cstring>

using namespace kvmscope;
using namespace kvmscope::inspect;

namespace {

constexpr uint64_t kApicBaseEnabled = 0xfee00000ull | (1ull << 11) | (1ull << 8);
constexpr uint64_t kRflagsIf = 1ull << 9;

void setApic(cpu::CpuState& vcpu, uint32_t offset, uint32_t value) {
    std::memcpy(vcpu.lapic.regs + offset, &value, sizeof value);
}

void setVectorBit(cpu::CpuState& vcpu, uint32_t base, uint8_t vector) {
    uint32_t word = 0;
    std::memcpy(&word, vcpu.lapic.regs + base + (vector / 32) * 0x10, sizeof word);
    setApic(vcpu, base + (vector / 32) * 0x10, word | (1u << (vector % 32)));
}

// A vcpu as an OS leaves it once it runs with interrupts: LAPIC enabled, id = index, flat
// logical id 1 << index, LINT0 masked, IF set.
cpu::CpuState runningVcpu(uint32_t index) {
    cpu::CpuState vcpu;
    vcpu.vcpu = index;
    vcpu.hasLapic = true;
    vcpu.sregs.apic_base = kApicBaseEnabled;
    vcpu.regs.rflags = 0x2 | kRflagsIf;
    setApic(vcpu, 0x20, index << 24);
    setApic(vcpu, 0xd0, (1u << index) << 24);
    setApic(vcpu, 0xe0, 0xffffffffu);
    setApic(vcpu, 0xf0, 0x1ff); // enabled, spurious vector 0xff
    setApic(vcpu, 0x350, 1u << 16);
    return vcpu;
}

// Both PICs fully masked and every IOAPIC pin masked, as after firmware.
InterruptChips closedChips() {
    InterruptChips chips;
    chips.master.imr = 0xff;
    chips.master.irq_base = 0x08;
    chips.slave.imr = 0xff;
    chips.slave.irq_base = 0x70;
    for (auto& entry : chips.ioapic.redirtbl)
        entry.bits = 1ull << 16;
    return chips;
}

// IOAPIC pin `pin` unmasked: edge, fixed, physical destination `apicId`.
void routeToApic(InterruptChips& chips, uint32_t pin, uint8_t vector, uint8_t apicId) {
    chips.ioapic.redirtbl[pin].bits = vector | (uint64_t{apicId} << 56);
}

IrqLineRecord com1(bool level, uint64_t raises, uint64_t lastExit) {
    return {4, "COM1", level, raises, lastExit, 1};
}

} // namespace

class InterruptTraceTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void aLineNothingDrivesSaysSo() {
        const std::vector<cpu::CpuState> vcpus{runningVcpu(0)};
        const InterruptPath path = traceInterrupt(5, {}, closedChips(), vcpus);
        QCOMPARE(path.block, InterruptBlock::NotRaised);
        QCOMPARE(QString::fromStdString(path.sentence),
                 QStringLiteral("IRQ 5: no device drives this line"));
    }

    void aLineNeverRaised() {
        const std::vector<IrqLineRecord> lines{com1(false, 0, 0)};
        const std::vector<cpu::CpuState> vcpus{runningVcpu(0)};
        const InterruptPath path = traceInterrupt(4, lines, closedChips(), vcpus);
        QCOMPARE(path.block, InterruptBlock::NotRaised);
        QCOMPARE(QString::fromStdString(path.sentence),
                 QStringLiteral("IRQ 4 (COM1): never raised"));
    }

    // The issue's example: raised, and the IOAPIC pin is masked (the PIC masks it too).
    void maskedInTheIoapicAndThePic() {
        const std::vector<IrqLineRecord> lines{com1(true, 1, 1234)};
        const std::vector<cpu::CpuState> vcpus{runningVcpu(0)};
        const InterruptPath path = traceInterrupt(4, lines, closedChips(), vcpus);
        QCOMPARE(path.block, InterruptBlock::IoapicMasked);
        QVERIFY(path.picMasked);
        QVERIFY(path.redirection.masked);
        QCOMPARE(QString::fromStdString(path.sentence),
                 QStringLiteral("IRQ 4 (COM1) is high, last at exit 1234; IOAPIC pin 4 is "
                                "masked and the PIC masks IRQ 4 (IMR)"));
    }

    void theSlaveBehindAMaskedCascade() {
        InterruptChips chips = closedChips();
        chips.slave.imr = 0x00; // IRQ 8-15 open on the slave, closed at the master's input 2
        const std::vector<IrqLineRecord> lines{{8, "RTC", true, 3, 99, std::nullopt}};
        const std::vector<cpu::CpuState> vcpus{runningVcpu(0)};
        const InterruptPath path = traceInterrupt(8, lines, chips, vcpus);
        QVERIFY(path.sentence.find("the master PIC masks the slave's cascade (IRQ 2)") !=
                std::string::npos);
    }

    void pendingInTheLapicButInterruptsAreOff() {
        InterruptChips chips = closedChips();
        routeToApic(chips, 4, 0x24, 0);
        std::vector<cpu::CpuState> vcpus{runningVcpu(0)};
        setVectorBit(vcpus[0], 0x200, 0x24);
        vcpus[0].regs.rflags &= ~kRflagsIf;
        const std::vector<IrqLineRecord> lines{com1(true, 2, 50)};
        const InterruptPath path = traceInterrupt(4, lines, chips, vcpus);
        QCOMPARE(path.block, InterruptBlock::InterruptsOff);
        QCOMPARE(path.targetVcpus, std::vector<uint32_t>{0});
        QVERIFY(path.sentence.find("IOAPIC pin 4 → vector 0x24 (fixed, APIC id 0x0)") !=
                std::string::npos);
        QVERIFY(path.sentence.find("vcpu 0 has interrupts disabled (IF = 0)") != std::string::npos);
    }

    void heldBackByTheProcessorPriority() {
        InterruptChips chips = closedChips();
        routeToApic(chips, 4, 0x34, 0);
        std::vector<cpu::CpuState> vcpus{runningVcpu(0)};
        setVectorBit(vcpus[0], 0x200, 0x34);
        setApic(vcpus[0], 0xa0, 0x40); // PPR class 4 holds class 3 back
        const std::vector<IrqLineRecord> lines{com1(true, 1, 7)};
        const InterruptPath path = traceInterrupt(4, lines, chips, vcpus);
        QCOMPARE(path.block, InterruptBlock::Priority);
        QVERIFY(path.sentence.find("PPR 0x40") != std::string::npos);
    }

    void inServiceUntilEoi() {
        InterruptChips chips = closedChips();
        routeToApic(chips, 4, 0x24, 0);
        std::vector<cpu::CpuState> vcpus{runningVcpu(0)};
        setVectorBit(vcpus[0], 0x100, 0x24);
        const std::vector<IrqLineRecord> lines{com1(true, 1, 7)};
        QCOMPARE(traceInterrupt(4, lines, chips, vcpus).block, InterruptBlock::InService);
    }

    void levelTriggeredWaitsForEoiAtTheIoapic() {
        InterruptChips chips = closedChips();
        chips.ioapic.redirtbl[16].bits = 0x41 | (1ull << 15) | (1ull << 14); // level, remote IRR
        const std::vector<IrqLineRecord> lines{{16, "PCI PIRQA#", true, 1, 3, 1}};
        const std::vector<cpu::CpuState> vcpus{runningVcpu(0)};
        const InterruptPath path = traceInterrupt(16, lines, chips, vcpus);
        QCOMPARE(path.block, InterruptBlock::IoapicRemoteIrr);
        QVERIFY(!path.viaPic);
    }

    void anEntryThatAddressesNoVcpu() {
        InterruptChips chips = closedChips();
        routeToApic(chips, 4, 0x24, 5);
        const std::vector<cpu::CpuState> vcpus{runningVcpu(0), runningVcpu(1)};
        const std::vector<IrqLineRecord> lines{com1(true, 1, 7)};
        const InterruptPath path = traceInterrupt(4, lines, chips, vcpus);
        QCOMPARE(path.block, InterruptBlock::NoTarget);
        QVERIFY(path.sentence.find("addresses no vcpu's LAPIC") != std::string::npos);
    }

    void logicalFlatDestinationReachesEachAddressedVcpu() {
        InterruptChips chips = closedChips();
        chips.ioapic.redirtbl[4].bits = 0x24 | (1ull << 11) | (uint64_t{0x3} << 56);
        const std::vector<cpu::CpuState> vcpus{runningVcpu(0), runningVcpu(1), runningVcpu(2)};
        const std::vector<IrqLineRecord> lines{com1(false, 4, 70)};
        const InterruptPath path = traceInterrupt(4, lines, chips, vcpus);
        QCOMPARE(path.targetVcpus, (std::vector<uint32_t>{0, 1}));
        QCOMPARE(path.block, InterruptBlock::Idle);
        QVERIFY(path.sentence.find("nothing pending, and the path is open") != std::string::npos);
    }

    void aSoftwareDisabledApicDropsIt() {
        InterruptChips chips = closedChips();
        routeToApic(chips, 4, 0x24, 0);
        std::vector<cpu::CpuState> vcpus{runningVcpu(0)};
        setApic(vcpus[0], 0xf0, 0xff); // SVR bit 8 clear
        const std::vector<IrqLineRecord> lines{com1(true, 1, 7)};
        const InterruptPath path = traceInterrupt(4, lines, chips, vcpus);
        QCOMPARE(path.block, InterruptBlock::ApicDisabled);
        QVERIFY(path.sentence.find("SVR bit 8 clear") != std::string::npos);
    }

    // The PIC route: a real-mode or PIC-only guest, LAPIC disabled in IA32_APIC_BASE.
    void thePicRouteToVcpuZero() {
        InterruptChips chips = closedChips();
        chips.master.imr = 0xef; // IRQ 4 open
        chips.master.irr = 0x10;
        std::vector<cpu::CpuState> vcpus{runningVcpu(0)};
        vcpus[0].sregs.apic_base &= ~(1ull << 11);
        const std::vector<IrqLineRecord> lines{com1(true, 1, 7)};
        InterruptPath path = traceInterrupt(4, lines, chips, vcpus);
        QCOMPARE(path.picVector, uint8_t(0x0c));
        QCOMPARE(path.block, InterruptBlock::Pending);
        QVERIFY(path.sentence.find("PIC → vector 0xc through vcpu 0's LINT0") != std::string::npos);

        chips.master.isr = 0x01; // IRQ 0 in service: higher priority, IRQ 4 waits
        path = traceInterrupt(4, lines, chips, vcpus);
        QCOMPARE(path.block, InterruptBlock::PicInService);

        // Taken, and its handler has not written EOI yet: not "nothing pending".
        chips.master.irr = 0;
        chips.master.isr = 0x10;
        path = traceInterrupt(4, lines, chips, vcpus);
        QCOMPARE(path.block, InterruptBlock::PicInService);
        QVERIFY(path.sentence.find("waits for its handler's EOI") != std::string::npos);

        // With the LAPIC enabled and LINT0 masked, the PIC's output goes nowhere.
        chips.master.isr = 0;
        vcpus[0].sregs.apic_base |= 1ull << 11;
        path = traceInterrupt(4, lines, chips, vcpus);
        QCOMPARE(path.block, InterruptBlock::Lint0Closed);
        QVERIFY(path.sentence.find("LINT0") != std::string::npos);
    }

    void everyPinIsTraced() {
        const std::vector<cpu::CpuState> vcpus{runningVcpu(0)};
        const auto paths = traceInterrupts({}, closedChips(), vcpus);
        QCOMPARE(paths.size(), size_t(24));
        QCOMPARE(paths[0].irq, 0u);
        // IRQ 0 is the in-kernel PIT's, whose raises kvmscope does not see.
        QVERIFY(paths[0].sentence.find("PIT, in-kernel") != std::string::npos);
    }
};

QTEST_GUILESS_MAIN(InterruptTraceTest)
#include "InterruptTraceTest.moc"
