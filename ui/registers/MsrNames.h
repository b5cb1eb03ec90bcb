#pragma once
// Names of the well-known MSRs in the register view's MSR group (Intel SDM vol. 4, chapter 2
// "Model-Specific Registers", and Documentation/virt/kvm/x86/msr.rst for KVM's own).
#include <QString>
#include <cstdint>

namespace kvmscope::ui {

// "IA32_EFER", "MSR_KVM_SYSTEM_TIME_NEW", ... or an empty string for an MSR without a name here.
QString msrName(uint32_t index);
// The name, or "MSR 0x…" for an unnamed one.
QString msrDisplayName(uint32_t index);

} // namespace kvmscope::ui
