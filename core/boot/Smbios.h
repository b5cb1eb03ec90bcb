#pragma once
// The SMBIOS tables a PC firmware leaves for the OS (DMTF DSP0134, SMBIOS 3.0): who made the
// machine and its firmware, that it is a virtual machine, its processor and its memory. Linux
// reads them at boot (its "DMI:" line, /sys/class/dmi/id, the quirk tables its drivers match
// against), as do dmidecode and hobby kernels. See docs/boot.md, "SMBIOS".
#include "machine/GuestMemory.h"

#include <cstdint>
#include <string>

namespace kvmscope::boot {

constexpr unsigned kMaxSmbiosCpus = 255;

// What CPUID tells the guest about its processor, for the processor structure (type 4).
struct SmbiosProcessor {
    std::string vendor;       // leaf 0: "GenuineIntel", "AuthenticAMD"
    std::string brand;        // leaves 0x80000002-4, trimmed; may be empty
    uint32_t signature = 0;   // leaf 1 EAX
    uint32_t featuresEdx = 0; // leaf 1 EDX
    bool longMode = false;    // leaf 0x80000001 EDX bit 29
};

struct SmbiosConfig {
    unsigned cpus = 1; // 1 to kMaxSmbiosCpus, one socket with this many cores
    SmbiosProcessor processor;
};

// The firmware the tables name (type 0) is kvmscope, by its version and release date.
// Writes the 64-bit (SMBIOS 3.0, "_SM3_") entry point at layout::kSmbiosAreaStart, the 32-bit
// one ("_SM_", for older readers) after it, and then the structure table: BIOS (type 0, with
// "virtual machine" set), system (1), enclosure (3), processor (4), the physical memory array
// (16) with one memory device (17) of the guest's RAM size, one mapped address range (19) per
// RAM region of `memory`, system boot (32) and the end (127). Returns the 64-bit entry point's
// address. Throws InputError when cpus is 0 or above kMaxSmbiosCpus.
uint64_t writeSmbiosTables(GuestMemory& memory, const SmbiosConfig& config);

} // namespace kvmscope::boot
