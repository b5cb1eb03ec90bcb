#pragma once
// The PC platform kvmscope gives every guest, in one place: which legacy device sits at which
// I/O ports and ISA IRQ, how the firmware tables name it, and the fixed physical addresses.
// `Machine` places its devices from these rows, and the DSDT, the MADT and the MP table are
// written from them, so the bus and the tables cannot disagree (tests/unit/machine/
// PcPlatformTest.cpp checks both against this table). Adding a legacy device is its own file plus
// one row here.
//
// The port counts are the devices' own register windows (each device class says how many ports it
// decodes); the table decides only where the window sits.
#include "devices/AcpiPmControl.h"
#include "devices/BochsDispi.h"
#include "devices/CmosRtc.h"
#include "devices/Framebuffer.h"
#include "devices/I8042Controller.h"
#include "devices/Uart16550.h"
#include "devices/VgaText.h"
#include "firmware/DebugConsole.h"
#include "firmware/FwCfg.h"

#include <array>
#include <cstdint>
#include <string_view>

namespace kvmscope::pc {

// An ISA IRQ line that a row does not use.
inline constexpr uint8_t kNoIrq = 0xff;

// One legacy device as the platform places it.
struct LegacyDevice {
    std::string_view name;      // as the I/O bus and the device tree show it
    uint16_t port;              // first I/O port
    uint16_t portCount;         // ports from `port` on that the device decodes
    uint8_t irq = kNoIrq;       // ISA IRQ it raises (on the I/O APIC pin of the same number)
    uint8_t secondIrq = kNoIrq; // a second ISA IRQ (the i8042's mouse)
    // ACPI _HID (EISA id) under which the DSDT declares the device with its ports and IRQ in
    // _CRS (ACPI 6.4, 6.1.5 and 6.2.2); empty for a device the DSDT leaves out because the fixed
    // tables describe it (the PM block is in the FADT) or an OS finds it without ACPI.
    std::string_view acpiHid = {};
    std::string_view acpiName = {}; // its NameSeg in \_SB (ACPI 6.4, 20.2.2)
    uint8_t acpiUid = 0; // _UID when nonzero: for devices a PC can have several of (serial ports)
};

// PC/AT assignments (IBM PC/AT Technical Reference; Linux's arch/x86/kernel/setup.c lists the
// same standard_io_resources). The debug-exit port is QEMU's isa-debug-exit default; the PM block
// and the reset register are where QEMU's PIIX4 machine has them, so guests written for QEMU
// power off and reset unchanged.
// The RTC's IRQ 8 is the line the AT RTC owns, declared as PC firmware does, though the device
// raises no interrupt: Linux's rtc_cmos works without it.
inline constexpr LegacyDevice kCom1{"COM1", 0x3f8, Uart16550::kPortCount, 4, kNoIrq, "PNP0501",
                                    "COM1", 1};
inline constexpr LegacyDevice kRtc{"CMOS RTC", 0x70, CmosRtc::kPortCount, 8, kNoIrq,
                                   "PNP0B00",  "RTC"};
inline constexpr LegacyDevice kI8042{"i8042", I8042Controller::kBasePort,
                                     I8042Controller::kPortCount, 1, 12};
inline constexpr LegacyDevice kPostCode{"POST code", 0x80, 1};
inline constexpr LegacyDevice kDebugExit{"debug-exit", 0xf4, 1};
// SCI on ISA IRQ 9, level-triggered, active high (the FADT's SCI_INT and the MADT's override).
inline constexpr LegacyDevice kAcpiPm{"ACPI PM", 0x600, AcpiPmControl::kPortCount, 9};
inline constexpr LegacyDevice kResetControl{"reset control", 0xcf9, 1};
inline constexpr LegacyDevice kVgaText{"VGA text", VgaText::kBasePort, VgaText::kPortCount};
inline constexpr LegacyDevice kBochsDispi{"Bochs dispi", BochsDispi::kBasePort,
                                          BochsDispi::kPortCount};

// QEMU's fw_cfg and debug console where its PC machines have them and SeaBIOS looks for them
// (docs/specs/fw_cfg.rst "Register Locations"; SeaBIOS src/hw/serialio.c, DebugOutputPort).
inline constexpr LegacyDevice kFwCfg{"fw_cfg", 0x510, firmware::fwcfg::kPortCount};
inline constexpr LegacyDevice kDebugConsole{"debug console", 0x402,
                                            firmware::DebugConsole::kPortCount};

inline constexpr std::array kLegacyDevices{kCom1,       kRtc,    kI8042,        kPostCode,
                                           kDebugExit,  kAcpiPm, kResetControl, kVgaText,
                                           kBochsDispi, kFwCfg,  kDebugConsole};

// The ACPI PM register blocks inside kAcpiPm's window (devices/AcpiPmControl.h).
inline constexpr uint16_t kPm1aEventPort = kAcpiPm.port + AcpiPmControl::kStatusOffset;
inline constexpr uint16_t kPm1aControlPort = kAcpiPm.port + AcpiPmControl::kControlOffset;

// Fixed physical addresses.
//
// The local APIC's and the I/O APIC's default bases (Intel SDM vol. 3A 10.4.1; 82093AA datasheet
// 3.0), where KVM's in-kernel irqchip decodes them.
inline constexpr uint64_t kLocalApicAddress = 0xfee0'0000;
inline constexpr uint64_t kIoApicAddress = 0xfec0'0000;
// The 32-bit MMIO hole: RAM beyond its start continues at 4 GiB (machine/GuestMemory.h).
inline constexpr uint64_t kMmioHoleStart = 0xc000'0000;
inline constexpr uint64_t kMmioHoleEnd = 0x1'0000'0000;
// The linear framebuffer (devices/Framebuffer.h): inside the hole, far below the APICs, where
// QEMU's VGA BAR usually lands, so firmware-aware guests find nothing unusual; as large as the
// device's video memory, which holds the largest mode the dispi accepts.
inline constexpr uint64_t kFramebufferAddress = 0xe000'0000;
inline constexpr uint64_t kFramebufferSize = Framebuffer::kDefaultMemorySize;
// KVM's own pages on Intel VMX: the real-mode TSS (three pages) and the EPT identity map (one
// page), just below the BIOS ROM area at the top of the 32-bit space, outside guest RAM (KVM API
// documentation, KVM_SET_TSS_ADDR and KVM_SET_IDENTITY_MAP_ADDR).
inline constexpr uint64_t kKvmIdentityMapAddress = 0xfeff'c000;
inline constexpr uint64_t kKvmTssAddress = 0xfeff'd000;
inline constexpr uint64_t kKvmTssSize = 3 * 4096;

// Where the ISA IRQs meet the I/O APIC: KVM's default GSI routing (no KVM_SET_GSI_ROUTING;
// arch/x86/kvm/irq_comm.c) connects ISA IRQ n to pin n, the in-kernel PIT's IRQ 0 included. A
// real PC wires IRQ 0 to pin 2; the MP table and the MADT describe this machine, so they map
// every IRQ to its own pin and leave out the usual IRQ 0 override.
inline constexpr unsigned kIsaIrqs = 16;

} // namespace kvmscope::pc
