#include "boot/MpTable.h"

#include "boot/FirmwareChecksum.h"
#include "boot/GuestLayout.h"
#include "machine/PcPlatform.h"

#include <cstring>
#include <fmt/format.h>
#include <vector>

namespace kvmscope::boot {
namespace {

// MP spec 1.4, 4.1, table 4-1: the floating pointer structure.
struct __attribute__((packed)) FloatingPointer {
    char signature[4]; // "_MP_"
    uint32_t configTable;
    uint8_t length; // in 16-byte paragraphs
    uint8_t specRevision;
    uint8_t checksum;
    uint8_t features[5]; // features[0] = 0: a configuration table is present
};
static_assert(sizeof(FloatingPointer) == 16);

// 4.2, table 4-2: the configuration table header.
struct __attribute__((packed)) ConfigHeader {
    char signature[4]; // "PCMP"
    uint16_t baseTableLength;
    uint8_t specRevision;
    uint8_t checksum;
    char oemId[8];
    char productId[12];
    uint32_t oemTable;
    uint16_t oemTableSize;
    uint16_t entryCount;
    uint32_t localApicAddress;
    uint16_t extendedTableLength;
    uint8_t extendedTableChecksum;
    uint8_t reserved;
};
static_assert(sizeof(ConfigHeader) == 44);

// 4.3.1, table 4-4.
struct __attribute__((packed)) ProcessorEntry {
    uint8_t type;
    uint8_t localApicId;
    uint8_t localApicVersion;
    uint8_t cpuFlags;
    uint32_t cpuSignature;
    uint32_t featureFlags;
    uint32_t reserved[2];
};
static_assert(sizeof(ProcessorEntry) == 20);

// 4.3.2, table 4-5.
struct __attribute__((packed)) BusEntry {
    uint8_t type;
    uint8_t busId;
    char busType[6];
};
static_assert(sizeof(BusEntry) == 8);

// 4.3.3, table 4-7.
struct __attribute__((packed)) IoApicEntry {
    uint8_t type;
    uint8_t ioApicId;
    uint8_t ioApicVersion;
    uint8_t flags;
    uint32_t address;
};
static_assert(sizeof(IoApicEntry) == 8);

// 4.3.4, table 4-9 (I/O interrupt assignment) and 4.3.5, table 4-11 (local interrupt
// assignment) share this shape.
struct __attribute__((packed)) InterruptEntry {
    uint8_t type;
    uint8_t interruptType;
    uint16_t flags; // 0: polarity and trigger conform to the bus (ISA: edge, active high)
    uint8_t sourceBusId;
    uint8_t sourceBusIrq;
    uint8_t destinationId;    // I/O APIC id, or local APIC id (0xff = all)
    uint8_t destinationInput; // I/O APIC pin, or LINTn
};
static_assert(sizeof(InterruptEntry) == 8);

constexpr uint8_t kEntryProcessor = 0;
constexpr uint8_t kEntryBus = 1;
constexpr uint8_t kEntryIoApic = 2;
constexpr uint8_t kEntryIoInterrupt = 3;
constexpr uint8_t kEntryLocalInterrupt = 4;
constexpr uint8_t kInterruptInt = 0; // vectored by the APIC redirection entry
constexpr uint8_t kInterruptNmi = 1;
constexpr uint8_t kInterruptExtInt = 3; // vectored by the 8259A
constexpr uint8_t kSpecRevision14 = 4;
constexpr uint8_t kCpuEnabled = 0x01;
constexpr uint8_t kCpuBootstrap = 0x02;
constexpr uint8_t kIoApicEnabled = 0x01;
constexpr uint8_t kAllLocalApics = 0xff;

constexpr auto kLocalApicAddress = static_cast<uint32_t>(pc::kLocalApicAddress);
constexpr auto kIoApicAddress = static_cast<uint32_t>(pc::kIoApicAddress);
constexpr uint8_t kLocalApicVersion = 0x14; // an integrated xAPIC, as KVM's reports
constexpr uint8_t kIoApicVersion = 0x11;    // the 82093AA, as KVM's in-kernel IOAPIC reports
// Family 6, model 15, stepping 1: any P6-class signature will do; guests only print it.
constexpr uint32_t kCpuSignature = (6u << 8) | (15u << 4) | 1u;
// CPUID.1:EDX bits the table claims: FPU (0) and APIC (9) (table 4-6).
constexpr uint32_t kCpuFeatures = (1u << 0) | (1u << 9);
constexpr uint8_t kIsaBusId = 0;
using pc::kIsaIrqs;
// Every ISA IRQ on the I/O APIC pin of its number, IRQ 0 included (machine/PcPlatform.h).
constexpr uint8_t ioApicPinForIsaIrq(unsigned irq) {
    return static_cast<uint8_t>(irq);
}

template <typename Entry> void append(std::vector<uint8_t>& table, const Entry& entry) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(&entry);
    table.insert(table.end(), bytes, bytes + sizeof entry);
}

} // namespace

void writeMpTable(GuestMemory& memory, unsigned cpus) {
    if (cpus == 0 || cpus > kMaxMpTableCpus)
        throw InputError(fmt::format("{} cpus cannot be described by the MP table: 1 to {} (local "
                                     "APIC ids are 8-bit and the I/O APIC takes the next id)",
                                     cpus, kMaxMpTableCpus));
    const auto ioApicId = static_cast<uint8_t>(cpus);

    std::vector<uint8_t> table(sizeof(ConfigHeader));
    uint16_t entries = 0;
    for (unsigned cpu = 0; cpu < cpus; ++cpu) {
        ProcessorEntry processor{};
        processor.type = kEntryProcessor;
        processor.localApicId = static_cast<uint8_t>(cpu);
        processor.localApicVersion = kLocalApicVersion;
        processor.cpuFlags = kCpuEnabled | (cpu == 0 ? kCpuBootstrap : 0);
        processor.cpuSignature = kCpuSignature;
        processor.featureFlags = kCpuFeatures;
        append(table, processor);
        ++entries;
    }
    append(table, BusEntry{kEntryBus, kIsaBusId, {'I', 'S', 'A', ' ', ' ', ' '}});
    ++entries;
    append(table,
           IoApicEntry{kEntryIoApic, ioApicId, kIoApicVersion, kIoApicEnabled, kIoApicAddress});
    ++entries;
    for (unsigned irq = 0; irq < kIsaIrqs; ++irq) {
        append(table, InterruptEntry{kEntryIoInterrupt, kInterruptInt, 0, kIsaBusId,
                                     static_cast<uint8_t>(irq), ioApicId, ioApicPinForIsaIrq(irq)});
        ++entries;
    }
    // 5.1 / 3.6.2.2 "virtual wire": the 8259A reaches the BSP through LINT0, NMI through LINT1.
    append(table, InterruptEntry{kEntryLocalInterrupt, kInterruptExtInt, 0, kIsaBusId, 0,
                                 kAllLocalApics, 0});
    append(table,
           InterruptEntry{kEntryLocalInterrupt, kInterruptNmi, 0, kIsaBusId, 0, kAllLocalApics, 1});
    entries += 2;

    ConfigHeader header{};
    std::memcpy(header.signature, "PCMP", 4);
    header.baseTableLength = static_cast<uint16_t>(table.size()); // kMpConfigTableMaxSize at most
    header.specRevision = kSpecRevision14;
    std::memcpy(header.oemId, "KVMSCOPE", 8);
    std::memcpy(header.productId, "KVMSCOPE VM ", 12);
    header.entryCount = entries;
    header.localApicAddress = kLocalApicAddress;
    std::memcpy(table.data(), &header, sizeof header);
    table[offsetof(ConfigHeader, checksum)] = zeroSumChecksum(table);
    // The most it can be, 255 processors: what the loaders keep images away from.
    static_assert(sizeof(ConfigHeader) + kMaxMpTableCpus * sizeof(ProcessorEntry) +
                      sizeof(BusEntry) + sizeof(IoApicEntry) +
                      (kIsaIrqs + 2) * sizeof(InterruptEntry) ==
                  layout::kMpConfigTableMaxSize);
    memory.write(layout::kMpConfigTableAddress, table.data(), table.size());

    FloatingPointer pointer{};
    std::memcpy(pointer.signature, "_MP_", 4);
    pointer.configTable = static_cast<uint32_t>(layout::kMpConfigTableAddress);
    pointer.length = 1;
    pointer.specRevision = kSpecRevision14;
    pointer.checksum =
        zeroSumChecksum({reinterpret_cast<const uint8_t*>(&pointer), sizeof pointer});
    static_assert(sizeof pointer ==
                  layout::kMpFloatingPointerEnd - layout::kMpFloatingPointerAddress);
    memory.writeValue(layout::kMpFloatingPointerAddress, pointer);

    // What a BIOS leaves in its data area: the EBDA's segment and the base memory below it
    // (MP spec 1.4, 4: the EBDA is found through the word at 0x40E).
    memory.writeValue<uint16_t>(layout::kBdaEbdaSegment,
                                static_cast<uint16_t>(layout::kEbdaAddress >> 4));
    memory.writeValue<uint16_t>(layout::kBdaBaseMemoryKib,
                                static_cast<uint16_t>(layout::kEbdaAddress / 1024));
}

} // namespace kvmscope::boot
