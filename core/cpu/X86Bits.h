#pragma once
// x86 architectural register bits. The kernel's uapi headers name most of them, and kvmscope uses
// those names: <asm/processor-flags.h> for RFLAGS, CR0 and CR4 (X86_EFLAGS_*, X86_CR0_*,
// X86_CR4_*), <asm/debugreg.h> for DR6 and DR7 (DR_*). This header adds only what they lack:
// EFER, which the kernel defines outside its uapi (msr-index.h), DR7's reserved bit, and CR4.PKS,
// which Debian 12's headers predate.
#include <asm/processor-flags.h>
#include <cstdint>

namespace kvmscope::x86 {

// IA32_EFER (SDM vol. 3A 2.2.1; AMD APM vol. 2 3.1.7).
inline constexpr uint64_t kEferLme = 1ull << 8;  // long mode enable
inline constexpr uint64_t kEferLma = 1ull << 10; // long mode active
inline constexpr uint64_t kEferNxe = 1ull << 11; // no-execute enable

// DR7 bit 10 is reserved and reads as 1 (SDM vol. 3B 18.2.4); <asm/debugreg.h> has no name for it.
inline constexpr uint64_t kDr7Reserved1 = 1ull << 10;

// CR4.PKS (SDM vol. 3A 2.5): protection keys for supervisor pages.
inline constexpr uint64_t kCr4Pks = 1ull << 24;

} // namespace kvmscope::x86
