#include "registers/MsrNames.h"

namespace kvmscope::ui {

QString msrName(uint32_t index) {
    switch (index) {
    // Intel SDM vol. 4, table 2-2 "IA-32 Architectural MSRs".
    case 0x10:
        return QStringLiteral("IA32_TIME_STAMP_COUNTER");
    case 0x1b:
        return QStringLiteral("IA32_APIC_BASE");
    case 0x34:
        return QStringLiteral("MSR_SMI_COUNT");
    case 0x3a:
        return QStringLiteral("IA32_FEATURE_CONTROL");
    case 0x3b:
        return QStringLiteral("IA32_TSC_ADJUST");
    case 0x48:
        return QStringLiteral("IA32_SPEC_CTRL");
    case 0x9e:
        return QStringLiteral("IA32_SMBASE");
    case 0x8b:
        return QStringLiteral("IA32_BIOS_SIGN_ID");
    case 0xce:
        return QStringLiteral("MSR_PLATFORM_INFO");
    case 0x140:
        return QStringLiteral("MSR_MISC_FEATURE_ENABLES");
    case 0x1fc:
        return QStringLiteral("MSR_POWER_CTL");
    case 0x345:
        return QStringLiteral("IA32_PERF_CAPABILITIES");
    case 0x10a:
        return QStringLiteral("IA32_ARCH_CAPABILITIES");
    case 0x174:
        return QStringLiteral("IA32_SYSENTER_CS");
    case 0x175:
        return QStringLiteral("IA32_SYSENTER_ESP");
    case 0x176:
        return QStringLiteral("IA32_SYSENTER_EIP");
    case 0x179:
        return QStringLiteral("IA32_MCG_CAP");
    case 0x17a:
        return QStringLiteral("IA32_MCG_STATUS");
    case 0x17b:
        return QStringLiteral("IA32_MCG_CTL");
    case 0x1a0:
        return QStringLiteral("IA32_MISC_ENABLE");
    case 0x1d9:
        return QStringLiteral("IA32_DEBUGCTL");
    case 0x1db:
        return QStringLiteral("MSR_LASTBRANCH_FROM_IP");
    case 0x1dc:
        return QStringLiteral("MSR_LASTBRANCH_TO_IP");
    case 0x1dd:
        return QStringLiteral("MSR_LASTINT_FROM_IP");
    case 0x1de:
        return QStringLiteral("MSR_LASTINT_TO_IP");
    case 0x277:
        return QStringLiteral("IA32_PAT");
    case 0x2ff:
        return QStringLiteral("IA32_MTRR_DEF_TYPE");
    case 0x6e0:
        return QStringLiteral("IA32_TSC_DEADLINE");
    case 0xda0:
        return QStringLiteral("IA32_XSS");
    case 0xc0000080:
        return QStringLiteral("IA32_EFER");
    case 0xc0000081:
        return QStringLiteral("IA32_STAR");
    case 0xc0000082:
        return QStringLiteral("IA32_LSTAR");
    case 0xc0000083:
        return QStringLiteral("IA32_CSTAR");
    case 0xc0000084:
        return QStringLiteral("IA32_FMASK");
    case 0xc0000100:
        return QStringLiteral("IA32_FS_BASE");
    case 0xc0000101:
        return QStringLiteral("IA32_GS_BASE");
    case 0xc0000102:
        return QStringLiteral("IA32_KERNEL_GS_BASE");
    case 0xc0000103:
        return QStringLiteral("IA32_TSC_AUX");
    // AMD APM vol. 2, appendix A "MSR Cross-Reference".
    case 0xc0010015:
        return QStringLiteral("MSR_AMD64_HWCR");
    case 0xc0010117:
        return QStringLiteral("MSR_VM_HSAVE_PA");
    case 0xc001011f:
        return QStringLiteral("MSR_AMD64_VIRT_SPEC_CTRL");
    // Documentation/virt/kvm/x86/msr.rst: KVM's paravirtual MSRs.
    case 0x11:
        return QStringLiteral("MSR_KVM_WALL_CLOCK");
    case 0x12:
        return QStringLiteral("MSR_KVM_SYSTEM_TIME");
    case 0x4b564d00:
        return QStringLiteral("MSR_KVM_WALL_CLOCK_NEW");
    case 0x4b564d01:
        return QStringLiteral("MSR_KVM_SYSTEM_TIME_NEW");
    case 0x4b564d02:
        return QStringLiteral("MSR_KVM_ASYNC_PF_EN");
    case 0x4b564d03:
        return QStringLiteral("MSR_KVM_STEAL_TIME");
    case 0x4b564d04:
        return QStringLiteral("MSR_KVM_PV_EOI_EN");
    case 0x4b564d05:
        return QStringLiteral("MSR_KVM_POLL_CONTROL");
    case 0x4b564d06:
        return QStringLiteral("MSR_KVM_ASYNC_PF_INT");
    case 0x4b564d07:
        return QStringLiteral("MSR_KVM_ASYNC_PF_ACK");
    }
    // Intel SDM vol. 4, table 2-2: variable-range MTRR base/mask pairs from 0x200.
    if (index >= 0x200 && index < 0x214)
        return QStringLiteral("IA32_MTRR_PHYS%1%2")
            .arg((index & 1) ? QStringLiteral("MASK") : QStringLiteral("BASE"))
            .arg((index - 0x200) / 2);
    return {};
}

QString msrDisplayName(uint32_t index) {
    const QString name = msrName(index);
    return name.isEmpty() ? QStringLiteral("MSR 0x%1").arg(index, 0, 16) : name;
}

} // namespace kvmscope::ui
