#pragma once
// The registers of a PCI function's configuration space that every function has, and their bits:
// PCI Local Bus Specification 3.0, 6.1 ("Configuration Space Organization") and 6.2
// ("Configuration Space Functions"). The type 0 header's layout (figure 6-1):
//
//   0x00 vendor ID     0x02 device ID     0x04 command    0x06 status
//   0x08 revision ID   0x09 class code (programming interface, sub-class, base class)
//   0x0c cache line size  0x0d latency timer  0x0e header type  0x0f BIST
//   0x10-0x27 base address registers 0-5      0x28 CardBus CIS pointer
//   0x2c subsystem vendor ID  0x2e subsystem ID  0x30 expansion ROM base address
//   0x34 capabilities pointer  0x3c interrupt line  0x3d interrupt pin  0x3e Min_Gnt  0x3f Max_Lat
#include <cstdint>

namespace kvmscope::pci {

inline constexpr unsigned kConfigSpaceSize = 256; // 6.1: a conventional function's space

inline constexpr unsigned kVendorId = 0x00;
inline constexpr unsigned kDeviceId = 0x02;
inline constexpr unsigned kCommand = 0x04;
inline constexpr unsigned kStatus = 0x06;
inline constexpr unsigned kRevisionId = 0x08;
inline constexpr unsigned kClassCode = 0x09; // 3 bytes: prog-if, sub-class, base class
inline constexpr unsigned kCacheLineSize = 0x0c;
inline constexpr unsigned kLatencyTimer = 0x0d;
inline constexpr unsigned kHeaderType = 0x0e;
inline constexpr unsigned kBar0 = 0x10;
inline constexpr unsigned kBarCount = 6;
inline constexpr unsigned kSubsystemVendorId = 0x2c;
inline constexpr unsigned kSubsystemId = 0x2e;
inline constexpr unsigned kCapabilitiesPointer = 0x34;
inline constexpr unsigned kInterruptLine = 0x3c;
inline constexpr unsigned kInterruptPin = 0x3d;

// 6.2.2 Command register.
inline constexpr uint16_t kCommandIoSpace = 1u << 0;           // the function decodes its I/O BARs
inline constexpr uint16_t kCommandMemorySpace = 1u << 1;       // ... and its memory BARs
inline constexpr uint16_t kCommandBusMaster = 1u << 2;         // it may master the bus (DMA)
inline constexpr uint16_t kCommandParityError = 1u << 6;       // parity error response
inline constexpr uint16_t kCommandSerr = 1u << 8;              // SERR# enable
inline constexpr uint16_t kCommandInterruptDisable = 1u << 10; // INTx# not asserted

// 6.2.3 Status register. Bit 3 is read-only; bits 15-11 and 8 are write 1 to clear.
inline constexpr uint16_t kStatusInterrupt = 1u << 3;    // INTx# pending (whatever bit 10 says)
inline constexpr uint16_t kStatusCapabilities = 1u << 4; // a capabilities list at 0x34
inline constexpr uint16_t kStatusFastBackToBack = 1u << 7;
inline constexpr uint16_t kStatusMasterDataParity = 1u << 8;
inline constexpr uint16_t kStatusDevselMedium = 1u << 9; // DEVSEL timing 01: medium
inline constexpr uint16_t kStatusSignaledTargetAbort = 1u << 11;
inline constexpr uint16_t kStatusReceivedTargetAbort = 1u << 12;
inline constexpr uint16_t kStatusReceivedMasterAbort = 1u << 13;
inline constexpr uint16_t kStatusSignaledSystemError = 1u << 14;
inline constexpr uint16_t kStatusDetectedParityError = 1u << 15;
inline constexpr uint16_t kStatusWriteOneToClear = 0xf900;

// 6.7 Capabilities List: the pointer at 0x34 and each capability's next pointer hold a dword-
// aligned offset into the device-specific part (bits 1-0 reserved, 0 ends the list); each
// capability starts with its ID (Appendix H) and that next pointer.
inline constexpr unsigned kFirstCapabilityOffset = 0x40;
inline constexpr uint8_t kCapabilityPointerMask = 0xfc;
inline constexpr uint8_t kCapabilityIdVendorSpecific = 0x09;
inline constexpr uint8_t kCapabilityIdMsix = 0x11;

// 6.2.1 Header Type: bit 7 says the device has more functions than 0.
inline constexpr uint8_t kHeaderTypeMultiFunction = 0x80;
inline constexpr uint8_t kHeaderTypeNormal = 0x00;

// 6.2.5.1 Base Address Registers: bit 0 tells I/O (1) from memory (0); a memory BAR's bits 2-1
// give its type (00 32-bit, 10 64-bit: the next BAR holds the upper half) and bit 3 says it is
// prefetchable. An I/O BAR's address starts at bit 2, a memory BAR's at bit 4.
inline constexpr uint32_t kBarIoSpace = 1u << 0;
inline constexpr uint32_t kBarMemoryType64 = 2u << 1;
inline constexpr uint32_t kBarPrefetchable = 1u << 3;
inline constexpr uint32_t kBarIoAddressMask = ~uint32_t{0x3};
inline constexpr uint32_t kBarMemoryAddressMask = ~uint32_t{0xf};

// 6.2.4 Interrupt Pin: 0 none, 1-4 INTA#-INTD#. Interrupt Line: 0xff "unknown or no
// connection" on x86 (the line is the firmware's note to the OS; the hardware ignores it).
inline constexpr uint8_t kInterruptPinNone = 0;
inline constexpr unsigned kInterruptPins = 4;

// The PCI bus's geometry (3.2.2.3.2): 32 devices of 8 functions each.
inline constexpr unsigned kDevicesPerBus = 32;
inline constexpr unsigned kFunctionsPerDevice = 8;

// A function's address on its bus: device << 3 | function.
constexpr uint8_t devfn(unsigned device, unsigned function) {
    return static_cast<uint8_t>((device << 3) | function);
}

} // namespace kvmscope::pci
