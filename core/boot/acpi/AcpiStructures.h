#pragma once
// The binary layouts of the ACPI tables kvmscope writes, as ACPI 6.4 chapter 5 ("ACPI Software
// Programming Model") defines them. Debian ships no header with these structures for user space,
// so they are declared here, packed, with their sizes checked against the spec's tables.
// All multi-byte fields are little-endian (5.2.1), as on the x86 host.
#include <cstdint>

namespace kvmscope::boot::acpi {

// 5.2.5.3, table 5.3: Root System Description Pointer, revision 2.
struct __attribute__((packed)) Rsdp {
    char signature[8]; // "RSD PTR "
    uint8_t checksum;  // makes the first 20 bytes (the ACPI 1.0 structure) sum to 0
    char oemId[6];
    uint8_t revision; // 2: ACPI 2.0 and later, with the XSDT
    uint32_t rsdtAddress;
    uint32_t length; // of the whole structure: 36
    uint64_t xsdtAddress;
    uint8_t extendedChecksum; // makes all 36 bytes sum to 0
    uint8_t reserved[3];
};
static_assert(sizeof(Rsdp) == 36);
constexpr unsigned kRsdpV1Length = 20; // what the first checksum covers

// 5.2.6, table 5.4: the header every system description table starts with.
struct __attribute__((packed)) TableHeader {
    char signature[4];
    uint32_t length; // of the table, header included
    uint8_t revision;
    uint8_t checksum; // makes the whole table sum to 0
    char oemId[6];
    char oemTableId[8];
    uint32_t oemRevision;
    char creatorId[4];
    uint32_t creatorRevision;
};
static_assert(sizeof(TableHeader) == 36);

// 5.2.3.2, table 5.1: Generic Address Structure.
struct __attribute__((packed)) GenericAddress {
    uint8_t addressSpaceId; // kAddressSpaceSystemIo for port I/O
    uint8_t registerBitWidth;
    uint8_t registerBitOffset;
    uint8_t accessSize; // kAccess* below
    uint64_t address;
};
static_assert(sizeof(GenericAddress) == 12);
constexpr uint8_t kAddressSpaceSystemIo = 1;
constexpr uint8_t kAccessUndefined = 0; // legacy: the register's width decides
constexpr uint8_t kAccessByte = 1;
constexpr uint8_t kAccessWord = 2;
constexpr uint8_t kAccessDword = 3;

// 5.2.9, table 5.9: Fixed ACPI Description Table ("FACP"), revision 6.
struct __attribute__((packed)) Fadt {
    TableHeader header;
    uint32_t firmwareControl; // FACS
    uint32_t dsdt;
    uint8_t reserved0; // INT_MODEL in ACPI 1.0
    uint8_t preferredPmProfile;
    uint16_t sciInterrupt;
    uint32_t smiCommand;
    uint8_t acpiEnable;
    uint8_t acpiDisable;
    uint8_t s4BiosRequest;
    uint8_t pstateControl;
    uint32_t pm1aEventBlock;
    uint32_t pm1bEventBlock;
    uint32_t pm1aControlBlock;
    uint32_t pm1bControlBlock;
    uint32_t pm2ControlBlock;
    uint32_t pmTimerBlock;
    uint32_t gpe0Block;
    uint32_t gpe1Block;
    uint8_t pm1EventLength;
    uint8_t pm1ControlLength;
    uint8_t pm2ControlLength;
    uint8_t pmTimerLength;
    uint8_t gpe0BlockLength;
    uint8_t gpe1BlockLength;
    uint8_t gpe1Base;
    uint8_t cstateControl;
    uint16_t c2Latency;
    uint16_t c3Latency;
    uint16_t flushSize;
    uint16_t flushStride;
    uint8_t dutyOffset;
    uint8_t dutyWidth;
    uint8_t dayAlarm;
    uint8_t monthAlarm;
    uint8_t century;
    uint16_t iapcBootArch; // table 5.11
    uint8_t reserved1;
    uint32_t flags; // table 5.10
    GenericAddress resetRegister;
    uint8_t resetValue;
    uint16_t armBootArch;
    uint8_t minorVersion;
    uint64_t xFirmwareControl;
    uint64_t xDsdt;
    GenericAddress xPm1aEventBlock;
    GenericAddress xPm1bEventBlock;
    GenericAddress xPm1aControlBlock;
    GenericAddress xPm1bControlBlock;
    GenericAddress xPm2ControlBlock;
    GenericAddress xPmTimerBlock;
    GenericAddress xGpe0Block;
    GenericAddress xGpe1Block;
    GenericAddress sleepControlRegister;
    GenericAddress sleepStatusRegister;
    uint64_t hypervisorVendorId;
};
static_assert(sizeof(Fadt) == 276);
static_assert(__builtin_offsetof(Fadt, flags) == 112);
static_assert(__builtin_offsetof(Fadt, resetRegister) == 116);
static_assert(__builtin_offsetof(Fadt, xDsdt) == 140);
static_assert(__builtin_offsetof(Fadt, xPm1aControlBlock) == 172);

// Table 5.10: FADT fixed feature flags.
constexpr uint32_t kFadtWbinvd = 1u << 0;
constexpr uint32_t kFadtProcC1 = 1u << 2;
constexpr uint32_t kFadtPowerButton = 1u << 4; // set: no fixed-feature power button
constexpr uint32_t kFadtSleepButton = 1u << 5; // set: no fixed-feature sleep button
constexpr uint32_t kFadtTmrValExt = 1u << 8;   // set: 32-bit PM timer
constexpr uint32_t kFadtResetRegSup = 1u << 10;
constexpr uint32_t kFadtHwReducedAcpi = 1u << 20;

// Table 5.11: IA-PC boot architecture flags.
constexpr uint16_t kBootArchLegacyDevices = 1u << 0;
constexpr uint16_t kBootArch8042 = 1u << 1;

// 5.2.10, table 5.14: Firmware ACPI Control Structure. No checksum; 64-byte aligned.
struct __attribute__((packed)) Facs {
    char signature[4]; // "FACS"
    uint32_t length;   // 64
    uint32_t hardwareSignature;
    uint32_t firmwareWakingVector;
    uint32_t globalLock;
    uint32_t flags;
    uint64_t xFirmwareWakingVector;
    uint8_t version; // 2
    uint8_t reserved0[3];
    uint32_t ospmFlags;
    uint8_t reserved1[24];
};
static_assert(sizeof(Facs) == 64);
constexpr uint64_t kFacsAlignment = 64;

// 5.2.12, table 5.19: Multiple APIC Description Table ("APIC"), the part before the entries.
struct __attribute__((packed)) MadtHeader {
    TableHeader header;
    uint32_t localApicAddress;
    uint32_t flags;
};
static_assert(sizeof(MadtHeader) == 44);
constexpr uint32_t kMadtPcatCompat = 1u << 0; // dual 8259s present as well (table 5.20)

// 5.2.12, table 5.21: interrupt controller structure types.
constexpr uint8_t kMadtLocalApic = 0;
constexpr uint8_t kMadtIoApic = 1;
constexpr uint8_t kMadtInterruptSourceOverride = 2;
constexpr uint8_t kMadtLocalApicNmi = 4;

// 5.2.12.2, table 5.22: Processor Local APIC.
struct __attribute__((packed)) MadtLocalApic {
    uint8_t type;
    uint8_t length; // 8
    uint8_t processorUid;
    uint8_t apicId;
    uint32_t flags; // table 5.23
};
static_assert(sizeof(MadtLocalApic) == 8);
constexpr uint32_t kLocalApicEnabled = 1u << 0;

// 5.2.12.3, table 5.24: I/O APIC.
struct __attribute__((packed)) MadtIoApic {
    uint8_t type;
    uint8_t length; // 12
    uint8_t ioApicId;
    uint8_t reserved;
    uint32_t address;
    uint32_t gsiBase;
};
static_assert(sizeof(MadtIoApic) == 12);

// 5.2.12.5, table 5.25: Interrupt Source Override.
struct __attribute__((packed)) MadtInterruptOverride {
    uint8_t type;
    uint8_t length; // 10
    uint8_t bus;    // 0: ISA
    uint8_t source; // the ISA IRQ
    uint32_t gsi;
    uint16_t flags; // MPS INTI flags, table 5.26
};
static_assert(sizeof(MadtInterruptOverride) == 10);

// Table 5.26: MPS INTI flags.
constexpr uint16_t kIntiPolarityActiveHigh = 0x1;
constexpr uint16_t kIntiTriggerLevel = 0x3 << 2;
constexpr uint16_t kIntiConforming = 0; // polarity and trigger as the bus defines them

// 5.2.12.7, table 5.28: Local APIC NMI.
struct __attribute__((packed)) MadtLocalApicNmi {
    uint8_t type;
    uint8_t length;       // 6
    uint8_t processorUid; // 0xff: all processors
    uint16_t flags;       // MPS INTI flags
    uint8_t localApicLint;
};
static_assert(sizeof(MadtLocalApicNmi) == 6);
constexpr uint8_t kAllProcessors = 0xff;

// MCFG, the PCI Express memory-mapped configuration space base address description table (PCI
// Firmware Specification 3.0, 4.1.2, table 4-2): the header, 8 reserved bytes, then one
// allocation (table 4-3) per ECAM window.
struct __attribute__((packed)) McfgHeader {
    TableHeader header;
    uint8_t reserved[8];
};
static_assert(sizeof(McfgHeader) == 44);

struct __attribute__((packed)) McfgAllocation {
    uint64_t baseAddress; // of bus 0's space, even when startBus is not 0
    uint16_t segment;     // PCI segment group
    uint8_t startBus;
    uint8_t endBus;
    uint32_t reserved;
};
static_assert(sizeof(McfgAllocation) == 16);

} // namespace kvmscope::boot::acpi
