#include "debug/gdb/GdbRegisters.h"

#include <array>
#include <cstring>
#include <fmt/format.h>

namespace kvmscope::debug::gdb {
namespace {

// One feature of the description and its registers, in register-number order.
struct FeatureRegisters {
    std::string_view feature;
    std::vector<RegisterInfo> registers;
};

std::vector<FeatureRegisters> makeFeatures() {
    std::vector<FeatureRegisters> features;
    // org.gnu.gdb.i386.core: gdb's amd64 code checks these names in this order (general
    // registers, rip, eflags, the six segment selectors, then the x87 stack and its control
    // registers).
    FeatureRegisters core{"org.gnu.gdb.i386.core", {}};
    for (const char* name : {"rax", "rbx", "rcx", "rdx", "rsi", "rdi"})
        core.registers.push_back({name, 64, "int64", "general"});
    core.registers.push_back({"rbp", 64, "data_ptr", "general"});
    core.registers.push_back({"rsp", 64, "data_ptr", "general"});
    for (const char* name : {"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"})
        core.registers.push_back({name, 64, "int64", "general"});
    core.registers.push_back({"rip", 64, "code_ptr", "general"});
    core.registers.push_back({"eflags", 32, "kvmscope_eflags", "general"});
    for (const char* name : {"cs", "ss", "ds", "es", "fs", "gs"})
        core.registers.push_back({name, 32, "int32", "general"});
    for (const char* name : {"st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7"})
        core.registers.push_back({name, 80, "i387_ext", "float"});
    for (const char* name : {"fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"})
        core.registers.push_back({name, 32, "int", "float"});
    features.push_back(std::move(core));

    FeatureRegisters sse{"org.gnu.gdb.i386.sse", {}};
    for (int i = 0; i < 16; ++i) {
        static const std::array<std::string, 16> names = [] {
            std::array<std::string, 16> n;
            for (size_t j = 0; j < n.size(); ++j)
                n[j] = fmt::format("xmm{}", j);
            return n;
        }();
        sse.registers.push_back({names[static_cast<size_t>(i)], 128, "kvmscope_vec128", "vector"});
    }
    sse.registers.push_back({"mxcsr", 32, "kvmscope_mxcsr", "vector"});
    features.push_back(std::move(sse));

    FeatureRegisters segments{"org.gnu.gdb.i386.segments", {}};
    segments.registers.push_back({"fs_base", 64, "int", "system"});
    segments.registers.push_back({"gs_base", 64, "int", "system"});
    features.push_back(std::move(segments));

    // Not one of gdb's standard features: the system state a kernel debugger wants to see.
    FeatureRegisters system{"org.kvmscope.x86.system", {}};
    for (const char* name : {"k_gs_base", "cr0", "cr2", "cr3", "cr4", "cr8", "efer"})
        system.registers.push_back({name, 64, "int", "system"});
    features.push_back(std::move(system));

    size_t offset = 0;
    for (auto& feature : features)
        for (auto& reg : feature.registers) {
            reg.offset = offset;
            offset += reg.bits / 8;
        }
    return features;
}

const std::vector<FeatureRegisters>& features() {
    static const std::vector<FeatureRegisters> all = makeFeatures();
    return all;
}

const std::vector<RegisterInfo>& flatLayout() {
    static const std::vector<RegisterInfo> layout = [] {
        std::vector<RegisterInfo> out;
        for (const auto& feature : features())
            out.insert(out.end(), feature.registers.begin(), feature.registers.end());
        return out;
    }();
    return layout;
}

std::string makeDescription() {
    std::string xml = "<?xml version=\"1.0\"?>\n"
                      "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
                      "<target version=\"1.0\">\n"
                      "  <architecture>i386:x86-64</architecture>\n";
    size_t number = 0;
    for (const auto& feature : features()) {
        xml += fmt::format("  <feature name=\"{}\">\n", feature.feature);
        if (feature.feature == "org.gnu.gdb.i386.core") {
            // RFLAGS bits by their SDM vol. 1 3.4.3 names.
            xml += "    <flags id=\"kvmscope_eflags\" size=\"4\">\n";
            static constexpr std::pair<const char*, int> kEflags[] = {
                {"CF", 0},  {"PF", 2},   {"AF", 4},   {"ZF", 6},  {"SF", 7},  {"TF", 8},
                {"IF", 9},  {"DF", 10},  {"OF", 11},  {"NT", 14}, {"RF", 16}, {"VM", 17},
                {"AC", 18}, {"VIF", 19}, {"VIP", 20}, {"ID", 21}};
            for (const auto& [name, bit] : kEflags)
                xml += fmt::format("      <field name=\"{}\" start=\"{}\" end=\"{}\"/>\n", name,
                                   bit, bit);
            xml += "    </flags>\n";
        } else if (feature.feature == "org.gnu.gdb.i386.sse") {
            xml += "    <vector id=\"kvmscope_v4f\" type=\"ieee_single\" count=\"4\"/>\n"
                   "    <vector id=\"kvmscope_v2d\" type=\"ieee_double\" count=\"2\"/>\n"
                   "    <vector id=\"kvmscope_v16i8\" type=\"int8\" count=\"16\"/>\n"
                   "    <vector id=\"kvmscope_v8i16\" type=\"int16\" count=\"8\"/>\n"
                   "    <vector id=\"kvmscope_v4i32\" type=\"int32\" count=\"4\"/>\n"
                   "    <vector id=\"kvmscope_v2i64\" type=\"int64\" count=\"2\"/>\n"
                   "    <union id=\"kvmscope_vec128\">\n"
                   "      <field name=\"v4_float\" type=\"kvmscope_v4f\"/>\n"
                   "      <field name=\"v2_double\" type=\"kvmscope_v2d\"/>\n"
                   "      <field name=\"v16_int8\" type=\"kvmscope_v16i8\"/>\n"
                   "      <field name=\"v8_int16\" type=\"kvmscope_v8i16\"/>\n"
                   "      <field name=\"v4_int32\" type=\"kvmscope_v4i32\"/>\n"
                   "      <field name=\"v2_int64\" type=\"kvmscope_v2i64\"/>\n"
                   "      <field name=\"uint128\" type=\"uint128\"/>\n"
                   "    </union>\n";
            // MXCSR bits by their SDM vol. 1 10.2.3 names.
            xml += "    <flags id=\"kvmscope_mxcsr\" size=\"4\">\n";
            static constexpr std::pair<const char*, int> kMxcsr[] = {
                {"IE", 0}, {"DE", 1}, {"ZE", 2}, {"OE", 3},  {"UE", 4},  {"PE", 5},  {"DAZ", 6},
                {"IM", 7}, {"DM", 8}, {"ZM", 9}, {"OM", 10}, {"UM", 11}, {"PM", 12}, {"FZ", 15}};
            for (const auto& [name, bit] : kMxcsr)
                xml += fmt::format("      <field name=\"{}\" start=\"{}\" end=\"{}\"/>\n", name,
                                   bit, bit);
            xml += "    </flags>\n";
        }
        for (const auto& reg : feature.registers)
            xml += fmt::format(
                "    <reg name=\"{}\" bitsize=\"{}\" type=\"{}\" group=\"{}\" regnum=\"{}\"/>\n",
                reg.name, reg.bits, reg.type, reg.group, number++);
        xml += "  </feature>\n";
    }
    xml += "</target>\n";
    return xml;
}

// x87 tag word (SDM vol. 1 8.1.7): FXSAVE/KVM_GET_FPU keep the abridged form, one "not empty"
// bit per physical register; gdb's ftag is the full form, two bits per physical register.
constexpr unsigned kTagValid = 0, kTagZero = 1, kTagSpecial = 2, kTagEmpty = 3;

unsigned classifyX87(const uint8_t* value) {
    uint64_t mantissa = 0;
    std::memcpy(&mantissa, value, 8);
    const unsigned exponent = (value[8] | value[9] << 8) & 0x7FFF;
    if (exponent == 0x7FFF)
        return kTagSpecial;
    if (exponent == 0)
        return mantissa == 0 ? kTagZero : kTagSpecial;
    return (mantissa >> 63) ? kTagValid : kTagSpecial;
}

uint32_t fullTagWord(const kvm_fpu& fpu) {
    const unsigned top = (fpu.fsw >> 11) & 7;
    uint32_t tags = 0;
    for (unsigned physical = 0; physical < 8; ++physical) {
        unsigned tag = kTagEmpty;
        if (fpu.ftwx & (1u << physical))
            tag = classifyX87(fpu.fpr[(physical - top) & 7]); // fpr[] is in stack order ST(i)
        tags |= tag << (2 * physical);
    }
    return tags;
}

uint8_t abridgedTagWord(uint32_t full) {
    uint8_t abridged = 0;
    for (unsigned physical = 0; physical < 8; ++physical)
        if (((full >> (2 * physical)) & 3) != kTagEmpty)
            abridged |= static_cast<uint8_t>(1u << physical);
    return abridged;
}

__u64* generalRegister(kvm_regs& regs, size_t number) {
    __u64* const order[] = {&regs.rax, &regs.rbx, &regs.rcx, &regs.rdx, &regs.rsi, &regs.rdi,
                            &regs.rbp, &regs.rsp, &regs.r8,  &regs.r9,  &regs.r10, &regs.r11,
                            &regs.r12, &regs.r13, &regs.r14, &regs.r15, &regs.rip};
    return order[number];
}

kvm_segment* segmentRegister(kvm_sregs& sregs, size_t index) {
    kvm_segment* const order[] = {&sregs.cs, &sregs.ss, &sregs.ds, &sregs.es, &sregs.fs, &sregs.gs};
    return order[index];
}

// Register numbers of the description (makeFeatures' order).
constexpr size_t kRip = 16, kEflags = 17, kFirstSegment = 18, kFirstSt = 24, kFctrl = 32,
                 kFirstXmm = 40, kMxcsr = 56, kFsBase = 57, kKernelGsBase = 59;

} // namespace

std::span<const RegisterInfo> registerLayout() {
    return flatLayout();
}

size_t registerFileSize() {
    const auto& last = flatLayout().back();
    return last.offset + last.bits / 8;
}

std::optional<size_t> registerNumber(std::string_view name) {
    const auto& layout = flatLayout();
    for (size_t i = 0; i < layout.size(); ++i)
        if (layout[i].name == name)
            return i;
    return std::nullopt;
}

uint64_t readRegister(const RegisterFile& file, size_t number) {
    const RegisterInfo& reg = flatLayout().at(number);
    uint64_t value = 0;
    std::memcpy(&value, file.data() + reg.offset, std::min<size_t>(8, reg.bits / 8));
    return value;
}

void writeRegister(RegisterFile& file, size_t number, uint64_t value) {
    const RegisterInfo& reg = flatLayout().at(number);
    std::memcpy(file.data() + reg.offset, &value, std::min<size_t>(8, reg.bits / 8));
}

RegisterFile toRegisterFile(const VcpuRegisters& vcpu) {
    RegisterFile file(registerFileSize(), 0);
    VcpuRegisters copy = vcpu;
    const auto& layout = flatLayout();
    for (size_t i = 0; i <= kRip; ++i)
        writeRegister(file, i, *generalRegister(copy.regs, i));
    writeRegister(file, kEflags, vcpu.regs.rflags);
    for (size_t i = 0; i < 6; ++i)
        writeRegister(file, kFirstSegment + i, segmentRegister(copy.sregs, i)->selector);
    for (size_t i = 0; i < 8; ++i)
        std::memcpy(file.data() + layout[kFirstSt + i].offset, vcpu.fpu.fpr[i], 10);
    const uint64_t x87[] = {vcpu.fpu.fcw,
                            vcpu.fpu.fsw,
                            fullTagWord(vcpu.fpu),
                            0, // fiseg: FXSAVE in 64-bit form keeps no selectors
                            static_cast<uint32_t>(vcpu.fpu.last_ip),
                            0,
                            static_cast<uint32_t>(vcpu.fpu.last_dp),
                            vcpu.fpu.last_opcode};
    for (size_t i = 0; i < 8; ++i)
        writeRegister(file, kFctrl + i, x87[i]);
    for (size_t i = 0; i < 16; ++i)
        std::memcpy(file.data() + layout[kFirstXmm + i].offset, vcpu.fpu.xmm[i], 16);
    writeRegister(file, kMxcsr, vcpu.fpu.mxcsr);
    writeRegister(file, kFsBase, vcpu.sregs.fs.base);
    writeRegister(file, kFsBase + 1, vcpu.sregs.gs.base);
    const uint64_t system[] = {vcpu.kernelGsBase, vcpu.sregs.cr0, vcpu.sregs.cr2, vcpu.sregs.cr3,
                               vcpu.sregs.cr4,    vcpu.sregs.cr8, vcpu.sregs.efer};
    for (size_t i = 0; i < 7; ++i)
        writeRegister(file, kKernelGsBase + i, system[i]);
    return file;
}

void fromRegisterFile(const RegisterFile& file, VcpuRegisters& vcpu) {
    if (file.size() != registerFileSize())
        return;
    const auto& layout = flatLayout();
    for (size_t i = 0; i <= kRip; ++i)
        *generalRegister(vcpu.regs, i) = readRegister(file, i);
    // The upper half of RFLAGS is reserved (SDM vol. 1 3.4.3): gdb's 32-bit eflags is all of it.
    vcpu.regs.rflags = static_cast<uint32_t>(readRegister(file, kEflags));
    for (size_t i = 0; i < 6; ++i) {
        kvm_segment* segment = segmentRegister(vcpu.sregs, i);
        const auto selector = static_cast<uint16_t>(readRegister(file, kFirstSegment + i));
        if (selector != segment->selector)
            segment->selector = selector;
    }
    for (size_t i = 0; i < 8; ++i)
        std::memcpy(vcpu.fpu.fpr[i], file.data() + layout[kFirstSt + i].offset, 10);
    vcpu.fpu.fcw = static_cast<uint16_t>(readRegister(file, kFctrl));
    vcpu.fpu.fsw = static_cast<uint16_t>(readRegister(file, kFctrl + 1));
    vcpu.fpu.ftwx = abridgedTagWord(static_cast<uint32_t>(readRegister(file, kFctrl + 2)));
    vcpu.fpu.last_ip = static_cast<uint32_t>(readRegister(file, kFctrl + 4));
    vcpu.fpu.last_dp = static_cast<uint32_t>(readRegister(file, kFctrl + 6));
    vcpu.fpu.last_opcode = static_cast<uint16_t>(readRegister(file, kFctrl + 7));
    for (size_t i = 0; i < 16; ++i)
        std::memcpy(vcpu.fpu.xmm[i], file.data() + layout[kFirstXmm + i].offset, 16);
    vcpu.fpu.mxcsr = static_cast<uint32_t>(readRegister(file, kMxcsr));
    vcpu.sregs.fs.base = readRegister(file, kFsBase);
    vcpu.sregs.gs.base = readRegister(file, kFsBase + 1);
    vcpu.kernelGsBase = readRegister(file, kKernelGsBase);
    vcpu.sregs.cr0 = readRegister(file, kKernelGsBase + 1);
    vcpu.sregs.cr2 = readRegister(file, kKernelGsBase + 2);
    vcpu.sregs.cr3 = readRegister(file, kKernelGsBase + 3);
    vcpu.sregs.cr4 = readRegister(file, kKernelGsBase + 4);
    vcpu.sregs.cr8 = readRegister(file, kKernelGsBase + 5);
    vcpu.sregs.efer = readRegister(file, kKernelGsBase + 6);
}

const std::string& targetDescription() {
    static const std::string xml = makeDescription();
    return xml;
}

} // namespace kvmscope::debug::gdb
