#pragma once
// A vcpu's local APIC, which KVM emulates in the kernel with its irqchip (KVM_CREATE_IRQCHIP), as
// a device whose attributes are its registers: read with KVM_GET_LAPIC and written with a
// read-modify-write through KVM_SET_LAPIC (api.rst 4.57, 4.58). The register page is the xAPIC's
// (Intel SDM Vol. 3A, 11.4.1, Table 11-1 "Local APIC Register Address Map"), one 32-bit register
// every 16 bytes; IRR, ISR and TMR are 256-bit registers, eight of them apart, shown as 32 bytes
// in which bit n is vector n.
//
// Vcpu ioctls run on the vcpu's own thread, so every access goes through the runner (a running
// vcpu is kicked out of KVM_RUN for it and goes on). KVM computes the timer's current count when
// the state is read; writing the state back restarts the timer from that count.
#include "devices/Device.h"

#include <array>
#include <cstdint>

struct kvm_lapic_state;

namespace kvmscope {

namespace cpu {
class VcpuRunner;
}

class KernelLapic : public Device {
public:
    enum Group : uint32_t { Registers = 0, LocalVectorTable = 1, Timer = 2, Vectors = 3 };

    // Register offsets in the APIC page (SDM Vol. 3A, Table 11-1).
    enum Offset : uint32_t {
        kId = 0x20,
        kVersion = 0x30,
        kTaskPriority = 0x80,
        kArbitrationPriority = 0x90,
        kProcessorPriority = 0xa0,
        kLogicalDestination = 0xd0,
        kDestinationFormat = 0xe0,
        kSpuriousVector = 0xf0,
        kInService = 0x100,
        kTriggerMode = 0x180,
        kInterruptRequest = 0x200,
        kErrorStatus = 0x280,
        kLvtCmci = 0x2f0,
        kInterruptCommandLow = 0x300,
        kInterruptCommandHigh = 0x310,
        kLvtTimer = 0x320,
        kLvtThermal = 0x330,
        kLvtPerformance = 0x340,
        kLvtLint0 = 0x350,
        kLvtLint1 = 0x360,
        kLvtError = 0x370,
        kTimerInitialCount = 0x380,
        kTimerCurrentCount = 0x390,
        kTimerDivide = 0x3e0,
    };

    // Bits of an LVT entry and of the spurious-vector register (SDM Vol. 3A, 11.5.1 and 11.9).
    static constexpr uint32_t kLvtMasked = 1u << 16;
    static constexpr uint32_t kSoftwareEnabled = 1u << 8; // SVR bit 8: APIC software enable

    // The attribute id is the register's offset in the APIC page.
    explicit KernelLapic(cpu::VcpuRunner& runner);

    std::string name() const override;
    DeviceKind kind() const override { return DeviceKind::InKernelChip; }
    bool readsOnVcpuThread() const override { return true; }
    std::vector<AttributeInfo> attributes() const override;
    AttrValue getAttr(uint32_t group, uint64_t attr) const override;
    void setAttr(uint32_t group, uint64_t attr, const AttrValue& value) override;

    // The 32-bit register at `offset` of a KVM_GET_LAPIC page, and the 256-bit one whose first
    // word is there, as bytes with vector n at bit n (for the interrupt view and tests).
    static uint32_t registerAt(const kvm_lapic_state& state, uint32_t offset);
    static void setRegisterAt(kvm_lapic_state& state, uint32_t offset, uint32_t value);
    static std::array<uint8_t, 32> vectorsAt(const kvm_lapic_state& state, uint32_t offset);

    uint32_t vcpuIndex() const;

private:
    kvm_lapic_state read() const;

    cpu::VcpuRunner& runner_;
};

} // namespace kvmscope
