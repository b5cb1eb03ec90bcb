#pragma once
// The CPU's descriptor tables and task state as a vcpu sees them at a stop: the GDT and LDT
// (segment and system descriptors, Intel SDM vol. 3A 3.4.5 and 3.5), the IDT (gates, 6.11 and
// 6.14.1; in real mode the interrupt vector table of segment:offset pairs, 20.1.4) and the TSS
// (16-, 32- or 64-bit, 8.2.1 and 8.7). Which layout applies comes from the vcpu's mode: IA-32e
// mode (EFER.LMA) widens system descriptors and gates to 16 bytes.
//
// Decoding is a pure function of the bytes and the mode, so it is tested on hand-made tables;
// reading goes through a GuestView relative to a snapshot (the tables' bases are linear
// addresses, so they are read through the vcpu's paging), entry by entry, and an entry that is
// not readable says so instead of ending the table. Each entry keeps its raw bytes and its
// linear address, which is where an edit writes them back (docs/debugger.md, "CPU tables").
#include "inspect/GuestView.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kvmscope::inspect {

// A descriptor's layout, from the mode the vcpu is in.
enum class TableMode {
    Real,      // the IDT is the real-mode vector table; the GDT is not used for addressing
    Protected, // 8-byte descriptors and gates
    Long,      // IA-32e: 16-byte system descriptors and gates
};
TableMode tableModeOf(const kvm_sregs& sregs);

// One GDT or LDT entry (SDM vol. 3A, figure 3-8 and table 3-2).
struct SegmentDescriptor {
    unsigned index = 0;
    uint16_t selector = 0; // index * 8, with TI set for an LDT entry
    uint64_t linear = 0;   // where the entry is
    bool readable = true;  // false: its bytes could not be read (unmapped or outside RAM)
    unsigned size = 8;     // 16 for a system descriptor in IA-32e mode (it spans two entries)
    std::array<uint8_t, 16> raw{};
    bool null = false; // all zeros (index 0 of the GDT is always the null descriptor)
    uint64_t base = 0;
    uint32_t limit = 0;  // in bytes: scaled by G
    uint8_t type = 0;    // bits 43-40
    bool system = false; // S = 0
    uint8_t dpl = 0;
    bool present = false;
    bool available = false;   // AVL
    bool longCode = false;    // L
    bool defaultBig = false;  // D/B
    bool granularity = false; // G
    std::string kind;         // "code", "data", "LDT", "64-bit TSS (busy)", "32-bit call gate", ...
    std::string flags;        // the type's bits in words: "execute/read, accessed, 64-bit"
};

// One IDT entry (SDM vol. 3A, figures 6-2 and 6-8), or a real-mode vector.
struct GateDescriptor {
    unsigned vector = 0;
    uint64_t linear = 0;
    bool readable = true;
    unsigned size = 8; // 4 (real mode), 8 or 16 (IA-32e)
    std::array<uint8_t, 16> raw{};
    std::string kind;      // "64-bit interrupt gate", "32-bit trap gate", "task gate", "real-mode
                           // vector", "reserved (type 0x..)"
    uint16_t selector = 0; // the code segment (the TSS for a task gate, the segment in real mode)
    uint64_t offset = 0;   // the handler's offset in that segment (none for a task gate)
    uint64_t target =
        0; // the handler's linear address where it can be told (real mode, or a flat code segment)
    bool targetKnown = false;
    uint8_t dpl = 0;
    bool present = false;
    uint8_t ist = 0; // IA-32e: the interrupt stack table slot, 0 for none
    uint8_t type = 0;
};

// A field of the TSS, as the SDM names it.
struct TaskStateField {
    std::string name; // "RSP0", "IST1", "I/O map base", "ESP0", "SS0", "CR3", ...
    unsigned offset = 0;
    unsigned size = 0; // bytes
    uint64_t value = 0;
};

struct TaskState {
    bool present = false; // TR holds a usable TSS
    std::string kind;     // "64-bit TSS", "32-bit TSS", "16-bit TSS"
    uint16_t selector = 0;
    uint64_t base = 0;
    uint32_t limit = 0;
    bool readable = true;
    std::vector<TaskStateField> fields;
};

// Decoding, from the bytes alone.
SegmentDescriptor decodeSegmentDescriptor(std::span<const uint8_t> bytes, TableMode mode);
GateDescriptor decodeGate(std::span<const uint8_t> bytes, TableMode mode);
// `bytes` from the TSS's base; `kind` from TR's type (1/3: 16-bit, 9/11: 32-bit or, in IA-32e
// mode, 64-bit). Fields past `bytes` are left out.
TaskState decodeTaskState(std::span<const uint8_t> bytes, uint8_t trType, TableMode mode);

// Reading the live tables of a snapshot. At most `maxEntries` entries each (the limits allow
// 8192 GDT entries and 256 gates).
std::vector<SegmentDescriptor> readGdt(const GuestView& guest, const VcpuSnapshot& at,
                                       size_t maxEntries = 8192);
std::vector<SegmentDescriptor> readLdt(const GuestView& guest, const VcpuSnapshot& at,
                                       size_t maxEntries = 8192);
std::vector<GateDescriptor> readIdt(const GuestView& guest, const VcpuSnapshot& at);
TaskState readTaskState(const GuestView& guest, const VcpuSnapshot& at);

} // namespace kvmscope::inspect
