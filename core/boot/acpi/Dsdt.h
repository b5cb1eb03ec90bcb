#pragma once
// The Differentiated System Description Table's definition block: the AML namespace kvmscope
// gives the guest (ACPI 6.4, 5.2.11.1). It declares only what the fixed tables cannot: the S5
// sleep type that powers off, and each legacy device that the platform table
// (machine/PcPlatform.h) gives an ACPI id, with its ports and IRQ.
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
//   }
aml::Bytes buildDsdtAml();

} // namespace kvmscope::boot::acpi
