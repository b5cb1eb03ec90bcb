#include "boot/X86Setup.h"

#include "boot/GuestLayout.h"
#include "cpu/X86Bits.h"

#include <fmt/format.h>

namespace kvmscope::boot {
namespace {

// Segment types (SDM vol. 3A, 3.4.5.1 and 3.5): code execute/read accessed, data read/write
// accessed, busy TSS (32-bit in protected mode, 64-bit in IA-32e mode), LDT.
constexpr uint8_t kTypeCode = 0xb;
constexpr uint8_t kTypeData = 0x3;
constexpr uint8_t kTypeBusyTss = 0xb;
constexpr uint8_t kTypeLdt = 0x2;

// Descriptor access byte bits and the flags nibble (SDM vol. 3A, 3.4.5).
constexpr uint64_t kAccessPresent = 0x80;
constexpr uint64_t kAccessCodeOrData = 0x10;
constexpr uint64_t kFlagGranularity = 0x8;
constexpr uint64_t kFlagDefault32 = 0x4;
constexpr uint64_t kFlagLong = 0x2;

// Paging entries (SDM vol. 3A, 4.5): present, writable, and PS = a 2 MiB page in a PDE.
constexpr uint64_t kPagePresent = 1ull << 0;
constexpr uint64_t kPageWritable = 1ull << 1;
constexpr uint64_t kPageLarge = 1ull << 7;
constexpr uint64_t kPageSize = 0x1000;
constexpr uint64_t kLargePageSize = 2ull << 20;
constexpr uint64_t kEntriesPerTable = 512;

constexpr uint64_t kTssIoMapBaseOffset = 0x66; // 32-bit and 64-bit TSS alike

uint64_t segmentDescriptor(uint64_t base, uint64_t limit, uint64_t access, uint64_t flags) {
    return (limit & 0xffff) | ((base & 0xffffff) << 16) | (access << 40) |
           (((limit >> 16) & 0xf) << 48) | (flags << 52) | (((base >> 24) & 0xff) << 56);
}

void writeGdtAndTss(GuestMemory& memory) {
    const uint64_t flatLimit = 0xfffff; // in 4 KiB units: 4 GiB
    uint64_t gdt[layout::kGdtSize / 8] = {};
    gdt[layout::kCode64Selector / 8] = segmentDescriptor(
        0, flatLimit, kAccessPresent | kAccessCodeOrData | kTypeCode, kFlagGranularity | kFlagLong);
    gdt[layout::kCode32Selector / 8] =
        segmentDescriptor(0, flatLimit, kAccessPresent | kAccessCodeOrData | kTypeCode,
                          kFlagGranularity | kFlagDefault32);
    gdt[layout::kDataSelector / 8] =
        segmentDescriptor(0, flatLimit, kAccessPresent | kAccessCodeOrData | kTypeData,
                          kFlagGranularity | kFlagDefault32);
    // A system descriptor; in IA-32e mode it is 16 bytes, the second half holding base 63:32
    // (zero here), which 32-bit code sees as a null descriptor (SDM vol. 3A, 7.2.3).
    gdt[layout::kTssSelector / 8] =
        segmentDescriptor(layout::kTssAddress, layout::kTssLimit, kAccessPresent | kTypeBusyTss, 0);
    memory.write(layout::kGdtAddress, gdt, sizeof gdt);

    memory.fill(layout::kTssAddress, 0, layout::kTssLimit + 1);
    // An I/O map base beyond the limit: no I/O permission bitmap (SDM vol. 1, 19.5.2).
    memory.writeValue<uint16_t>(layout::kTssAddress + kTssIoMapBaseOffset,
                                static_cast<uint16_t>(layout::kTssLimit + 1));
}

void writeIdentityPageTables(GuestMemory& memory) {
    memory.fill(layout::kPml4Address, 0, layout::kPageTablesEnd - layout::kPml4Address);
    memory.writeValue<uint64_t>(layout::kPml4Address,
                                layout::kPdptAddress | kPagePresent | kPageWritable);
    for (uint64_t gib = 0; gib < layout::kPageDirectoryCount; ++gib) {
        const uint64_t directory = layout::kPageDirectoryAddress + gib * kPageSize;
        memory.writeValue<uint64_t>(layout::kPdptAddress + gib * 8,
                                    directory | kPagePresent | kPageWritable);
        uint64_t entries[kEntriesPerTable];
        for (uint64_t index = 0; index < kEntriesPerTable; ++index)
            entries[index] = ((gib * kEntriesPerTable + index) * kLargePageSize) | kPagePresent |
                             kPageWritable | kPageLarge;
        memory.write(directory, entries, sizeof entries);
    }
}

kvm_segment segment(uint64_t base, uint32_t limit, uint16_t selector, uint8_t type) {
    kvm_segment result{};
    result.base = base;
    result.limit = limit;
    result.selector = selector;
    result.type = type;
    result.present = 1;
    result.s = 1;
    return result;
}

kvm_segment flatSegment(uint16_t selector, uint8_t type) {
    kvm_segment result = segment(0, 0xffffffff, selector, type);
    result.db = 1;
    result.g = 1;
    return result;
}

void setDataSegments(kvm_sregs& sregs, const kvm_segment& data) {
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
}

void applyRealMode(const BootPlan& plan, kvm_sregs& sregs) {
    const uint64_t base = uint64_t(plan.realModeSegment) * 16;
    sregs.cs = segment(base, 0xffff, plan.realModeSegment, kTypeCode);
    setDataSegments(sregs, segment(base, 0xffff, plan.realModeSegment, kTypeData));
    // What the CPU has after reset: a 16-bit-reachable TR (VMX entry wants a busy TSS type).
    sregs.tr = segment(0, 0xffff, 0, kTypeBusyTss);
    sregs.tr.s = 0;
    sregs.gdt = {0, 0xffff, {}};
    sregs.idt = {0, 0x3ff, {}}; // the real-mode IVT at 0
    sregs.cr0 = X86_CR0_ET;
    sregs.cr3 = 0;
    sregs.cr4 = 0;
    sregs.efer = 0;
}

void applyFlatProtectedState(kvm_sregs& sregs) {
    setDataSegments(sregs, flatSegment(layout::kDataSelector, kTypeData));
    sregs.tr = segment(layout::kTssAddress, layout::kTssLimit, layout::kTssSelector, kTypeBusyTss);
    sregs.tr.s = 0;
    sregs.gdt = {layout::kGdtAddress, layout::kGdtSize - 1, {}};
    sregs.idt = {0, 0, {}}; // no IDT: an exception before the guest sets one up triple-faults
}

} // namespace

void writeCpuTables(BootPlan& plan, GuestMemory& memory) {
    switch (plan.mode) {
    case CpuMode::Real:
        plan.notes.push_back("real mode: no descriptor tables written");
        return;
    case CpuMode::Protected32:
        writeGdtAndTss(memory);
        plan.notes.push_back(
            fmt::format("GDT at {:#x}, TSS at {:#x}", layout::kGdtAddress, layout::kTssAddress));
        return;
    case CpuMode::Long64:
        writeGdtAndTss(memory);
        writeIdentityPageTables(memory);
        plan.notes.push_back(fmt::format("GDT at {:#x}, TSS at {:#x}, identity page tables for "
                                         "[0, 4 GiB) with 2 MiB pages at [{:#x}, {:#x})",
                                         layout::kGdtAddress, layout::kTssAddress,
                                         layout::kPml4Address, layout::kPageTablesEnd));
        return;
    }
}

void applyBootPlan(const BootPlan& plan, kvm_regs& regs, kvm_sregs& sregs) {
    regs = kvm_regs{};
    regs.rip = plan.entry;
    regs.rsp = plan.stack;
    regs.rflags = X86_EFLAGS_FIXED;
    regs.rax = plan.rax;
    regs.rbx = plan.rbx;
    regs.rcx = plan.rcx;
    regs.rdx = plan.rdx;
    regs.rsi = plan.rsi;
    regs.rdi = plan.rdi;

    sregs.ldt = kvm_segment{};
    sregs.ldt.type = kTypeLdt;
    sregs.ldt.unusable = 1;
    sregs.cr2 = 0;

    switch (plan.mode) {
    case CpuMode::Real: {
        const uint64_t base = uint64_t(plan.realModeSegment) * 16;
        if (plan.entry < base || plan.entry - base > 0xffff)
            throw InputError(fmt::format("real-mode entry {:#x} is not inside segment {:#06x} "
                                         "([{:#x}, {:#x}])",
                                         plan.entry, plan.realModeSegment, base, base + 0xffff));
        regs.rip = plan.entry - base;
        applyRealMode(plan, sregs);
        return;
    }
    case CpuMode::Protected32:
        // Multiboot 0.6.96, 3.2: flat 4 GiB code and data, PE on, PG off, interrupts off.
        sregs.cs = flatSegment(layout::kCode32Selector, kTypeCode);
        applyFlatProtectedState(sregs);
        sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
        sregs.cr3 = 0;
        sregs.cr4 = 0;
        sregs.efer = 0;
        return;
    case CpuMode::Long64:
        // SDM vol. 3A, 9.8.5: IA-32e mode is PAE paging with EFER.LME, CR0.PG; KVM takes LMA as
        // given. CS.L = 1 and CS.D = 0 select 64-bit code.
        sregs.cs = flatSegment(layout::kCode64Selector, kTypeCode);
        sregs.cs.l = 1;
        sregs.cs.db = 0;
        applyFlatProtectedState(sregs);
        sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
        sregs.cr3 = layout::kPml4Address;
        sregs.cr4 = X86_CR4_PAE;
        sregs.efer = x86::kEferLme | x86::kEferLma;
        return;
    }
}

} // namespace kvmscope::boot
