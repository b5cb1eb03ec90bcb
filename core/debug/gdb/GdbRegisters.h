#pragma once
// The registers kvmscope's gdb stub offers and the target description that tells gdb about them
// (gdb manual, "Target Descriptions" and "Standard Target Features", i386 features): an
// i386:x86-64 target with org.gnu.gdb.i386.core (general, segment and x87 registers),
// org.gnu.gdb.i386.sse (xmm0-15, mxcsr), org.gnu.gdb.i386.segments (fs_base, gs_base) and
// kvmscope's own org.kvmscope.x86.system (k_gs_base, cr0, cr2, cr3, cr4, cr8, efer), which gdb
// shows like any register it has no special knowledge of.
//
// The `g` packet and the register numbers of `p`/`P` follow the order of the description: each
// register in the file is little-endian, as on the target.
#include "kvm/compat.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvmscope::debug::gdb {

struct RegisterInfo {
    std::string_view name;
    unsigned bits = 64;
    std::string_view type; // a predefined gdb type or one the description defines
    std::string_view group;
    size_t offset = 0; // in the register file, bytes
};

// In register-number order.
std::span<const RegisterInfo> registerLayout();
size_t registerFileSize();
std::optional<size_t> registerNumber(std::string_view name);

using RegisterFile = std::vector<uint8_t>;

// What a vcpu's registers are made of in KVM's terms (api.rst 4.11-4.24: KVM_GET_REGS,
// KVM_GET_SREGS, KVM_GET_FPU; MSR_KERNEL_GS_BASE through KVM_GET_MSRS).
struct VcpuRegisters {
    kvm_regs regs{};
    kvm_sregs sregs{};
    kvm_fpu fpu{};
    uint64_t kernelGsBase = 0;
};

constexpr uint32_t kMsrKernelGsBase = 0xC0000102; // SDM vol. 4, IA32_KERNEL_GS_BASE

RegisterFile toRegisterFile(const VcpuRegisters& vcpu);
// Writes `file` into `vcpu`. A segment register's selector is taken only when it changed: the
// hidden part (base, limit, attributes) stays as it was, since gdb only knows the selector.
void fromRegisterFile(const RegisterFile& file, VcpuRegisters& vcpu);

uint64_t readRegister(const RegisterFile& file, size_t number); // up to the first 8 bytes
void writeRegister(RegisterFile& file, size_t number, uint64_t value);

// The document served by qXfer:features:read for the annex "target.xml".
const std::string& targetDescription();

} // namespace kvmscope::debug::gdb
