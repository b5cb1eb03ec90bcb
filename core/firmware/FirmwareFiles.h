#pragma once
// The fw_cfg items kvmscope gives firmware (SeaBIOS: src/fw/paravirt.c, src/fw/biostables.c,
// src/boot.c), built from the machine's configuration and from the tables a direct boot writes:
// the RAM size, the CPU counts, the memory map (`etc/e820`), the boot order and boot menu, the
// SMBIOS tables (`etc/smbios/smbios-anchor`, `etc/smbios/smbios-tables`), option ROMs
// (`genroms/...`, `pciVVVV,DDDD.rom`) and the ACPI files of firmware/TableLoader.h.
#include "firmware/Firmware.h"
#include "firmware/FwCfg.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kvmscope {
class GuestMemory;
}

namespace kvmscope::firmware {

inline constexpr std::string_view kE820File = "etc/e820";
inline constexpr std::string_view kBootOrderFile = "bootorder";
inline constexpr std::string_view kBootMenuWaitFile = "etc/boot-menu-wait";
inline constexpr std::string_view kSmbiosAnchorFile = "etc/smbios/smbios-anchor";
inline constexpr std::string_view kSmbiosTablesFile = "etc/smbios/smbios-tables";
inline constexpr std::string_view kOptionRomPrefix = "genroms/";

// One etc/e820 entry: QEMU's struct e820_entry (hw/i386/e820_memory_layout.h), packed, little
// endian; SeaBIOS reads it as struct e820_reservation.
inline constexpr size_t kE820EntrySize = 20; // address(8) length(8) type(4)
inline constexpr uint32_t kE820Ram = 1;
inline constexpr uint32_t kE820Reserved = 2;

// The option ROM of a PCI function, by its vendor and device ID.
struct PciOptionRom {
    uint16_t vendorId = 0;
    uint16_t deviceId = 0;
    std::vector<uint8_t> bytes;
};

// The fw_cfg file SeaBIOS takes a PCI function's option ROM from before it looks at the
// function's expansion ROM BAR: "pciVVVV,DDDD.rom", lower-case hex (src/optionroms.c,
// init_pcirom). kvmscope gives the VGA BIOS this way rather than through a ROM BAR at 0x30: the
// ROM is the firmware's business, not the device's, so the function needs no third BAR, no
// window of MMIO exits that SeaBIOS would copy 40 KiB through a byte at a time, and a guest that
// reads ROM BARs (Linux's sysfs "rom") finds none, as on a board whose VGA BIOS is in the system
// flash.
std::string pciOptionRomFile(uint16_t vendorId, uint16_t deviceId);

struct FirmwareItemsConfig {
    unsigned cpus = 1;
    unsigned maxCpus = 1;
    bool bootMenu = false;       // legacy key 0x000e: SeaBIOS offers its F12 menu
    uint16_t bootMenuWaitMs = 0; // etc/boot-menu-wait: how long it waits for the key
    std::string bootOrder;       // bootorder: OpenFirmware device paths, one per line
    std::vector<OptionRom> optionRoms;
    std::vector<PciOptionRom> pciOptionRoms;
};

// The memory map firmware starts from: one RAM entry per region of `memory` (below the 32-bit
// hole and above 4 GiB), the PCI ECAM window reserved (as the MCFG describes it), and KVM's
// identity-map and TSS pages reserved (PcPlatform.h), as QEMU reports them on KVM. The legacy
// areas below 1 MiB and the BIOS ROM are the firmware's to reserve.
std::vector<uint8_t> buildE820File(const GuestMemory& memory);

// Every item but the ACPI and SMBIOS files, which depend on tables written at boot: those are
// declared empty, for FwCfg::setFileData to fill (kAcpiTablesFile, kAcpiRsdpFile,
// kTableLoaderFile, kSmbiosAnchorFile, kSmbiosTablesFile). Throws InputError for an option ROM
// whose name does not fit.
FwCfgItems buildFirmwareItems(const GuestMemory& memory, const FirmwareItemsConfig& config);

struct SmbiosFiles {
    std::vector<uint8_t> anchor; // the SMBIOS 3.0 entry point, table address 0
    std::vector<uint8_t> tables; // the structure table without its BIOS (type 0) structure
};

// Reads the SMBIOS 3.0 entry point at `entryPointAddress` and its structure table. The BIOS
// structure is left out: the firmware adds its own (SeaBIOS: smbios_build_tables), which names
// it rather than kvmscope. The anchor's table size follows, its checksum is valid. Throws Error
// when the entry point or the table cannot be read (they are kvmscope's own).
SmbiosFiles buildSmbiosFiles(const GuestMemory& memory, uint64_t entryPointAddress);

} // namespace kvmscope::firmware
