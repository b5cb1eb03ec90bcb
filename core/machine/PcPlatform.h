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
#include "devices/ide/Ata.h"
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
// The RTC raises its periodic, alarm and update-ended interrupts on IRQ 8, the line the AT RTC
// owns, edge-triggered and active high as every ISA IRQ (devices/CmosRtc.h).
inline constexpr LegacyDevice kCom1{"COM1", 0x3f8, Uart16550::kPortCount, 4, kNoIrq, "PNP0501",
                                    "COM1", 1};
inline constexpr LegacyDevice kRtc{"CMOS RTC", 0x70, CmosRtc::kPortCount, 8, kNoIrq,
                                   "PNP0B00",  "RTC"};
inline constexpr LegacyDevice kI8042{"i8042", I8042Controller::kBasePort,
                                     I8042Controller::kPortCount, 1, 12};
// The i8042 is one controller but two ACPI devices, as PC firmware declares it: the keyboard
// (PNP0303, "IBM Enhanced (101/102-key, PS/2 mouse support)") owns the data port 0x60, the
// command/status port 0x64 and IRQ 1, the PS/2 mouse (PNP0F13) only IRQ 12 (Microsoft's "Plug
// and Play ID - PNPID Table"; Linux's i8042 driver binds to both ids, drivers/input/serio/
// i8042-acpipnpio.h, and SeaBIOS initialises its keyboard only when the DSDT has PNP0303,
// src/hw/ps2port.c). The DSDT writes both from kI8042's ports and IRQs (boot/acpi/Dsdt.cpp).
inline constexpr std::string_view kI8042KeyboardHid = "PNP0303";
inline constexpr std::string_view kI8042KeyboardName = "KBD";
inline constexpr std::string_view kI8042MouseHid = "PNP0F13";
inline constexpr std::string_view kI8042MouseName = "MOU";
inline constexpr LegacyDevice kPostCode{"POST code", 0x80, 1};
inline constexpr LegacyDevice kDebugExit{"debug-exit", 0xf4, 1};
// SCI on ISA IRQ 9, level-triggered, active high (the FADT's SCI_INT and the MADT's override).
inline constexpr LegacyDevice kAcpiPm{"ACPI PM", 0x600, AcpiPmControl::kPortCount, 9};
inline constexpr LegacyDevice kResetControl{"reset control", 0xcf9, 1};
inline constexpr LegacyDevice kVgaText{"VGA text", VgaText::kBasePort, VgaText::kPortCount};
inline constexpr LegacyDevice kBochsDispi{"Bochs dispi", BochsDispi::kBasePort,
                                          BochsDispi::kPortCount};
// PCI configuration mechanism #1 (pci/PciBus.h): CONFIG_ADDRESS is the dword at 0xCF8, registered
// as the one port a dword access arrives at, since 0xCF9 inside it is the reset control register;
// CONFIG_DATA is 0xCFC-0xCFF. In the DSDT they are the PCI host bridge's (the I/O windows of
// PCI0's _CRS leave them out), not a device of their own.
inline constexpr LegacyDevice kPciConfigAddress{"PCI CONFIG_ADDRESS", 0xcf8, 1};
inline constexpr LegacyDevice kPciConfigData{"PCI CONFIG_DATA", 0xcfc, 4};

// QEMU's fw_cfg and debug console where its PC machines have them and SeaBIOS looks for them
// (docs/specs/fw_cfg.rst "Register Locations"; SeaBIOS src/hw/serialio.c, DebugOutputPort).
inline constexpr LegacyDevice kFwCfg{"fw_cfg", 0x510, firmware::fwcfg::kPortCount};
inline constexpr LegacyDevice kDebugConsole{"debug console", 0x402,
                                            firmware::DebugConsole::kPortCount};

// The PIIX3 IDE function's two channels in compatibility mode (pci/Piix3Ide.h): the AT's
// fixed-disk ports and IRQ 14, and the second channel's ports and IRQ 15 (ATA/ATAPI-6, 5.2 "I/O
// register descriptions"; PIIX3 datasheet 2.3.1). No DSDT entry: an OS finds them through the
// PCI function's class code.
inline constexpr LegacyDevice kIdePrimary{"IDE primary", 0x1f0, ide::kCommandBlockPorts, 14};
inline constexpr LegacyDevice kIdePrimaryControl{"IDE primary control", 0x3f6,
                                                 ide::kControlBlockPorts};
inline constexpr LegacyDevice kIdeSecondary{"IDE secondary", 0x170, ide::kCommandBlockPorts, 15};
inline constexpr LegacyDevice kIdeSecondaryControl{"IDE secondary control", 0x376,
                                                   ide::kControlBlockPorts};

inline constexpr std::array kLegacyDevices{kCom1,
                                           kRtc,
                                           kI8042,
                                           kPostCode,
                                           kDebugExit,
                                           kAcpiPm,
                                           kResetControl,
                                           kVgaText,
                                           kBochsDispi,
                                           kPciConfigAddress,
                                           kPciConfigData,
                                           kFwCfg,
                                           kDebugConsole,
                                           kIdePrimary,
                                           kIdePrimaryControl,
                                           kIdeSecondary,
                                           kIdeSecondaryControl};

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
// The linear framebuffer (devices/Framebuffer.h) is the VGA function's BAR0 and goes where the
// guest's firmware or OS places it (devices/StdVgaFunction.h); as large as the device's video
// memory, which holds the largest mode the dispi accepts. A direct boot has no firmware to place
// the BARs, so kvmscope assigns them as firmware would, inside the first BAR window: BAR0 where
// QEMU's VGA BAR usually lands, BAR2 (the 4 KiB register BAR) right after it. Nothing else may
// assume these addresses: once the guest runs, the BARs are wherever the guest put them.
inline constexpr uint64_t kFramebufferSize = Framebuffer::kDefaultMemorySize;
inline constexpr uint64_t kVgaFramebufferInitialAddress = 0xe000'0000;
inline constexpr uint64_t kVgaMmioInitialAddress = kVgaFramebufferInitialAddress + kFramebufferSize;
// KVM's own pages on Intel VMX: the real-mode TSS (three pages) and the EPT identity map (one
// page), just below the BIOS ROM area at the top of the 32-bit space, outside guest RAM (KVM API
// documentation, KVM_SET_TSS_ADDR and KVM_SET_IDENTITY_MAP_ADDR).
inline constexpr uint64_t kKvmIdentityMapAddress = 0xfeff'c000;
inline constexpr uint64_t kKvmTssAddress = 0xfeff'd000;
inline constexpr uint64_t kKvmTssSize = 3 * 4096;

// PCI (docs/devices.md, "PCI"; pci/).
//
// The ECAM window (PCI Express Base Specification 4.0, 7.2.2), described by the ACPI MCFG: bus b's
// configuration spaces at base + (b << 20). It covers buses 0-15 (16 MiB; only bus 0 exists, the
// others read all ones), leaving room for bridges. Where: inside the 32-bit MMIO hole, aligned to
// its size as 7.2.2 asks, clear of everything fixed there: the I/O APIC (0xFEC00000), the local
// APIC (0xFEE00000), KVM's TSS and identity map (0xFEFFC000) and the BIOS ROM at the top of 4 GiB
// (0xFFFC0000-0xFFFFFFFF). QEMU's q35 puts its 256 MiB window at 0xB0000000, below its hole;
// kvmscope's hole starts at 0xC0000000 and a 256 MiB window would take a quarter of it, so
// 0xF0000000 it is: 236 MiB below the I/O APIC, leaving 0xC0000000-0xEFFFFFFF for BARs in one
// piece.
inline constexpr uint64_t kPciEcamAddress = 0xf000'0000;
inline constexpr unsigned kPciEcamBuses = 16;
inline constexpr uint64_t kPciEcamSize = uint64_t{kPciEcamBuses} << 20;
// A range of addresses, [start, end).
struct AddressWindow {
    uint64_t start;
    uint64_t end;
};
// Where BARs may go (the PCI0 _CRS in the DSDT): the hole without the ECAM window, up to the I/O
// APIC. The top window is where SeaBIOS places BARs on a 440FX (downwards from 0xFEC00000,
// src/fw/pciinit.c), so firmware-assigned BARs need no moving.
inline constexpr std::array kPciMmioWindows{
    AddressWindow{kMmioHoleStart, kPciEcamAddress},
    AddressWindow{kPciEcamAddress + kPciEcamSize, kIoApicAddress},
};
// I/O ports for BARs: all but the configuration mechanism's 0xCF8-0xCFF, as PC firmware declares
// (PCI Firmware Specification 3.0, 4.1.2); legacy devices' ports inside are still refused.
inline constexpr std::array kPciIoWindows{AddressWindow{0x0000, 0x0cf8},
                                          AddressWindow{0x0d00, 0x1'0000}};
// The chipset's functions on bus 0 (where SeaBIOS and QEMU's "pc" machine have them): the
// i440FX host bridge at 00:00.0, the PIIX3 ISA bridge at 00:01.0 and its IDE function at
// 00:01.1; the VGA adapter at 00:02.0; virtio devices from 00:04.0 on, one slot each.
inline constexpr uint8_t kPciHostBridgeSlot = 0;
inline constexpr uint8_t kPciIsaBridgeSlot = 1;
inline constexpr uint8_t kPciIdeFunction = 1; // in kPciIsaBridgeSlot
inline constexpr uint8_t kPciVgaSlot = 2;
inline constexpr uint8_t kPciFirstVirtioSlot = 4;
// PIRQA#-PIRQD# reach I/O APIC inputs 16-19 (pci/PciIntxRouter.h); the DSDT's _PRT says so.
inline constexpr uint32_t kPciIrqFirstGsi = 16;
inline constexpr unsigned kPciIrqLinks = 4;
// KVM's in-kernel I/O APIC has 24 inputs (KVM_IOAPIC_NUM_PINS): GSIs 16-19 exist.
inline constexpr unsigned kIoApicPins = 24;
// I/O ports KVM answers in the kernel before kvmscope sees them: a BAR there would never be
// reached, so the PCI bus refuses it (the PICs, the PIT, port B, the ELCR).
inline constexpr std::array kKernelIoPorts{AddressWindow{0x20, 0x22}, AddressWindow{0x40, 0x44},
                                           AddressWindow{0x61, 0x62}, AddressWindow{0xa0, 0xa2},
                                           AddressWindow{0x4d0, 0x4d2}};

// Where the ISA IRQs meet the I/O APIC: KVM's default GSI routing (no KVM_SET_GSI_ROUTING;
// arch/x86/kvm/irq_comm.c) connects ISA IRQ n to pin n, the in-kernel PIT's IRQ 0 included. A
// real PC wires IRQ 0 to pin 2; the MP table and the MADT describe this machine, so they map
// every IRQ to its own pin and leave out the usual IRQ 0 override.
inline constexpr unsigned kIsaIrqs = 16;

} // namespace kvmscope::pc
