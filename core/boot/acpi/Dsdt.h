#pragma once
// The Differentiated System Description Table's definition block: the AML namespace kvmscope
// gives the guest (ACPI 6.4, 5.2.11.1). It declares only what the fixed tables cannot: the S5
// sleep type that powers off, and the COM1 serial port and the CMOS RTC as PNP devices.
#include "boot/acpi/Aml.h"

namespace kvmscope::boot::acpi {

// The UART kvmscope's Machine places (core/machine/Machine.cpp: COM1 at 0x3f8, ISA IRQ 4).
constexpr uint16_t kCom1Port = 0x3f8;
constexpr uint8_t kCom1PortCount = 8;
constexpr uint8_t kCom1Irq = 4;
// The CMOS RTC (devices/CmosRtc.h, placed by Machine.cpp at 0x70, two ports) and ISA IRQ 8, the
// AT RTC's line, as a PC's firmware describes it. IRQ 8 is declared though the device raises no
// interrupt: it is the line the hardware owns, and rtc_cmos works without its interrupts.
constexpr uint16_t kRtcPort = 0x70;
constexpr uint8_t kRtcPortCount = 2;
constexpr uint8_t kRtcIrq = 8;

// The DSDT's AML (the bytes after its 36-byte header): a TermList equivalent to this ASL:
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
