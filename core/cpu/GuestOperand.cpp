#include "cpu/GuestOperand.h"

#include "cpu/X86Bits.h"
#include "debug/PageWalker.h"
#include "machine/GuestMemory.h"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace kvmscope::cpu {
namespace {

// Segment descriptor type field (SDM vol. 3A 3.4.5.1, table 3-1).
constexpr uint8_t kTypeCode = 1u << 3;
constexpr uint8_t kTypeExpandDown = 1u << 2; // data segments
constexpr uint8_t kTypeWritable = 1u << 1;   // data segments
constexpr uint8_t kTypeReadable = 1u << 1;   // code segments

// Paging-structure entry flags set by the CPU (SDM vol. 3A 4.8).
constexpr uint64_t kEntryPresent = 1ull << 0;
constexpr uint64_t kEntryAccessed = 1ull << 5;
constexpr uint64_t kEntryDirty = 1ull << 6;

constexpr uint64_t kPageSize = 4096;

const kvm_segment& segmentOf(const kvm_sregs& sregs, SegmentRegister segment) {
    switch (segment) {
    case SegmentRegister::Es:
        return sregs.es;
    case SegmentRegister::Cs:
        return sregs.cs;
    case SegmentRegister::Ss:
        return sregs.ss;
    case SegmentRegister::Ds:
        return sregs.ds;
    case SegmentRegister::Fs:
        return sregs.fs;
    case SegmentRegister::Gs:
        return sregs.gs;
    }
    return sregs.ds;
}

OperandAccess raise(uint8_t vector, uint32_t errorCode) {
    OperandAccess access;
    access.outcome = OperandAccess::Outcome::Raise;
    access.exception.vector = vector;
    access.exception.hasErrorCode = true;
    access.exception.errorCode = errorCode;
    return access;
}

OperandAccess refuse(const char* why) {
    OperandAccess access;
    access.refusal = why;
    return access;
}

// A segment fault: #SS(0) through SS, #GP(0) through any other segment (SDM vol. 2A, the
// "Protected Mode Exceptions" of every instruction with a memory operand).
OperandAccess segmentFault(SegmentRegister segment) {
    return raise(segment == SegmentRegister::Ss ? kStackFaultVector : kGeneralProtectionVector, 0);
}

bool canonical(uint64_t linear, unsigned width) {
    const auto extended =
        static_cast<uint64_t>(static_cast<int64_t>(linear << (64 - width)) >> (64 - width));
    return extended == linear;
}

// One page's part of the access, translated and checked.
struct PagePart {
    uint64_t linear = 0;
    uint64_t physical = 0;
    size_t length = 0;
    debug::Translation translation;
};

} // namespace

OperandAccess accessOperand(const kvm_sregs& sregs, uint64_t rflags, SegmentRegister segment,
                            uint64_t offset, std::span<uint8_t> data, bool write,
                            GuestMemory& memory) {
    const size_t size = data.size();
    if (size == 0 || size > 8)
        return refuse("operand size");
    if (!(sregs.cr0 & X86_CR0_PE) || (rflags & X86_EFLAGS_VM))
        return refuse("real or virtual-8086 mode");
    const kvm_segment& descriptor = segmentOf(sregs, segment);
    const unsigned cpl = sregs.cs.selector & 3; // SDM vol. 3A 5.5: CPL is CS's RPL

    // Segmentation.
    uint64_t linear = 0;
    if ((sregs.efer & x86::kEferLma) && sregs.cs.l) {
        // 64-bit mode: bases of ES, CS, SS and DS are treated as 0, no limit or type checks
        // (SDM 3.4.4, 5.3.1); every byte of the access must be canonical (3.3.7.1).
        linear = offset;
        if (segment == SegmentRegister::Fs || segment == SegmentRegister::Gs)
            linear += descriptor.base;
        const unsigned width = (sregs.cr4 & X86_CR4_LA57) ? 57 : 48;
        if (!canonical(linear, width) || !canonical(linear + size - 1, width))
            return segmentFault(segment);
    } else {
        // Protected or compatibility mode: a null selector leaves the register unusable; data
        // must be in a readable segment, a write in a writable data segment, and the whole
        // access inside the limit (kvm_segment.limit is in bytes, granularity applied).
        if (descriptor.unusable || !descriptor.present || !descriptor.s)
            return segmentFault(segment);
        const bool code = descriptor.type & kTypeCode;
        if (write && (code || !(descriptor.type & kTypeWritable)))
            return segmentFault(segment);
        if (!write && code && !(descriptor.type & kTypeReadable))
            return segmentFault(segment);
        if (!code && (descriptor.type & kTypeExpandDown))
            return refuse("expand-down segment");
        if (offset + size - 1 > descriptor.limit)
            return segmentFault(segment);
        linear = (descriptor.base + offset) & 0xFFFF'FFFFull;
    }

    // Alignment check (SDM vol. 3A 6.15, "Interrupt 17"): CPL 3, CR0.AM and EFLAGS.AC.
    if (cpl == 3 && (sregs.cr0 & X86_CR0_AM) && (rflags & X86_EFLAGS_AC) && (linear & (size - 1)))
        return raise(kAlignmentCheckVector, 0);

    // Paging, one 4 KiB page at a time (a larger page covers both parts the same way).
    const uint64_t firstLength = std::min<uint64_t>(size, kPageSize - (linear & (kPageSize - 1)));
    PagePart parts[2];
    const size_t partCount = firstLength < size ? 2 : 1;
    parts[0].linear = linear;
    parts[0].length = firstLength;
    if (partCount == 2) {
        parts[1].linear = linear + firstLength;
        parts[1].length = size - firstLength;
    }
    const debug::PagingRegisters paging{sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer};
    const debug::PhysicalReader readPhysical = [&memory](uint64_t address, void* destination,
                                                         size_t length) {
        if (!memory.contains(address, length))
            return false;
        memory.read(address, destination, length);
        return true;
    };
    const bool user = cpl == 3;
    const uint32_t accessBits = (write ? kPageFaultWrite : 0) | (user ? kPageFaultUser : 0);
    for (size_t i = 0; i < partCount; ++i) {
        PagePart& part = parts[i];
        if (!(sregs.cr0 & X86_CR0_PG)) {
            part.physical = part.linear & 0xFFFF'FFFFull;
        } else {
            part.translation = debug::translate(paging, part.linear, readPhysical);
            const debug::Translation& t = part.translation;
            uint32_t errorCode = 0;
            bool fault = false;
            if (!t.valid) {
                // Only a present bit of 0 is a #PF(P=0); a table outside RAM is not modelled.
                if (t.steps.empty() || !memory.contains(t.steps.back().entryAddress, 4) ||
                    (t.steps.back().entry & kEntryPresent))
                    return refuse("page table outside guest RAM");
                fault = true;
                errorCode = accessBits;
            } else {
                // Protection keys apply to user pages with CR4.PKE and to supervisor pages
                // with CR4.PKS (SDM 4.6.2): not modelled.
                if ((t.user && (sregs.cr4 & X86_CR4_PKE)) ||
                    (!t.user && (sregs.cr4 & x86::kCr4Pks)))
                    return refuse("protection keys");
                // SDM 4.6.1: user-mode accesses need U/S = 1 everywhere and, to write, R/W = 1;
                // supervisor-mode ones may not touch user pages under SMAP unless EFLAGS.AC is
                // set, and may write read-only pages only with CR0.WP = 0.
                bool allowed = true;
                if (user) {
                    allowed = t.user && (!write || t.writable);
                } else {
                    if (t.user && (sregs.cr4 & X86_CR4_SMAP) && !(rflags & X86_EFLAGS_AC))
                        allowed = false;
                    if (write && !t.writable && (sregs.cr0 & X86_CR0_WP))
                        allowed = false;
                }
                if (!allowed) {
                    fault = true;
                    errorCode = accessBits | kPageFaultPresent;
                }
            }
            if (fault) {
                if (partCount == 2)
                    return refuse("page fault on an access crossing a page boundary");
                OperandAccess access = raise(kPageFaultVector, errorCode);
                access.exception.setsCr2 = true;
                access.exception.cr2 = part.linear;
                return access;
            }
            part.physical = t.physical;
        }
        if (!memory.contains(part.physical, part.length))
            return refuse("operand outside guest RAM");
    }

    // The walk sets the accessed flag of every entry it used and, for a write, the dirty flag of
    // the one that mapped the page (SDM 4.8). A PAE PDPTE has neither (SDM 4.4.1).
    for (size_t i = 0; i < partCount && (sregs.cr0 & X86_CR0_PG); ++i) {
        const auto& steps = parts[i].translation.steps;
        for (size_t level = 0; level < steps.size(); ++level) {
            const debug::WalkStep& step = steps[level];
            if (parts[i].translation.mode == debug::PagingMode::Pae && level == 0)
                continue;
            const uint64_t flags =
                kEntryAccessed | (write && level + 1 == steps.size() ? kEntryDirty : 0);
            if ((step.entry & flags) == flags)
                continue;
            if (parts[i].translation.mode == debug::PagingMode::Bits32) {
                auto* entry = reinterpret_cast<uint32_t*>(memory.span(step.entryAddress, 4).data());
                std::atomic_ref<uint32_t>(*entry).fetch_or(static_cast<uint32_t>(flags));
            } else {
                auto* entry = reinterpret_cast<uint64_t*>(memory.span(step.entryAddress, 8).data());
                std::atomic_ref<uint64_t>(*entry).fetch_or(flags);
            }
        }
    }

    size_t done = 0;
    for (size_t i = 0; i < partCount; ++i) {
        if (write)
            memory.write(parts[i].physical, data.data() + done, parts[i].length);
        else
            memory.read(parts[i].physical, data.data() + done, parts[i].length);
        done += parts[i].length;
    }
    return {OperandAccess::Outcome::Done, {}, ""};
}

} // namespace kvmscope::cpu
