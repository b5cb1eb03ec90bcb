#pragma once
// The names an IDE channel, its drives and its bus master use, from the documents that define
// them: T13's ATA/ATAPI-6 (1410D; registers in section 7, commands in 8 and 9), INCITS's
// SPC-3 and MMC-3 for the SCSI commands an ATAPI CD-ROM takes in its packets, and Intel's
// "82371FB (PIIX) and 82371SB (PIIX3) PCI ISA IDE Xcelerator" datasheet, section 2.7 ("Bus
// Master IDE I/O Registers") and 3.6 ("Bus Master IDE Function"), for the bus master.
#include <cstdint>

namespace kvmscope::ide {

// The command block (ATA/ATAPI-6, 7.1 "I/O register descriptions"): offsets from base (0x1f0
// or 0x170). The control block is one port (0x3f6 or 0x376): alternate status / device control.
enum Register : uint8_t {
    kData = 0,
    kErrorFeatures = 1, // read: error; write: features
    kSectorCount = 2,   // ATAPI: interrupt reason on read
    kLbaLow = 3,        // sector number
    kLbaMid = 4,        // cylinder low; ATAPI: byte count low
    kLbaHigh = 5,       // cylinder high; ATAPI: byte count high
    kDevice = 6,        // device/head
    kStatusCommand = 7, // read: status (clears the pending interrupt); write: command
};
constexpr uint64_t kCommandBlockPorts = 8;
constexpr uint64_t kControlBlockPorts = 1;

// Status (7.15): BSY, DRDY, DF, DSC (obsolete since ATA-4, still set by drives and checked by
// old drivers), DRQ, CORR (obsolete), IDX (obsolete), ERR.
constexpr uint8_t kStatusBusy = 0x80;
constexpr uint8_t kStatusReady = 0x40;
constexpr uint8_t kStatusDeviceFault = 0x20;
constexpr uint8_t kStatusSeekComplete = 0x10;
constexpr uint8_t kStatusDataRequest = 0x08;
constexpr uint8_t kStatusError = 0x01;

// Error (7.9): ICRC/BBK, UNC, MC, IDNF, MCR, ABRT, NM; ATAPI puts the sense key in bits 7-4.
constexpr uint8_t kErrorUncorrectable = 0x40;
constexpr uint8_t kErrorIdNotFound = 0x10;
constexpr uint8_t kErrorAborted = 0x04;
constexpr uint8_t kErrorDiagnosticPassed = 0x01; // the error register after a reset / diagnostic

// Device/head (7.10): bit 6 LBA, bit 4 DEV; bits 3-0 are the head or LBA 27-24. Bits 7 and 5
// were "1" in ATA-1 and are obsolete; drivers still write them (0xa0 / 0xb0).
constexpr uint8_t kDeviceLba = 0x40;
constexpr uint8_t kDeviceSlave = 0x10;
constexpr uint8_t kDeviceHeadMask = 0x0f;

// Device control (7.8): HOB, SRST, nIEN.
constexpr uint8_t kControlHighOrderByte = 0x80;
constexpr uint8_t kControlSoftReset = 0x04;
constexpr uint8_t kControlInterruptDisable = 0x02;

// ATAPI interrupt reason in the sector count register (ATA/ATAPI-6, 9.11 "PACKET"): CoD, IO.
constexpr uint8_t kReasonCommand = 0x01; // CoD: the transfer is a command packet (or status)
constexpr uint8_t kReasonToHost = 0x02;  // IO: data goes to the host

// The ATAPI signature in LBA mid/high after a reset (9.12), and the ATA disk's (0, 0).
constexpr uint8_t kAtapiSignatureMid = 0x14;
constexpr uint8_t kAtapiSignatureHigh = 0xeb;

// Commands (ATA/ATAPI-6, section 8; opcodes from table E.2).
enum Command : uint8_t {
    kCmdNop = 0x00,
    kCmdDeviceReset = 0x08,
    kCmdRecalibrate = 0x10, // 0x10-0x1f, obsolete
    kCmdReadSectors = 0x20,
    kCmdReadSectorsNoRetry = 0x21,
    kCmdReadSectorsExt = 0x24,
    kCmdReadDmaExt = 0x25,
    kCmdReadMultipleExt = 0x29,
    kCmdWriteSectors = 0x30,
    kCmdWriteSectorsNoRetry = 0x31,
    kCmdWriteSectorsExt = 0x34,
    kCmdWriteDmaExt = 0x35,
    kCmdWriteMultipleExt = 0x39,
    kCmdReadVerify = 0x40,
    kCmdReadVerifyNoRetry = 0x41,
    kCmdReadVerifyExt = 0x42,
    kCmdSeek = 0x70,
    kCmdExecuteDiagnostic = 0x90,
    kCmdInitializeParameters = 0x91,
    kCmdStandbyImmediateOld = 0x94,
    kCmdIdleImmediateOld = 0x95,
    kCmdStandbyOld = 0x96,
    kCmdIdleOld = 0x97,
    kCmdCheckPowerModeOld = 0x98,
    kCmdSleepOld = 0x99,
    kCmdPacket = 0xa0,
    kCmdIdentifyPacket = 0xa1,
    kCmdReadMultiple = 0xc4,
    kCmdWriteMultiple = 0xc5,
    kCmdSetMultipleMode = 0xc6,
    kCmdReadDma = 0xc8,
    kCmdReadDmaNoRetry = 0xc9,
    kCmdWriteDma = 0xca,
    kCmdWriteDmaNoRetry = 0xcb,
    kCmdStandbyImmediate = 0xe0,
    kCmdIdleImmediate = 0xe1,
    kCmdStandby = 0xe2,
    kCmdIdle = 0xe3,
    kCmdCheckPowerMode = 0xe5,
    kCmdSleep = 0xe6,
    kCmdFlushCache = 0xe7,
    kCmdFlushCacheExt = 0xea,
    kCmdIdentify = 0xec,
    kCmdSetFeatures = 0xef,
};

// SET FEATURES subcommands in the features register (8.36, table 42).
constexpr uint8_t kFeatureEnableWriteCache = 0x02;
constexpr uint8_t kFeatureSetTransferMode = 0x03;
constexpr uint8_t kFeatureDisableReadLookAhead = 0x55;
constexpr uint8_t kFeatureDisableDefaults = 0x66;
constexpr uint8_t kFeatureDisableWriteCache = 0x82;
constexpr uint8_t kFeatureEnableReadLookAhead = 0xaa;
constexpr uint8_t kFeatureEnableDefaults = 0xcc;
// Transfer modes in the sector count register (8.36.10, table 44).
constexpr uint8_t kModePioDefault = 0x00;
constexpr uint8_t kModePioDefaultNoIordy = 0x01;
constexpr uint8_t kModePio = 0x08;          // | mode 0-4 (flow control)
constexpr uint8_t kModeMultiwordDma = 0x20; // | mode 0-2
constexpr uint8_t kModeUltraDma = 0x40;     // | mode 0-5
constexpr uint8_t kMaxPioMode = 4;
constexpr uint8_t kMaxMultiwordDmaMode = 2;
constexpr uint8_t kMaxUltraDmaMode = 5;

// The packet command's features bit 0: the data goes by DMA.
constexpr uint8_t kPacketDma = 0x01;

// SCSI operation codes an ATAPI CD-ROM takes (SPC-3 and MMC-3).
enum ScsiOpcode : uint8_t {
    kScsiTestUnitReady = 0x00,
    kScsiRequestSense = 0x03,
    kScsiInquiry = 0x12,
    kScsiModeSense6 = 0x1a,
    kScsiStartStopUnit = 0x1b,
    kScsiPreventAllowRemoval = 0x1e,
    kScsiReadCapacity10 = 0x25,
    kScsiRead10 = 0x28,
    kScsiSeek10 = 0x2b,
    kScsiReadToc = 0x43,
    kScsiGetConfiguration = 0x46,
    kScsiGetEventStatus = 0x4a,
    kScsiModeSense10 = 0x5a,
    kScsiRead12 = 0xa8,
    kScsiSetCdSpeed = 0xbb,
};
constexpr uint32_t kAtapiPacketSize = 12;

// Sense keys (SPC-3, 4.5.6, table 27) and additional sense codes (table 28) kvmscope reports.
constexpr uint8_t kSenseNone = 0x00;
constexpr uint8_t kSenseNotReady = 0x02;
constexpr uint8_t kSenseIllegalRequest = 0x05;
constexpr uint8_t kSenseUnitAttention = 0x06;
constexpr uint8_t kSenseAbortedCommand = 0x0b;
constexpr uint8_t kAscInvalidOpcode = 0x20;
constexpr uint8_t kAscLbaOutOfRange = 0x21;
constexpr uint8_t kAscInvalidFieldInCdb = 0x24;
constexpr uint8_t kAscSavingNotSupported = 0x39;
constexpr uint8_t kAscRemovalPrevented = 0x53; // ASCQ 0x02
constexpr uint8_t kAscIoError = 0x11;          // unrecovered read error

// The bus master of one channel (PIIX3 datasheet, 2.7): eight ports at BAR4 + 0 (primary) or
// BAR4 + 8 (secondary).
enum BusMasterRegister : uint8_t {
    kBusMasterCommand = 0, // BMIC
    kBusMasterStatus = 2,  // BMIS
    kBusMasterTable = 4,   // BMIDTP, 4 bytes
};
constexpr uint64_t kBusMasterPorts = 8;
constexpr uint8_t kBmicStart = 0x01;     // start/stop bus master
constexpr uint8_t kBmicToMemory = 0x08;  // read/write control: 1 = the bus master writes memory
constexpr uint8_t kBmisActive = 0x01;    // read-only
constexpr uint8_t kBmisError = 0x02;     // write 1 to clear
constexpr uint8_t kBmisInterrupt = 0x04; // write 1 to clear
constexpr uint8_t kBmisDrive0Dma = 0x20; // read-write, for the BIOS's bookkeeping
constexpr uint8_t kBmisDrive1Dma = 0x40;
constexpr uint32_t kBmidtpMask = 0xfffffffc; // the table is dword aligned

} // namespace kvmscope::ide
