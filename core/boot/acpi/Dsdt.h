#pragma once
// The Differentiated System Description Table's definition block: the AML namespace kvmscope
// gives the guest (ACPI 6.4, 5.2.11.1). It declares only what the fixed tables cannot: the S5
// sleep type that powers off, each legacy device that the platform table
// (machine/PcPlatform.h) gives an ACPI id, with its ports and IRQ, and the PCI host bridge.
#include "boot/acpi/Aml.h"

namespace kvmscope::boot::acpi {

// The DSDT's AML (the bytes after its 36-byte header): a TermList equivalent to this ASL, with
// one Device per platform row that has an acpiHid (today COM1 and the RTC):
//
//   Name (_S5, Package () { 0, 0, 0, 0 })   // SLP_TYPa, SLP_TYPb, reserved, reserved
//   Scope (\_SB) {
//       Device (COM1) {
//           Name (_HID, EisaId ("PNP0501"))  // 16550A-compatible serial port
//           Name (_UID, 1)
//           Name (_CRS, ResourceTemplate () {
//               IO (Decode16, 0x3f8, 0x3f8, 0x01, 0x08)
//               IRQNoFlags () { 4 }
//           })
//       }
//       Device (RTC) {
//           Name (_HID, EisaId ("PNP0B00"))  // AT real-time clock
//           Name (_CRS, ResourceTemplate () {
//               IO (Decode16, 0x70, 0x70, 0x01, 0x02)
//               IRQNoFlags () { 8 }
//           })
//       }
//       Device (PCI0) {
//           Name (_HID, EisaId ("PNP0A03"))  // PCI host bridge
//           Name (_CID, EisaId ("PNP0A03"))
//           Name (_UID, 0)  Name (_SEG, 0)  Name (_BBN, 0)     // _HID, so no _ADR (6.1.1)
//           Name (_CRS, ResourceTemplate () {
//               WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
//                              0, 0x00, 0x0f, 0, 0x10)      // the ECAM window's buses
//               IO (Decode16, 0xcf8, 0xcf8, 0x01, 0x08)     // configuration mechanism #1
//               WordIO (..., EntireRange, 0, 0x0000, 0x0cf7, 0, 0x0cf8)
//               WordIO (..., EntireRange, 0, 0x0d00, 0xffff, 0, 0xf300)
//               DWordMemory (..., NonCacheable, ReadWrite, 0, start, end, 0, length)
//                   // once per PcPlatform.h kPciMmioWindows row
//           })
//           Name (_PRT, Package () {  // 32 slots x INTA#-INTD#, APIC mode
//               Package () { 0x0000ffff, 0, 0, 19 }, ...  // GSI 16 + PIRQ (PciIntxRouter)
//           })
//       }
//       Device (PDRC) {                      // motherboard resources: the ECAM window
//           Name (_HID, EisaId ("PNP0C02"))  Name (_UID, 1)
//           Name (_CRS, ResourceTemplate () { Memory32Fixed (ReadWrite, 0xf0000000, 0x1000000) })
//       }
//   }
aml::Bytes buildDsdtAml();

} // namespace kvmscope::boot::acpi
