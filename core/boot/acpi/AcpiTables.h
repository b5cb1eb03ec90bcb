#pragma once
// The ACPI tables a PC firmware would leave for the OS (ACPI 6.4 chapter 5): how many processors
// there are, where the I/O APIC is, how to power off (PM1a blocks and \_S5) and how to reset
// (the FADT's reset register). See docs/acpi.md.
#include "boot/GuestLayout.h"
#include "boot/acpi/AcpiStructures.h"
#include "machine/GuestMemory.h"
#include "machine/PcPlatform.h"

#include <cstdint>

namespace kvmscope::boot {

// Where the tables go (boot/GuestLayout.h): the RSDP on the 16-byte boundary that starts the
// area an OS scans on a legacy (non-UEFI) boot, everything else after it, within the 4 KiB that
// the loaders keep images out of. The MP table (0xf0000) and the EBDA lie outside this range.
constexpr uint64_t kAcpiAreaStart = layout::kAcpiAreaStart;
constexpr uint64_t kAcpiAreaEnd = layout::kAcpiAreaEnd; // exclusive
constexpr unsigned kMaxAcpiCpus = 255;

// The platform's values (machine/PcPlatform.h) unless a test asks for others.
struct AcpiConfig {
    unsigned cpus = 1; // 1 to kMaxAcpiCpus; local APIC id = ACPI uid = index
    uint16_t pm1aEventPort = pc::kPm1aEventPort;     // PM1a_EVT_BLK, 4 bytes
    uint16_t pm1aControlPort = pc::kPm1aControlPort; // PM1a_CNT_BLK, 2 bytes
    uint8_t sciIrq = pc::kAcpiPm.irq;                // ISA IRQ of the SCI; level, active high
    uint16_t resetPort = pc::kResetControl.port;     // RESET_REG (devices/ResetControlPort.h)
    uint8_t resetValue = 0x06;                       // RESET_VALUE: SYS_RST | RST_CPU, a hard reset
    uint64_t pciEcamAddress = pc::kPciEcamAddress;   // the MCFG's one window, segment 0
    unsigned pciEcamBuses = pc::kPciEcamBuses;       // buses 0 to pciEcamBuses - 1 (1-256)
};

// Writes RSDP, XSDT, RSDT, FADT, FACS, MADT, MCFG and DSDT into [kAcpiAreaStart, kAcpiAreaEnd) and
// returns the RSDP's guest-physical address (kAcpiAreaStart). Throws InputError when cpus is 0
// or above kMaxAcpiCpus, when sciIrq is not an ISA IRQ (0-15), when pciEcamBuses is not 1-256, or
// if the tables would not fit.
uint64_t writeAcpiTables(GuestMemory& memory, const AcpiConfig& config);

// The RSDP writeAcpiTables writes at kAcpiAreaStart, byte for byte, for any configuration (the
// root tables it points at come first): what a boot loader hands a kernel as a copy (Multiboot 2's
// ACPI RSDP tags) before the tables are written.
acpi::Rsdp acpiRootPointer();

} // namespace kvmscope::boot
