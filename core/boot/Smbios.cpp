#include "boot/Smbios.h"

#include "boot/FirmwareChecksum.h"
#include "boot/GuestLayout.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <span>
#include <vector>

namespace kvmscope::boot {
namespace {

// Section numbers below are those of DSP0134 3.0.0.

// 5.2.2, table 2: the 64-bit entry point.
struct __attribute__((packed)) EntryPoint64 {
    char anchor[5]; // "_SM3_"
    uint8_t checksum;
    uint8_t length; // 0x18
    uint8_t majorVersion;
    uint8_t minorVersion;
    uint8_t docrev;
    uint8_t revision; // 1: the 3.0 entry point
    uint8_t reserved;
    uint32_t tableMaximumSize;
    uint64_t tableAddress;
};
static_assert(sizeof(EntryPoint64) == 0x18);

// 5.2.1, table 1: the 32-bit entry point, whose intermediate part ("_DMI_") has its own checksum.
struct __attribute__((packed)) EntryPoint32 {
    char anchor[4]; // "_SM_"
    uint8_t checksum;
    uint8_t length; // 0x1f
    uint8_t majorVersion;
    uint8_t minorVersion;
    uint16_t maximumStructureSize;
    uint8_t revision; // 0
    uint8_t formattedArea[5];
    char intermediateAnchor[5]; // "_DMI_"
    uint8_t intermediateChecksum;
    uint16_t tableLength;
    uint32_t tableAddress;
    uint16_t structureCount;
    uint8_t bcdRevision;
};
static_assert(sizeof(EntryPoint32) == 0x1f);
constexpr size_t kIntermediateOffset = offsetof(EntryPoint32, intermediateAnchor);

// 6.1.2, table 3: every structure starts with this; its strings follow its formatted area.
struct __attribute__((packed)) Header {
    uint8_t type;
    uint8_t length; // of the formatted area, header included
    uint16_t handle;
};

// 7.1, table 6 (2.4 and later).
struct __attribute__((packed)) BiosInformation {
    Header header;
    uint8_t vendor;
    uint8_t version;
    uint16_t startingSegment;
    uint8_t releaseDate;
    uint8_t romSize; // 64 KiB * (n + 1)
    uint64_t characteristics;
    uint8_t characteristicsExtension[2];
    uint8_t majorRelease;
    uint8_t minorRelease;
    uint8_t controllerMajorRelease;
    uint8_t controllerMinorRelease;
};
static_assert(sizeof(BiosInformation) == 0x18);

// 7.2, table 10 (2.4 and later).
struct __attribute__((packed)) SystemInformation {
    Header header;
    uint8_t manufacturer;
    uint8_t productName;
    uint8_t version;
    uint8_t serialNumber;
    uint8_t uuid[16];
    uint8_t wakeUpType;
    uint8_t skuNumber;
    uint8_t family;
};
static_assert(sizeof(SystemInformation) == 0x1b);

// 7.4, table 16 (2.7 and later), with no contained elements.
struct __attribute__((packed)) SystemEnclosure {
    Header header;
    uint8_t manufacturer;
    uint8_t type;
    uint8_t version;
    uint8_t serialNumber;
    uint8_t assetTag;
    uint8_t bootUpState;
    uint8_t powerSupplyState;
    uint8_t thermalState;
    uint8_t securityStatus;
    uint32_t oemDefined;
    uint8_t height;
    uint8_t powerCords;
    uint8_t containedElementCount;
    uint8_t containedElementLength;
    uint8_t skuNumber;
};
static_assert(sizeof(SystemEnclosure) == 0x16);

// 7.5, table 20 (3.0).
struct __attribute__((packed)) ProcessorInformation {
    Header header;
    uint8_t socketDesignation;
    uint8_t processorType;
    uint8_t processorFamily;
    uint8_t manufacturer;
    uint32_t processorId[2]; // CPUID leaf 1 EAX, EDX (7.5.3.2)
    uint8_t version;
    uint8_t voltage;
    uint16_t externalClock;
    uint16_t maxSpeed;
    uint16_t currentSpeed;
    uint8_t status;
    uint8_t upgrade;
    uint16_t l1CacheHandle;
    uint16_t l2CacheHandle;
    uint16_t l3CacheHandle;
    uint8_t serialNumber;
    uint8_t assetTag;
    uint8_t partNumber;
    uint8_t coreCount;
    uint8_t coreEnabled;
    uint8_t threadCount;
    uint16_t characteristics;
    uint16_t processorFamily2;
    uint16_t coreCount2;
    uint16_t coreEnabled2;
    uint16_t threadCount2;
};
static_assert(sizeof(ProcessorInformation) == 0x30);

// 7.17, table 72 (2.7 and later).
struct __attribute__((packed)) PhysicalMemoryArray {
    Header header;
    uint8_t location;
    uint8_t use;
    uint8_t errorCorrection;
    uint32_t maximumCapacityKib; // 0x80000000: see the extended field
    uint16_t errorInformationHandle;
    uint16_t deviceCount;
    uint64_t extendedMaximumCapacity; // bytes
};
static_assert(sizeof(PhysicalMemoryArray) == 0x17);

// 7.18, table 75 (2.8 and later).
struct __attribute__((packed)) MemoryDevice {
    Header header;
    uint16_t arrayHandle;
    uint16_t errorInformationHandle;
    uint16_t totalWidth;
    uint16_t dataWidth;
    uint16_t size; // MiB, or KiB with bit 15 set; 0x7fff: see extendedSizeMib
    uint8_t formFactor;
    uint8_t deviceSet;
    uint8_t deviceLocator;
    uint8_t bankLocator;
    uint8_t memoryType;
    uint16_t typeDetail;
    uint16_t speed;
    uint8_t manufacturer;
    uint8_t serialNumber;
    uint8_t assetTag;
    uint8_t partNumber;
    uint8_t attributes;
    uint32_t extendedSizeMib;
    uint16_t configuredSpeed;
    uint16_t minimumVoltage;
    uint16_t maximumVoltage;
    uint16_t configuredVoltage;
};
static_assert(sizeof(MemoryDevice) == 0x28);

// 7.20, table 78 (2.7 and later).
struct __attribute__((packed)) MemoryArrayMappedAddress {
    Header header;
    uint32_t startingAddressKib; // 0xffffffff: see the extended fields
    uint32_t endingAddressKib;   // of the last KiB
    uint16_t arrayHandle;
    uint8_t partitionWidth;
    uint64_t extendedStartingAddress; // bytes
    uint64_t extendedEndingAddress;   // of the last byte
};
static_assert(sizeof(MemoryArrayMappedAddress) == 0x1f);

// 7.43, table 131.
struct __attribute__((packed)) SystemBootInformation {
    Header header;
    uint8_t reserved[6];
    uint8_t bootStatus; // 0: no errors detected
};
static_assert(sizeof(SystemBootInformation) == 0x0b);

constexpr uint8_t kTypeBios = 0;
constexpr uint8_t kTypeSystem = 1;
constexpr uint8_t kTypeEnclosure = 3;
constexpr uint8_t kTypeProcessor = 4;
constexpr uint8_t kTypePhysicalMemoryArray = 16;
constexpr uint8_t kTypeMemoryDevice = 17;
constexpr uint8_t kTypeMemoryArrayMappedAddress = 19;
constexpr uint8_t kTypeSystemBoot = 32;
constexpr uint8_t kTypeEndOfTable = 127;

// Handles by type, as the structures refer to each other.
constexpr uint16_t handleOf(uint8_t type, unsigned index = 0) {
    return static_cast<uint16_t>((type << 8) | index);
}
constexpr uint16_t kNoHandle = 0xffff;           // "not provided" for cache handles
constexpr uint16_t kNoErrorInformation = 0xfffe; // 7.17.4: no error information structure

constexpr uint8_t kMajorVersion = 3;
constexpr uint8_t kMinorVersion = 0;

// The range kvmscope reserves for firmware below 1 MiB (e820: the ACPI tables at 0xe0000, the
// MP and SMBIOS tables from 0xf0000), described as the BIOS's ROM: 128 KiB from segment 0xe000.
constexpr uint16_t kBiosStartingSegment = 0xe000;
constexpr uint8_t kBiosRomSize = 1; // 64 KiB * 2
// 7.1.1, table 7: bit 3, "BIOS characteristics are not supported" (there is no BIOS to call).
constexpr uint64_t kBiosCharacteristicsNotSupported = 1u << 3;
// 7.1.2.1, table 8: byte 1 bit 0, ACPI is supported. 7.1.2.2, table 9: byte 2 bit 4, the
// tables describe a virtual machine.
constexpr uint8_t kBiosExtensionAcpi = 1u << 0;
constexpr uint8_t kBiosExtensionVirtualMachine = 1u << 4;
constexpr uint8_t kNoEmbeddedController = 0xff;

constexpr uint8_t kWakeUpPowerSwitch = 0x06; // 7.2.2, table 12
constexpr uint8_t kEnclosureOther = 0x01;    // 7.4.1, table 17
constexpr uint8_t kStateSafe = 0x03;         // 7.4.2, table 18
constexpr uint8_t kSecurityUnknown = 0x02;   // 7.4.3, table 19

constexpr uint8_t kCentralProcessor = 0x03; // 7.5.1, table 21
constexpr uint8_t kFamilyOther = 0x01;      // 7.5.2, table 23: guests read the family from CPUID
constexpr uint8_t kSocketPopulatedCpuEnabled = 0x41; // 7.5 offset 18h: bit 6, status 1
constexpr uint8_t kUpgradeOther = 0x01;              // 7.5.5, table 24
constexpr uint16_t kProcessor64BitCapable = 1u << 2; // 7.5.9, table 26
constexpr uint16_t kProcessorMultiCore = 1u << 3;

constexpr uint8_t kLocationSystemBoard = 0x03; // 7.17.1, table 73
constexpr uint8_t kUseSystemMemory = 0x03;     // 7.17.2, table 74
constexpr uint8_t kErrorCorrectionNone = 0x03; // 7.17.3, table 75
constexpr uint32_t kCapacityInExtendedField = 0x80000000;

constexpr uint16_t kUnknownWidth = 0xffff;
constexpr uint8_t kFormFactorDimm = 0x09;      // 7.18.1, table 76
constexpr uint8_t kMemoryTypeRam = 0x07;       // 7.18.2, table 77
constexpr uint16_t kTypeDetailOther = 1u << 1; // 7.18.3, table 78
constexpr uint16_t kSizeInExtendedField = 0x7fff;
constexpr uint16_t kSizeInKib = 0x8000;
constexpr uint32_t kAddressInExtendedFields = 0xffffffff;

constexpr uint64_t kKib = 1024;
constexpr uint64_t kMib = 1024 * 1024;

// One structure's text strings, numbered from 1 in the order they are added (6.1.3). An empty
// string is not stored: its number is 0, "no string".
class Strings {
public:
    uint8_t add(const std::string& text) {
        if (text.empty())
            return 0;
        texts_.push_back(text);
        return static_cast<uint8_t>(texts_.size());
    }
    // The string set as it follows the formatted area: each string NUL-terminated, then one more
    // NUL; two NULs when there is none.
    void appendTo(std::vector<uint8_t>& table) const {
        for (const std::string& text : texts_) {
            table.insert(table.end(), text.begin(), text.end());
            table.push_back(0);
        }
        if (texts_.empty())
            table.push_back(0);
        table.push_back(0);
    }

private:
    std::vector<std::string> texts_;
};

class StructureTable {
public:
    template <typename Structure>
    void add(Structure structure, uint8_t type, uint16_t handle, const Strings& strings = {}) {
        structure.header = Header{type, static_cast<uint8_t>(sizeof structure), handle};
        const size_t start = bytes_.size();
        const auto* raw = reinterpret_cast<const uint8_t*>(&structure);
        bytes_.insert(bytes_.end(), raw, raw + sizeof structure);
        strings.appendTo(bytes_);
        largest_ = std::max(largest_, bytes_.size() - start);
        ++count_;
    }
    const std::vector<uint8_t>& bytes() const { return bytes_; }
    size_t largest() const { return largest_; }
    uint16_t count() const { return count_; }

private:
    std::vector<uint8_t> bytes_;
    size_t largest_ = 0;
    uint16_t count_ = 0;
};

struct EndOfTable {
    Header header;
};

// The firmware is kvmscope (core/CMakeLists.txt defines its version, in full and as major and
// minor, and release date for this file); the release date is that of the version, mm/dd/yyyy
// (7.1 offset 08h). 0xff in the release fields would mean "not supported".
constexpr char kFirmwareVersion[] = KVMSCOPE_VERSION;
constexpr char kFirmwareReleaseDate[] = KVMSCOPE_RELEASE_DATE;
static_assert(KVMSCOPE_VERSION_MAJOR < 0xff && KVMSCOPE_VERSION_MINOR < 0xff);

void addFirmwareAndSystem(StructureTable& table) {
    BiosInformation bios{};
    Strings biosStrings;
    bios.vendor = biosStrings.add("kvmscope");
    bios.version = biosStrings.add(kFirmwareVersion);
    bios.releaseDate = biosStrings.add(kFirmwareReleaseDate);
    bios.startingSegment = kBiosStartingSegment;
    bios.romSize = kBiosRomSize;
    bios.characteristics = kBiosCharacteristicsNotSupported;
    bios.characteristicsExtension[0] = kBiosExtensionAcpi;
    bios.characteristicsExtension[1] = kBiosExtensionVirtualMachine;
    bios.majorRelease = KVMSCOPE_VERSION_MAJOR;
    bios.minorRelease = KVMSCOPE_VERSION_MINOR;
    bios.controllerMajorRelease = kNoEmbeddedController;
    bios.controllerMinorRelease = kNoEmbeddedController;
    table.add(bios, kTypeBios, handleOf(kTypeBios), biosStrings);

    // The UUID stays all zeros: "present but not set" (7.2.1), as no per-VM identity exists.
    SystemInformation system{};
    Strings systemStrings;
    system.manufacturer = systemStrings.add("kvmscope");
    system.productName = systemStrings.add("kvmscope virtual machine");
    system.version = systemStrings.add(kFirmwareVersion);
    system.family = systemStrings.add("Virtual Machine");
    system.wakeUpType = kWakeUpPowerSwitch;
    table.add(system, kTypeSystem, handleOf(kTypeSystem), systemStrings);

    SystemEnclosure enclosure{};
    Strings enclosureStrings;
    enclosure.manufacturer = enclosureStrings.add("kvmscope");
    enclosure.type = kEnclosureOther;
    enclosure.bootUpState = kStateSafe;
    enclosure.powerSupplyState = kStateSafe;
    enclosure.thermalState = kStateSafe;
    enclosure.securityStatus = kSecurityUnknown;
    table.add(enclosure, kTypeEnclosure, handleOf(kTypeEnclosure), enclosureStrings);
}

void addProcessor(StructureTable& table, const SmbiosConfig& config) {
    ProcessorInformation processor{};
    Strings strings;
    processor.socketDesignation = strings.add("CPU 0");
    processor.processorType = kCentralProcessor;
    processor.processorFamily = kFamilyOther;
    processor.processorFamily2 = kFamilyOther;
    processor.manufacturer = strings.add(config.processor.vendor);
    processor.processorId[0] = config.processor.signature;
    processor.processorId[1] = config.processor.featuresEdx;
    processor.version = strings.add(config.processor.brand);
    processor.status = kSocketPopulatedCpuEnabled;
    processor.upgrade = kUpgradeOther;
    processor.l1CacheHandle = kNoHandle;
    processor.l2CacheHandle = kNoHandle;
    processor.l3CacheHandle = kNoHandle;
    // One socket with one thread per core, as the MADT lists one local APIC per vcpu.
    const auto cores = static_cast<uint8_t>(config.cpus);
    processor.coreCount = processor.coreEnabled = processor.threadCount = cores;
    processor.coreCount2 = processor.coreEnabled2 = processor.threadCount2 = cores;
    processor.characteristics =
        static_cast<uint16_t>((config.processor.longMode ? kProcessor64BitCapable : 0) |
                              (config.cpus > 1 ? kProcessorMultiCore : 0));
    table.add(processor, kTypeProcessor, handleOf(kTypeProcessor), strings);
}

void addMemory(StructureTable& table, const GuestMemory& memory) {
    const uint64_t ramSize = memory.ramSize();
    const uint16_t arrayHandle = handleOf(kTypePhysicalMemoryArray);

    PhysicalMemoryArray array{};
    array.location = kLocationSystemBoard;
    array.use = kUseSystemMemory;
    array.errorCorrection = kErrorCorrectionNone;
    if (ramSize / kKib < kCapacityInExtendedField) {
        array.maximumCapacityKib = static_cast<uint32_t>(ramSize / kKib);
    } else {
        array.maximumCapacityKib = kCapacityInExtendedField;
        array.extendedMaximumCapacity = ramSize;
    }
    array.errorInformationHandle = kNoErrorInformation;
    array.deviceCount = 1;
    table.add(array, kTypePhysicalMemoryArray, arrayHandle);

    MemoryDevice device{};
    Strings strings;
    device.arrayHandle = arrayHandle;
    device.errorInformationHandle = kNoErrorInformation;
    device.totalWidth = kUnknownWidth;
    device.dataWidth = kUnknownWidth;
    // 7.18.5: MiB when they fit below 0x7fff; KiB (bit 15) for a size of whole KiB below 32 MiB
    // that is no whole number of MiB; otherwise 0x7fff and the size in the extended field.
    if (ramSize % kMib != 0 && ramSize / kKib < kSizeInExtendedField) {
        device.size = static_cast<uint16_t>(kSizeInKib | (ramSize / kKib));
    } else if (ramSize / kMib < kSizeInExtendedField) {
        device.size = static_cast<uint16_t>(ramSize / kMib);
    } else {
        device.size = kSizeInExtendedField;
        device.extendedSizeMib = static_cast<uint32_t>(ramSize / kMib);
    }
    device.formFactor = kFormFactorDimm;
    device.deviceLocator = strings.add("DIMM 0");
    device.manufacturer = strings.add("kvmscope");
    device.memoryType = kMemoryTypeRam;
    device.typeDetail = kTypeDetailOther;
    table.add(device, kTypeMemoryDevice, handleOf(kTypeMemoryDevice), strings);

    // Where the array's memory appears: the RAM regions below the MMIO hole and above 4 GiB.
    unsigned index = 0;
    for (const MemoryRegion& region : memory.regions()) {
        MemoryArrayMappedAddress mapped{};
        const uint64_t lastByte = region.end() - 1;
        if (lastByte / kKib < kAddressInExtendedFields) {
            mapped.startingAddressKib = static_cast<uint32_t>(region.guestAddress / kKib);
            mapped.endingAddressKib = static_cast<uint32_t>(lastByte / kKib);
        } else {
            mapped.startingAddressKib = kAddressInExtendedFields;
            mapped.endingAddressKib = kAddressInExtendedFields;
            mapped.extendedStartingAddress = region.guestAddress;
            mapped.extendedEndingAddress = lastByte;
        }
        mapped.arrayHandle = arrayHandle;
        mapped.partitionWidth = 1;
        table.add(mapped, kTypeMemoryArrayMappedAddress,
                  handleOf(kTypeMemoryArrayMappedAddress, index++));
    }
}

} // namespace

uint64_t writeSmbiosTables(GuestMemory& memory, const SmbiosConfig& config) {
    if (config.cpus == 0 || config.cpus > kMaxSmbiosCpus)
        throw InputError(fmt::format("{} cpus cannot be described by the SMBIOS processor "
                                     "structure: 1 to {}",
                                     config.cpus, kMaxSmbiosCpus));
    StructureTable table;
    addFirmwareAndSystem(table);
    addProcessor(table, config);
    addMemory(table, memory);
    table.add(SystemBootInformation{}, kTypeSystemBoot, handleOf(kTypeSystemBoot));
    table.add(EndOfTable{}, kTypeEndOfTable, handleOf(kTypeEndOfTable));

    const uint64_t entryPoint64Address = layout::kSmbiosAreaStart;
    const uint64_t entryPoint32Address = entryPoint64Address + 0x20; // 16-byte aligned (5.2.1)
    const uint64_t tableAddress = entryPoint32Address + 0x20;
    const std::vector<uint8_t>& bytes = table.bytes();
    if (tableAddress + bytes.size() > layout::kSmbiosAreaEnd)
        throw InputError(fmt::format("the SMBIOS tables ({} bytes) do not fit below {:#x}",
                                     bytes.size(), layout::kSmbiosAreaEnd));
    memory.write(tableAddress, bytes.data(), bytes.size());

    EntryPoint64 entry64{};
    std::memcpy(entry64.anchor, "_SM3_", 5);
    entry64.length = sizeof entry64;
    entry64.majorVersion = kMajorVersion;
    entry64.minorVersion = kMinorVersion;
    entry64.revision = 1;
    entry64.tableMaximumSize = static_cast<uint32_t>(bytes.size());
    entry64.tableAddress = tableAddress;
    entry64.checksum =
        zeroSumChecksum({reinterpret_cast<const uint8_t*>(&entry64), sizeof entry64});
    memory.writeValue(entryPoint64Address, entry64);

    EntryPoint32 entry32{};
    std::memcpy(entry32.anchor, "_SM_", 4);
    entry32.length = sizeof entry32;
    entry32.majorVersion = kMajorVersion;
    entry32.minorVersion = kMinorVersion;
    entry32.maximumStructureSize = static_cast<uint16_t>(table.largest());
    std::memcpy(entry32.intermediateAnchor, "_DMI_", 5);
    entry32.tableLength = static_cast<uint16_t>(bytes.size());
    entry32.tableAddress = static_cast<uint32_t>(tableAddress);
    entry32.structureCount = table.count();
    entry32.bcdRevision = static_cast<uint8_t>((kMajorVersion << 4) | kMinorVersion);
    const auto* raw = reinterpret_cast<const uint8_t*>(&entry32);
    entry32.intermediateChecksum =
        zeroSumChecksum({raw + kIntermediateOffset, sizeof entry32 - kIntermediateOffset});
    entry32.checksum = zeroSumChecksum({raw, sizeof entry32});
    memory.writeValue(entryPoint32Address, entry32);
    return entryPoint64Address;
}

} // namespace kvmscope::boot
