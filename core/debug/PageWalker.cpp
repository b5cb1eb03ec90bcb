#include "debug/PageWalker.h"

#include "cpu/X86Bits.h"

#include <algorithm>
#include <fmt/format.h>

namespace kvmscope::debug {
namespace {

// Paging-structure entry bits (SDM vol. 3A 4.3, 4.4.2, 4.5.4).
constexpr uint64_t kPresent = 1ull << 0;
constexpr uint64_t kWritable = 1ull << 1;
constexpr uint64_t kUser = 1ull << 2;
constexpr uint64_t kPageSize = 1ull << 7;
constexpr uint64_t kExecuteDisable = 1ull << 63;
// Bits 51:12 hold a table or 4 KiB frame address (MAXPHYADDR is at most 52).
constexpr uint64_t kFrameMask64 = 0x000F'FFFF'FFFF'F000ull;
constexpr uint64_t kFrameMask32 = 0xFFFF'F000ull;
// PAE CR3 holds a 32-byte-aligned PDPT address (SDM 4.4.1).
constexpr uint64_t kPaeCr3Mask = 0xFFFF'FFE0ull;
// A 4 MiB PDE: bits 31:22 are address bits 31:22, bits 20:13 are address bits 39:32 (PSE-36).
constexpr uint64_t kPse4MiBLowMask = 0xFFC0'0000ull;
constexpr unsigned kPse36Shift = 13;
constexpr uint64_t kPse36Mask = 0xFF;

constexpr uint64_t kPage4KiB = 4ull << 10;

struct Level {
    const char* table;
    unsigned shift;     // lowest linear-address bit of this level's index
    unsigned indexBits; // width of the index
    unsigned entrySize; // bytes per entry
    bool mayMapPage;    // PS = 1 maps a page here (subject to the mode's conditions)
    bool permissions;   // the entry's R/W, U/S and XD bits apply (not in a PAE PDPTE)
};

constexpr Level kPml5{"PML5", 48, 9, 8, false, true};
constexpr Level kPml4{"PML4", 39, 9, 8, false, true};
constexpr Level kPdpt{"PDPT", 30, 9, 8, true, true}; // 1 GiB pages
constexpr Level kPd{"PD", 21, 9, 8, true, true};     // 2 MiB pages
constexpr Level kPt{"PT", 12, 9, 8, false, true};
constexpr Level kPaePdpt{"PDPT", 30, 2, 8, false, false}; // 4 entries, loaded into PDPTE registers
constexpr Level kPd32{"PD", 22, 10, 4, true, true};       // 4 MiB pages with CR4.PSE
constexpr Level kPt32{"PT", 12, 10, 4, false, true};

std::string flagsText(uint64_t entry, const Level& level, bool nxe) {
    std::string text;
    if (level.permissions) {
        text += entry & kWritable ? "writable" : "read-only";
        text += entry & kUser ? ", user" : ", supervisor";
        if (nxe && level.entrySize == 8 && (entry & kExecuteDisable))
            text += ", no-execute";
    }
    return text;
}

std::string sizeText(uint64_t size) {
    if (size >= (1ull << 30))
        return fmt::format("{} GiB", size >> 30);
    if (size >= (1ull << 20))
        return fmt::format("{} MiB", size >> 20);
    return fmt::format("{} KiB", size >> 10);
}

} // namespace

const char* toString(PagingMode mode) {
    switch (mode) {
    case PagingMode::None:
        return "no paging";
    case PagingMode::Bits32:
        return "32-bit paging";
    case PagingMode::Pae:
        return "PAE paging";
    case PagingMode::Level4:
        return "4-level paging";
    case PagingMode::Level5:
        return "5-level paging";
    }
    return "?";
}

PagingMode pagingMode(const PagingRegisters& registers) {
    if (!(registers.cr0 & X86_CR0_PG))
        return PagingMode::None;
    if (!(registers.cr4 & X86_CR4_PAE))
        return PagingMode::Bits32;
    if (!(registers.efer & x86::kEferLma))
        return PagingMode::Pae;
    return registers.cr4 & X86_CR4_LA57 ? PagingMode::Level5 : PagingMode::Level4;
}

Translation translate(const PagingRegisters& registers, uint64_t linear,
                      const PhysicalReader& readPhysical) {
    Translation result;
    result.mode = pagingMode(registers);
    std::vector<Level> levels;
    uint64_t table = 0;
    uint64_t frameMask = kFrameMask64;
    switch (result.mode) {
    case PagingMode::None:
        // Without paging the linear address is the physical one (SDM 4.1.1).
        result.valid = true;
        result.physical = linear;
        return result;
    case PagingMode::Bits32:
        linear &= 0xFFFF'FFFFull;
        levels = {kPd32, kPt32};
        table = registers.cr3 & kFrameMask32;
        frameMask = kFrameMask32;
        break;
    case PagingMode::Pae:
        linear &= 0xFFFF'FFFFull;
        levels = {kPaePdpt, kPd, kPt};
        table = registers.cr3 & kPaeCr3Mask;
        break;
    case PagingMode::Level4:
    case PagingMode::Level5: {
        // A linear address must be canonical: bits 63:N copy bit N-1 (SDM 3.3.7.1).
        const unsigned width = result.mode == PagingMode::Level5 ? 57 : 48;
        const auto signExtended =
            static_cast<uint64_t>(static_cast<int64_t>(linear << (64 - width)) >> (64 - width));
        if (signExtended != linear) {
            result.fault =
                fmt::format("{:#x} is not canonical for {}", linear, toString(result.mode));
            return result;
        }
        if (result.mode == PagingMode::Level5)
            levels.push_back(kPml5);
        levels.insert(levels.end(), {kPml4, kPdpt, kPd, kPt});
        table = registers.cr3 & kFrameMask64;
        break;
    }
    }
    const bool nxe = (registers.efer & x86::kEferNxe) && result.mode != PagingMode::Bits32;

    for (const Level& level : levels) {
        WalkStep step;
        step.table = level.table;
        step.tableAddress = table;
        step.index = static_cast<unsigned>((linear >> level.shift) & ((1u << level.indexBits) - 1));
        step.entryAddress = table + uint64_t{step.index} * level.entrySize;
        uint64_t entry = 0;
        if (!readPhysical(step.entryAddress, &entry, level.entrySize)) {
            step.meaning = "entry lies outside guest RAM";
            result.fault = fmt::format("{} entry at {:#x} is not in guest RAM", level.table,
                                       step.entryAddress);
            result.steps.push_back(std::move(step));
            return result;
        }
        step.entry = entry;
        if (!(entry & kPresent)) {
            step.meaning = "not present";
            result.fault = fmt::format("{} entry {} not present", level.table, step.index);
            result.steps.push_back(std::move(step));
            return result;
        }
        if (level.permissions) {
            result.writable = result.writable && (entry & kWritable);
            result.user = result.user && (entry & kUser);
            if (nxe && (entry & kExecuteDisable))
                result.executable = false;
        }
        const std::string flags = flagsText(entry, level, nxe);
        const std::string suffix = flags.empty() ? "" : " (" + flags + ")";

        // A page is mapped here: PS in a PDE (4 MiB needs CR4.PSE in 32-bit mode; PAE and IA-32e
        // PDEs always honour it) or in an IA-32e PDPTE (1 GiB), or this is the last level.
        const bool psAllowed = level.mayMapPage &&
                               (result.mode != PagingMode::Bits32 || (registers.cr4 & X86_CR4_PSE));
        const bool isLeaf = level.shift == 12 || (psAllowed && (entry & kPageSize));
        if (isLeaf) {
            result.pageSize = 1ull << level.shift;
            uint64_t frame = 0;
            if (level.shift == 12) {
                frame = entry & frameMask;
            } else if (result.mode == PagingMode::Bits32) {
                frame = (entry & kPse4MiBLowMask) | (((entry >> kPse36Shift) & kPse36Mask) << 32);
            } else {
                frame = entry & kFrameMask64 & ~(result.pageSize - 1);
            }
            result.physical = frame | (linear & (result.pageSize - 1));
            result.valid = true;
            step.meaning =
                fmt::format("maps a {} page at {:#x}{}", sizeText(result.pageSize), frame, suffix);
            result.steps.push_back(std::move(step));
            return result;
        }
        table = entry & frameMask;
        step.meaning = fmt::format("next table at {:#x}{}", table, suffix);
        result.steps.push_back(std::move(step));
    }
    result.fault = "walk ended without a page"; // unreachable: the PT level is always a leaf
    return result;
}

size_t readLinear(const PagingRegisters& registers, uint64_t linear, void* destination,
                  size_t length, const PhysicalReader& readPhysical) {
    auto* out = static_cast<uint8_t*>(destination);
    size_t done = 0;
    while (done < length) {
        const uint64_t address = linear + done;
        const Translation translation = translate(registers, address, readPhysical);
        if (!translation.valid)
            break;
        // Stay inside the 4 KiB page (at least): the next one may map elsewhere.
        const uint64_t pageLeft = kPage4KiB - (address & (kPage4KiB - 1));
        const size_t chunk = static_cast<size_t>(std::min<uint64_t>(pageLeft, length - done));
        if (!readPhysical(translation.physical, out + done, chunk))
            break;
        done += chunk;
    }
    return done;
}

} // namespace kvmscope::debug
