#pragma once
// Where kvmscope puts its boot-time structures in guest-physical memory, in one place so that
// the loaders, X86Setup and MpTable cannot disagree (docs/boot.md, "Guest memory layout").
//
//   start      end (excl.)  what                                         written by
//   0x00000    0x00400      real-mode IVT (left zero)                    -
//   0x00400    0x00500      BIOS data area: EBDA segment, base memory    MpTable
//   0x00500    0x00530      GDT: null, code64, code32, data, TSS (16 B)  X86Setup (32/64-bit)
//   0x00580    0x005e8      TSS (104 bytes, all zero)                    X86Setup (32/64-bit)
//   0x01000    0x07000      long-mode page tables: PML4, PDPT, 4 PDs     X86Setup (64-bit)
//   0x07000    0x07c00      boot stack; ESP/RSP = 0x7c00 on entry        -
//   0x07c00    ...          flat images (default load address)           FlatLoader
//   0x09000    0x10000      multiboot information, memory map, strings   MultibootLoader
//   0x09000    0x10000      or: Multiboot 2 boot information tags        Multiboot2Loader
//   0x09000    0x0a000      or: Linux zero page (struct boot_params)     LinuxLoader
//   0x0a000    0x10000      or: Linux kernel command line                LinuxLoader
//   0x9fc00    0x9fc10      EBDA: MP floating pointer structure          MpTable
//   0xa0000    0xe0000      VGA window and option ROM area (RAM)         -
//   0xe0000    0xe2000      ACPI tables: RSDP first                      AcpiTables
//   0xf0000    0xf14b8      MP configuration table (255 cpus at most)    MpTable
//   0xf1800    0xf2000      SMBIOS entry points and structure table      Smbios
//   0x100000   ...          kernels (multiboot, ELF, Linux), then modules loaders
//   below low RAM's end      Linux initrd, as high as the kernel allows   LinuxLoader
//
// The rest of [0x9fc00, 0x100000) is RAM nothing writes: the memory maps a guest is given
// (E820, multiboot) still call it reserved, as a PC's do, but an image may be loaded there (the
// ELF and program headers that GNU ld puts one page below a kernel linked at 1 MiB, at 0xff000).
//
// 0x8000 stays free: the smp guest copies its AP trampoline there (resources/guests/smp/smp.h).
#include <cstdint>

namespace kvmscope::boot::layout {

// Real-mode interrupt vector table and the BIOS data area (no BIOS runs; they stay zero apart
// from the two BDA words MpTable sets).
constexpr uint64_t kBdaEbdaSegment = 0x40e;   // word: EBDA segment (MP spec 1.4, 4)
constexpr uint64_t kBdaBaseMemoryKib = 0x413; // word: KiB of base memory below the EBDA

constexpr uint64_t kGdtAddress = 0x500;
constexpr uint64_t kTssAddress = 0x580;
constexpr uint64_t kTssLimit = 0x67; // a 104-byte TSS without I/O permission bitmap

// Long64: identity map of [0, 4 GiB) with 2 MiB pages: PML4, PDPT, then one page directory per
// GiB (Intel SDM vol. 3A, 4.5).
constexpr uint64_t kPml4Address = 0x1000;
constexpr uint64_t kPdptAddress = 0x2000;
constexpr uint64_t kPageDirectoryAddress = 0x3000; // four consecutive pages
constexpr uint64_t kPageDirectoryCount = 4;
constexpr uint64_t kPageTablesEnd = kPageDirectoryAddress + kPageDirectoryCount * 0x1000;

constexpr uint64_t kBootStackBottom = 0x7000;
constexpr uint64_t kBootStackTop = 0x7c00; // ESP/RSP for Protected32 and Long64

constexpr uint64_t kDefaultFlatLoadAddress = 0x7c00;

constexpr uint64_t kMultibootInfoStart = 0x9000;
constexpr uint64_t kMultibootInfoEnd = 0x10000;

// Linux boot protocol (Documentation/arch/x86/boot.rst): the zero page and the command line take
// the multiboot information area's place, which a Linux boot does not use. Both lie in the
// identity map the 64-bit protocol requires.
constexpr uint64_t kLinuxZeroPageAddress = 0x9000; // struct boot_params, 4 KiB
constexpr uint64_t kLinuxCommandLineAddress = 0xa000;
constexpr uint64_t kLinuxCommandLineEnd = 0x10000; // room for 0x5fff bytes and the NUL
// The protected-mode kernel goes to 1 MiB, where boot.rst puts a LOADED_HIGH kernel.
constexpr uint64_t kLinuxKernelAddress = 0x100000;

// Conventional memory ends where the EBDA begins; mem_lower is therefore 639 KiB.
constexpr uint64_t kEbdaAddress = 0x9fc00;
constexpr uint64_t kEbdaEnd = 0xa0000;
constexpr uint64_t kBiosAreaStart = 0xf0000;
constexpr uint64_t kBiosAreaEnd = 0x100000;
// The MP floating pointer structure is 16 bytes (MP spec 1.4, 4.1).
constexpr uint64_t kMpFloatingPointerAddress = kEbdaAddress;
constexpr uint64_t kMpFloatingPointerEnd = kMpFloatingPointerAddress + 16;
// The configuration table of 255 cpus: header (44), 255 processors (20 each), bus, I/O APIC, 16
// I/O and 2 local interrupt entries (8 each). MpTable.cpp asserts the sum.
constexpr uint64_t kMpConfigTableAddress = kBiosAreaStart;
constexpr uint64_t kMpConfigTableMaxSize = 5304;
constexpr uint64_t kMpConfigTableEnd = kMpConfigTableAddress + kMpConfigTableMaxSize;
// ACPI: the RSDP on the 16-byte boundary that starts the range an OS scans on a legacy (non-UEFI)
// boot, 0xe0000-0xfffff (ACPI 6.4, 5.2.5.1), the other tables after it; writeAcpiTables refuses
// tables that would pass kAcpiAreaEnd (those of 255 cpus take about 5 KiB, the DSDT's PCI routing
// table 1.7 KiB of it).
constexpr uint64_t kAcpiAreaStart = 0xe0000;
constexpr uint64_t kAcpiAreaEnd = 0xe2000;
// SMBIOS after the MP table's room, in the range an OS without UEFI scans for its entry point
// (SMBIOS 3.0, 5.2): Linux scans it 16 bytes at a time, at emulation speed where KVM emulates
// ring 0, so the entry point comes early in the range. writeSmbiosTables refuses tables that
// would pass kSmbiosAreaEnd.
constexpr uint64_t kSmbiosAreaStart = 0xf1800;
constexpr uint64_t kSmbiosAreaEnd = 0xf2000;

constexpr uint64_t kHighMemoryStart = 0x100000; // 1 MiB
constexpr uint64_t kFourGib = 0x1'0000'0000;

// GDT selectors (index * 8). The 64-bit and 32-bit code descriptors both exist so that a
// Protected32 guest can enter long mode with the same GDT.
constexpr uint16_t kCode64Selector = 0x08;
constexpr uint16_t kCode32Selector = 0x10;
constexpr uint16_t kDataSelector = 0x18;
constexpr uint16_t kTssSelector = 0x20;
constexpr uint64_t kGdtSize = 0x30; // six 8-byte slots: the TSS descriptor takes two

// A guest-physical range no image may overlap, named for the message that refuses one.
struct ReservedRange {
    uint64_t start;
    uint64_t end; // exclusive
    const char* what;
};

// Reserved for every image: what X86Setup, MpTable, AcpiTables and Smbios write, each range the
// most its writer may take for any machine kvmscope builds. The IVT is kept too: a real-mode
// guest expects one at 0. Nothing else below 1 MiB is, so an image may use the rest of the EBDA,
// the VGA window and the BIOS area, which are RAM in kvmscope.
inline constexpr ReservedRange kReservedForAllImages[] = {
    {0, kGdtAddress, "the real-mode IVT and the BIOS data area"},
    {kGdtAddress, kGdtAddress + kGdtSize, "the GDT"},
    {kTssAddress, kTssAddress + kTssLimit + 1, "the TSS"},
    {kPml4Address, kPageTablesEnd, "the long-mode page tables"},
    {kMpFloatingPointerAddress, kMpFloatingPointerEnd, "the MP floating pointer structure"},
    {kAcpiAreaStart, kAcpiAreaEnd,
     "the ACPI tables (RSDP, XSDT, RSDT, FADT, FACS, MADT, MCFG, DSDT)"},
    {kMpConfigTableAddress, kMpConfigTableEnd, "the MP configuration table"},
    {kSmbiosAreaStart, kSmbiosAreaEnd, "the SMBIOS entry points and structure table"},
};
// Also reserved for images entered in 32/64-bit mode, whose stack kvmscope sets.
inline constexpr ReservedRange kBootStackRange = {kBootStackBottom, kBootStackTop,
                                                  "the boot stack"};
// Also reserved for multiboot kernels (1 and 2) and their modules.
inline constexpr ReservedRange kMultibootInfoRange = {kMultibootInfoStart, kMultibootInfoEnd,
                                                      "the multiboot information area"};

// Also reserved for Linux kernels and their initrd.
inline constexpr ReservedRange kLinuxBootDataRange = {kLinuxZeroPageAddress, kLinuxCommandLineEnd,
                                                      "the Linux zero page and command line"};

} // namespace kvmscope::boot::layout
