#include "inspect/DescriptorTables.h"

#include <algorithm>
#include <fmt/format.h>

namespace kvmscope::inspect {
namespace {

constexpr uint64_t kEferLma = 1ull << 10;
constexpr uint64_t kCr0Pe = 1ull << 0;
constexpr unsigned kSelectorTableIndicator = 0x4;
constexpr unsigned kRealModeVectorSize = 4;
constexpr unsigned kRealModeVectors = 256;
constexpr unsigned kIdtVectors = 256;

uint64_t little(std::span<const uint8_t> bytes, size_t offset, size_t size) {
    uint64_t value = 0;
    for (size_t i = 0; i < size && offset + i < bytes.size(); ++i)
        value |= uint64_t{bytes[offset + i]} << (8 * i);
    return value;
}

// SDM vol. 3A, table 3-1: the type field of a code or data segment.
std::string codeDataFlags(uint8_t type, bool longCode, bool defaultBig) {
    std::string flags;
    if (type & 0x8) {
        flags = (type & 0x2) ? "execute/read" : "execute-only";
        if (type & 0x4)
            flags += ", conforming";
        flags += longCode ? ", 64-bit" : (defaultBig ? ", 32-bit" : ", 16-bit");
    } else {
        flags = (type & 0x2) ? "read/write" : "read-only";
        if (type & 0x4)
            flags += ", expand-down";
        flags += defaultBig ? ", big" : "";
    }
    if (type & 0x1)
        flags += ", accessed";
    return flags;
}

// SDM vol. 3A, table 3-2: system descriptor and gate types, in each mode; "" for a type that
// is reserved there.
std::string systemKind(uint8_t type, TableMode mode) {
    if (mode == TableMode::Long) {
        switch (type) {
        case 0x2:
            return "LDT";
        case 0x9:
            return "64-bit TSS (available)";
        case 0xb:
            return "64-bit TSS (busy)";
        case 0xc:
            return "64-bit call gate";
        case 0xe:
            return "64-bit interrupt gate";
        case 0xf:
            return "64-bit trap gate";
        default:
            return "";
        }
    }
    switch (type) {
    case 0x1:
        return "16-bit TSS (available)";
    case 0x2:
        return "LDT";
    case 0x3:
        return "16-bit TSS (busy)";
    case 0x4:
        return "16-bit call gate";
    case 0x5:
        return "task gate";
    case 0x6:
        return "16-bit interrupt gate";
    case 0x7:
        return "16-bit trap gate";
    case 0x9:
        return "32-bit TSS (available)";
    case 0xb:
        return "32-bit TSS (busy)";
    case 0xc:
        return "32-bit call gate";
    case 0xe:
        return "32-bit interrupt gate";
    case 0xf:
        return "32-bit trap gate";
    default:
        return "";
    }
}

// In IA-32e mode, LDT and TSS descriptors and call gates take 16 bytes (SDM vol. 3A, 3.5.2).
bool wideInLongMode(uint8_t type) {
    return type == 0x2 || type == 0x9 || type == 0xb || type == 0xc;
}

std::vector<SegmentDescriptor> readDescriptorTable(const GuestView& guest, const VcpuSnapshot& at,
                                                   uint64_t base, uint32_t limit, bool local,
                                                   size_t maxEntries) {
    const TableMode mode = tableModeOf(at.cpu.sregs);
    std::vector<SegmentDescriptor> entries;
    // The limit is the offset of the table's last byte (SDM vol. 3A, 3.5.1).
    const uint64_t bytes = uint64_t{limit} + 1;
    for (uint64_t offset = 0; offset + 8 <= bytes && entries.size() < maxEntries;) {
        std::array<uint8_t, 16> raw{};
        const size_t read = guest.readLinear(at, base + offset, raw.data(), 8);
        SegmentDescriptor entry;
        if (read == 8) {
            if (mode == TableMode::Long && !((raw[5] >> 4) & 1) && wideInLongMode(raw[5] & 0xf) &&
                offset + 16 <= bytes)
                guest.readLinear(at, base + offset + 8, raw.data() + 8, 8);
            entry = decodeSegmentDescriptor(raw, mode);
        } else {
            entry.readable = false;
            entry.kind = "(not readable)";
        }
        entry.index = static_cast<unsigned>(offset / 8);
        entry.selector = static_cast<uint16_t>(offset | (local ? kSelectorTableIndicator : 0));
        entry.linear = base + offset;
        if (entry.index == 0 && !local)
            entry.kind = entry.null ? "null" : "null (not zero)";
        offset += entry.size;
        entries.push_back(std::move(entry));
    }
    return entries;
}

// The base of the code or data segment `selector` names in the GDT of `at`, for a gate's handler
// (IA-32e mode ignores code segment bases and needs none); nullopt when the selector names the
// LDT, lies past the GDT's limit, cannot be read, or names a null or system descriptor.
std::optional<uint64_t> gdtSegmentBase(const GuestView& guest, const VcpuSnapshot& at,
                                       uint16_t selector) {
    const kvm_dtable& gdt = at.cpu.sregs.gdt;
    const uint64_t offset = selector & ~uint64_t{7};
    if ((selector & kSelectorTableIndicator) || offset + 8 > uint64_t{gdt.limit} + 1)
        return std::nullopt;
    std::array<uint8_t, 8> raw{};
    if (guest.readLinear(at, gdt.base + offset, raw.data(), raw.size()) != raw.size())
        return std::nullopt;
    const SegmentDescriptor descriptor = decodeSegmentDescriptor(raw, TableMode::Protected);
    if (descriptor.null || descriptor.system)
        return std::nullopt;
    return descriptor.base;
}

} // namespace

TableMode tableModeOf(const kvm_sregs& sregs) {
    if (sregs.efer & kEferLma)
        return TableMode::Long;
    return (sregs.cr0 & kCr0Pe) ? TableMode::Protected : TableMode::Real;
}

SegmentDescriptor decodeSegmentDescriptor(std::span<const uint8_t> bytes, TableMode mode) {
    SegmentDescriptor d;
    const uint64_t low = little(bytes, 0, 8);
    std::copy_n(bytes.begin(), std::min<size_t>(bytes.size(), d.raw.size()), d.raw.begin());
    d.null = low == 0;
    const uint32_t rawLimit = static_cast<uint32_t>((low & 0xffff) | ((low >> 32) & 0xf0000));
    d.base = ((low >> 16) & 0xffffff) | (((low >> 56) & 0xff) << 24);
    d.type = static_cast<uint8_t>((low >> 40) & 0xf);
    d.system = !((low >> 44) & 1);
    d.dpl = static_cast<uint8_t>((low >> 45) & 3);
    d.present = (low >> 47) & 1;
    d.available = (low >> 52) & 1;
    d.longCode = (low >> 53) & 1;
    d.defaultBig = (low >> 54) & 1;
    d.granularity = (low >> 55) & 1;
    d.limit = d.granularity ? (rawLimit << 12) | 0xfff : rawLimit;
    if (d.null) {
        d.kind = "null";
        return d;
    }
    if (!d.system) {
        d.kind = (d.type & 0x8) ? "code" : "data";
        d.flags = codeDataFlags(d.type, d.longCode, d.defaultBig);
        return d;
    }
    d.kind = systemKind(d.type, mode);
    if (d.kind.empty())
        d.kind = fmt::format("reserved (type {:#x})", d.type);
    if (mode == TableMode::Long && wideInLongMode(d.type)) {
        d.size = 16;
        d.base |= little(bytes, 8, 4) << 32;
    }
    if (d.type == 0x4 || d.type == 0xc) { // a call gate: selector and offset, not base and limit
        d.flags = fmt::format("selector {:#06x}, offset {:#x}, {} parameters", (low >> 16) & 0xffff,
                              (low & 0xffff) | (((low >> 48) & 0xffff) << 16) |
                                  (d.size == 16 ? little(bytes, 8, 4) << 32 : 0),
                              (low >> 32) & 0x1f);
        d.base = 0;
        d.limit = 0;
    }
    return d;
}

GateDescriptor decodeGate(std::span<const uint8_t> bytes, TableMode mode) {
    GateDescriptor g;
    std::copy_n(bytes.begin(), std::min<size_t>(bytes.size(), g.raw.size()), g.raw.begin());
    if (mode == TableMode::Real) {
        // SDM vol. 3A 20.1.4: offset, then segment; the handler is at segment * 16 + offset.
        g.size = kRealModeVectorSize;
        g.offset = little(bytes, 0, 2);
        g.selector = static_cast<uint16_t>(little(bytes, 2, 2));
        g.target = (uint64_t{g.selector} << 4) + g.offset;
        g.targetKnown = true;
        g.present = true;
        g.kind = "real-mode vector";
        return g;
    }
    const uint64_t low = little(bytes, 0, 8);
    g.size = mode == TableMode::Long ? 16 : 8;
    g.selector = static_cast<uint16_t>((low >> 16) & 0xffff);
    g.type = static_cast<uint8_t>((low >> 40) & 0xf);
    g.dpl = static_cast<uint8_t>((low >> 45) & 3);
    g.present = (low >> 47) & 1;
    const bool system = !((low >> 44) & 1);
    g.offset = (low & 0xffff) | (((low >> 48) & 0xffff) << 16);
    if (mode == TableMode::Long) {
        g.ist = static_cast<uint8_t>((low >> 32) & 0x7);
        g.offset |= little(bytes, 8, 4) << 32;
    }
    const bool gateType =
        system && (mode == TableMode::Long ? (g.type == 0xe || g.type == 0xf)
                                           : (g.type == 0x5 || g.type == 0x6 || g.type == 0x7 ||
                                              g.type == 0xe || g.type == 0xf));
    if (low == 0 && (mode != TableMode::Long || little(bytes, 8, 8) == 0))
        g.kind = "empty";
    else if (!gateType)
        g.kind = fmt::format("not a gate (type {:#x}{})", g.type, system ? "" : ", S set");
    else
        g.kind = systemKind(g.type, mode);
    if (g.type == 0x5 && mode != TableMode::Long)
        g.offset = 0; // a task gate names a TSS; its offset fields are reserved
    return g;
}

TaskState decodeTaskState(std::span<const uint8_t> bytes, uint8_t trType, TableMode mode) {
    TaskState tss;
    auto add = [&](std::string name, unsigned offset, unsigned size) {
        if (offset + size <= bytes.size())
            tss.fields.push_back({std::move(name), offset, size, little(bytes, offset, size)});
    };
    const uint8_t kindBits = trType & 0xf;
    if (kindBits == 0x1 || kindBits == 0x3) {
        // SDM vol. 3A, figure 8-11 (16-bit TSS).
        tss.kind = "16-bit TSS";
        add("previous task link", 0, 2);
        const char* names[] = {"SP0",   "SS0", "SP1", "SS1", "SP2", "SS2", "IP",
                               "FLAGS", "AX",  "CX",  "DX",  "BX",  "SP",  "BP",
                               "SI",    "DI",  "ES",  "CS",  "SS",  "DS",  "LDT"};
        for (unsigned i = 0; i < std::size(names); ++i)
            add(names[i], 2 + 2 * i, 2);
        return tss;
    }
    if (mode == TableMode::Long) {
        // SDM vol. 3A, figure 8-11 (64-bit TSS).
        tss.kind = "64-bit TSS";
        for (unsigned i = 0; i < 3; ++i)
            add(fmt::format("RSP{}", i), 4 + 8 * i, 8);
        for (unsigned i = 1; i <= 7; ++i)
            add(fmt::format("IST{}", i), 36 + 8 * (i - 1), 8);
        add("I/O map base", 102, 2);
        return tss;
    }
    // SDM vol. 3A, figure 8-2 (32-bit TSS).
    tss.kind = "32-bit TSS";
    add("previous task link", 0, 2);
    // Each field takes a dword; the selectors use its low word (the rest is reserved).
    struct Field {
        const char* name;
        unsigned size;
    };
    constexpr Field fields[] = {{"ESP0", 4}, {"SS0", 2}, {"ESP1", 4}, {"SS1", 2},    {"ESP2", 4},
                                {"SS2", 2},  {"CR3", 4}, {"EIP", 4},  {"EFLAGS", 4}, {"EAX", 4},
                                {"ECX", 4},  {"EDX", 4}, {"EBX", 4},  {"ESP", 4},    {"EBP", 4},
                                {"ESI", 4},  {"EDI", 4}, {"ES", 2},   {"CS", 2},     {"SS", 2},
                                {"DS", 2},   {"FS", 2},  {"GS", 2},   {"LDT", 2}};
    for (unsigned i = 0; i < std::size(fields); ++i)
        add(fields[i].name, 4 + 4 * i, fields[i].size);
    add("debug trap (T)", 100, 1);
    add("I/O map base", 102, 2);
    return tss;
}

std::vector<SegmentDescriptor> readGdt(const GuestView& guest, const VcpuSnapshot& at,
                                       size_t maxEntries) {
    const kvm_dtable& gdt = at.cpu.sregs.gdt;
    return readDescriptorTable(guest, at, gdt.base, gdt.limit, false, maxEntries);
}

std::vector<SegmentDescriptor> readLdt(const GuestView& guest, const VcpuSnapshot& at,
                                       size_t maxEntries) {
    const kvm_segment& ldt = at.cpu.sregs.ldt;
    if (ldt.unusable || !ldt.present || ldt.selector == 0)
        return {};
    return readDescriptorTable(guest, at, ldt.base, ldt.limit, true, maxEntries);
}

std::vector<GateDescriptor> readIdt(const GuestView& guest, const VcpuSnapshot& at) {
    const TableMode mode = tableModeOf(at.cpu.sregs);
    const kvm_dtable& idt = at.cpu.sregs.idt;
    const unsigned size = mode == TableMode::Real   ? kRealModeVectorSize
                          : mode == TableMode::Long ? 16u
                                                    : 8u;
    const unsigned vectors = mode == TableMode::Real ? kRealModeVectors : kIdtVectors;
    std::vector<GateDescriptor> gates;
    for (unsigned vector = 0; vector < vectors; ++vector) {
        const uint64_t offset = uint64_t{vector} * size;
        if (offset + size > uint64_t{idt.limit} + 1)
            break;
        std::array<uint8_t, 16> raw{};
        GateDescriptor gate;
        if (guest.readLinear(at, idt.base + offset, raw.data(), size) == size) {
            gate = decodeGate(std::span(raw.data(), size), mode);
        } else {
            gate.readable = false;
            gate.size = size;
            gate.kind = "(not readable)";
        }
        gate.vector = vector;
        gate.linear = idt.base + offset;
        if (gate.readable && mode == TableMode::Long) {
            gate.target = gate.offset;
            gate.targetKnown = true;
        } else if (gate.readable && mode == TableMode::Protected && gate.type != 0x5) {
            if (const auto base = gdtSegmentBase(guest, at, gate.selector)) {
                gate.target = *base + gate.offset;
                gate.targetKnown = true;
            }
        }
        gates.push_back(std::move(gate));
    }
    return gates;
}

TaskState readTaskState(const GuestView& guest, const VcpuSnapshot& at) {
    const kvm_segment& tr = at.cpu.sregs.tr;
    const TableMode mode = tableModeOf(at.cpu.sregs);
    if (tr.unusable || !tr.present || mode == TableMode::Real) {
        TaskState none;
        none.kind = "no task register loaded";
        return none;
    }
    std::array<uint8_t, 104> bytes{};
    const size_t wanted = std::min<size_t>(bytes.size(), uint64_t{tr.limit} + 1);
    const size_t read = guest.readLinear(at, tr.base, bytes.data(), wanted);
    TaskState tss = decodeTaskState(std::span(bytes.data(), read), tr.type, mode);
    tss.present = true;
    tss.readable = read == wanted;
    tss.selector = tr.selector;
    tss.base = tr.base;
    tss.limit = tr.limit;
    return tss;
}

} // namespace kvmscope::inspect
