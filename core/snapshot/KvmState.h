#pragma once
// What KVM holds of a machine, as snapshot sections (docs/snapshots.md): each vcpu's state
// (section "vcpu.N") and the VM's in-kernel chips and clock (section "vm"). Capture and apply
// take the kvm:: objects; a vcpu's must run on its own thread (VcpuRunner::call), as every vcpu
// ioctl in kvmscope does. Kernel structs whose layout is the UAPI's (kvm_regs, kvm_sregs,
// kvm_lapic_state, ...) are stored whole with their size, which decoding checks; lists (MSRs,
// CPUID entries) are stored field by field.
#include "kvm/compat.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kvmscope::kvm {
class Vcpu;
class Vm;
} // namespace kvmscope::kvm

namespace kvmscope::snapshot {

struct VcpuState {
    kvm_regs regs{};
    kvm_sregs sregs{};
    std::vector<uint8_t> xsave; // empty on a host without XSAVE: `fpu` holds the FPU then
    std::optional<kvm_fpu> fpu;
    std::optional<kvm_xcrs> xcrs; // with KVM_CAP_XCRS
    std::vector<kvm_msr_entry> msrs;
    kvm_lapic_state lapic{};
    kvm_vcpu_events events{};
    kvm_mp_state mpState{};
    kvm_debugregs debugRegs{};
    std::vector<kvm_cpuid_entry2> cpuid;
};

struct VmState {
    kvm_irqchip picMaster{};
    kvm_irqchip picSlave{};
    kvm_irqchip ioapic{};
    kvm_pit_state2 pit{};
    kvm_clock_data clock{};
};

std::string vcpuSectionName(size_t index);
inline constexpr const char* kVmSection = "vm";

// On the vcpu's thread. `xsaveSize`: Vm::xsaveSize(); `msrIndices`: KVM_GET_MSR_INDEX_LIST.
VcpuState captureVcpu(kvm::Vcpu& vcpu, size_t xsaveSize, const std::vector<uint32_t>& msrIndices);
// On the vcpu's thread, before it first runs, in the order api.rst asks for (see the .cpp).
// Throws LoadError naming `file` and the vcpu's section when the saved XSAVE area is larger than
// this host's, kvm::KvmError when KVM refuses a part.
void applyVcpu(kvm::Vcpu& vcpu, const VcpuState& state, size_t xsaveSize, const std::string& file);

VmState captureVm(const kvm::Vm& vm);
void applyVm(kvm::Vm& vm, const VmState& state);

std::vector<uint8_t> encodeVcpu(const VcpuState& state);
// Throws LoadError naming the file, the section and the record for a missing record, one of
// another size, a cut-short list or bytes left over.
VcpuState decodeVcpu(std::span<const uint8_t> bytes, const std::string& file,
                     const std::string& section);
std::vector<uint8_t> encodeVm(const VmState& state);
VmState decodeVm(std::span<const uint8_t> bytes, const std::string& file,
                 const std::string& section);

} // namespace kvmscope::snapshot
