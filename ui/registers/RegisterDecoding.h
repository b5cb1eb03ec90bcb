#pragma once
// Human-readable decodings of x86 control and flag registers for the register view. Bit
// positions follow the Intel SDM vol. 3A: RFLAGS (section 2.3, figure 2-5), CR0/CR4 (section
// 2.5, figure 2-7), IA32_EFER (section 2.2.1, table 2-1), and segment descriptor attributes
// (section 3.4.5, figure 3-8) as KVM reports them in struct kvm_segment.
#include "inspect/VcpuSnapshot.h" // kvm_segment, as the snapshots carry it

#include <QString>
#include <cstdint>

namespace kvmscope::ui {

// Names of the set flags, e.g. "IF ZF IOPL=0".
QString decodeRflags(uint64_t rflags);
QString decodeCr0(uint64_t cr0);
QString decodeCr4(uint64_t cr4);
QString decodeEfer(uint64_t efer);
// "base=0x0 limit=0xffff type=0xb code,read,accessed dpl=0 P DB G" or "unusable".
QString decodeSegment(const kvm_segment& segment);
// Parses "0x1f", "1f" (hex is the register view's base) or "#31" (decimal); false when invalid.
bool parseRegisterValue(const QString& text, uint64_t& value);
// "0x0000000000007c02": registers are shown at their full 64-bit width.
QString formatRegister64(uint64_t value);

} // namespace kvmscope::ui
