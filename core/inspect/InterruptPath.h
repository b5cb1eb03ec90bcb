#pragma once
// The path of one interrupt request through the PC's interrupt hardware, and the first place it
// stops: the device's line, the 8259A PICs, the I/O APIC's redirection entry, the target local
// APIC's IRR, ISR and priorities, and the vcpu's IF and interrupt shadow (docs/debugger.md,
// "Interrupts"). A pure function of states read at a stop (KVM_GET_IRQCHIP, each vcpu's
// KVM_GET_LAPIC, KVM_GET_VCPU_EVENTS and RFLAGS, the lines' records), so it is tested with
// made-up states, without /dev/kvm.
//
// Both routes KVM wires for a GSI below 16 are followed (api.rst 4.25: KVM_IRQ_LINE reaches the
// PIC input and the IOAPIC pin of the same number): the PIC's output goes to vcpu 0's LINT0
// (ExtINT), the IOAPIC's message to the LAPICs its entry addresses (SDM Vol. 3A, 10.6.2 and
// 11.6.2; 82093AA datasheet, 3.2.4).
#include "cpu/CpuState.h" // first: its kvm/compat.h precedes <linux/kvm.h>
#include "machine/KvmIrqLine.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kvmscope {
class Machine;
}

namespace kvmscope::inspect {

// The in-kernel chips' state (KVM_GET_IRQCHIP of the three chips).
struct InterruptChips {
    kvm_pic_state master{};
    kvm_pic_state slave{};
    kvm_ioapic_state ioapic{};
};

// A decoded I/O APIC redirection table entry (82093AA datasheet, 3.2.4).
struct RedirectionEntry {
    uint8_t vector = 0;
    uint8_t deliveryMode = 0; // 0 fixed, 1 lowest priority, 2 SMI, 4 NMI, 5 INIT, 7 ExtINT
    bool logical = false;     // destination mode
    bool remoteIrr = false;   // a level-triggered interrupt waits for its EOI
    bool levelTriggered = false;
    bool masked = true;
    uint8_t destination = 0;
};
RedirectionEntry decodeRedirection(uint64_t bits);

// Where a request stops, as the first element of the path that holds it (or Delivered/Idle).
enum class InterruptBlock {
    NotRaised,       // the line is low and was never raised
    PicMasked,       // the PIC's IMR masks it (or the master masks the slave's cascade)
    PicInService,    // the PIC serves it or one of higher priority (ISR)
    IoapicMasked,    // both routes closed: the IOAPIC entry is masked (and the PIC's too)
    IoapicRemoteIrr, // level-triggered: the previous one was not yet acknowledged with EOI
    NoTarget,        // the entry addresses no vcpu's LAPIC
    ApicDisabled,    // IA32_APIC_BASE bit 11 or SVR bit 8 clear on the target
    Lint0Closed,     // PIC route: vcpu 0's LINT0 is masked or not ExtINT
    InService,       // the vector is in the LAPIC's ISR: its handler has not written EOI
    Priority,        // the vector's class is at or below the LAPIC's PPR
    InterruptsOff,   // IF = 0 on the target vcpu
    Shadow,          // the target vcpu is in an interrupt shadow (STI, MOV SS)
    Pending,         // accepted and deliverable: it is taken when the vcpu runs
    Idle,            // raised before, nothing pending now and nothing in the way
};

struct InterruptPath {
    uint32_t irq = 0;
    std::vector<IrqLineRecord> lines; // the devices that drive it
    bool lineHigh = false;            // any of them high now
    uint64_t raises = 0;
    uint64_t lastRaiseExit = 0;
    std::optional<int> lastStatus;

    bool viaPic = false; // a PIC input exists for it (IRQ < 16)
    bool picMasked = false, picRequested = false, picInService = false;
    uint8_t picVector = 0; // the vector the PIC would give (ICW2 base + input)

    bool viaIoapic = false; // it has an IOAPIC pin (GSI < 24)
    RedirectionEntry redirection;
    bool ioapicRequested = false; // IOAPIC IRR bit of the pin

    std::vector<uint32_t> targetVcpus; // LAPICs the route in use addresses
    InterruptBlock block = InterruptBlock::NotRaised;
    std::string sentence; // "IRQ 4 raised at exit 1234; IOAPIC pin 4 is masked"
};

// The three chips of `machine`'s in-kernel irqchip, read now (VM ioctls: any thread). Throws
// kvm::KvmError as KVM_GET_IRQCHIP does.
InterruptChips readInterruptChips(Machine& machine);

// Traces GSI `irq` (0-23). `vcpus` holds every vcpu's state at the stop, by index.
InterruptPath traceInterrupt(uint32_t irq, std::span<const IrqLineRecord> lines,
                             const InterruptChips& chips, std::span<const cpu::CpuState> vcpus);

// The 24 GSIs of the I/O APIC, each traced.
std::vector<InterruptPath> traceInterrupts(std::span<const IrqLineRecord> lines,
                                           const InterruptChips& chips,
                                           std::span<const cpu::CpuState> vcpus);

} // namespace kvmscope::inspect
