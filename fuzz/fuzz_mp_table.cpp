// boot::writeMpTable (boot/MpTable.h) for every cpu count, then a walk of the tables the way an
// OS finds them (MultiProcessor Specification 1.4): the BIOS data area's EBDA pointer, the
// floating pointer structure (4.1, table 4-1), the configuration table header (4.2, table 4-2)
// and its entries (4.3), checking signatures, checksums, lengths, placement and contents.
//
// Input: cpus (16 bits, so that 0 and counts above 255 come up), RAM size in MiB.
#include "FuzzSupport.h"
#include "boot/GuestLayout.h"
#include "boot/MpTable.h"
#include "machine/GuestMemory.h"

#include <vector>

namespace {

using namespace kvmscope;
using namespace kvmscope::boot;
using fuzz::check;

// Offsets and sizes from the specification's tables, kept apart from MpTable.cpp's structures
// so that a mistake there is not repeated here.
constexpr uint64_t kPointerSize = 16;   // table 4-1
constexpr uint64_t kHeaderSize = 44;    // table 4-2
constexpr uint64_t kProcessorSize = 20; // table 4-4; every other base entry is 8 bytes
constexpr uint64_t kOtherEntrySize = 8;
constexpr uint8_t kProcessor = 0, kBus = 1, kIoApic = 2, kIoInterrupt = 3, kLocalInterrupt = 4;
constexpr uint8_t kCpuEnabled = 0x01, kCpuBootstrap = 0x02;

uint8_t sum(const GuestMemory& memory, uint64_t address, uint64_t length) {
    uint8_t total = 0;
    for (const uint8_t byte : memory.span(address, length))
        total = static_cast<uint8_t>(total + byte);
    return total;
}

void checkTables(const GuestMemory& memory, unsigned cpus) {
    // The BIOS data area: EBDA segment and base memory (section 4: the first KiB of the EBDA is
    // the first place to search).
    const auto ebdaSegment = memory.readValue<uint16_t>(layout::kBdaEbdaSegment);
    check(uint64_t{ebdaSegment} * 16 == layout::kEbdaAddress, "the BDA's EBDA segment is wrong");
    check(memory.readValue<uint16_t>(layout::kBdaBaseMemoryKib) * 1024ull == layout::kEbdaAddress,
          "the BDA's base memory size does not end at the EBDA");

    const uint64_t pointer = layout::kMpFloatingPointerAddress;
    check(pointer % 16 == 0 && pointer >= layout::kEbdaAddress &&
              pointer + kPointerSize <= layout::kEbdaAddress + 1024,
          "the floating pointer is not 16-byte aligned in the EBDA's first KiB");
    check(std::memcmp(memory.span(pointer, 4).data(), "_MP_", 4) == 0,
          "the floating pointer signature is wrong");
    check(memory.readValue<uint8_t>(pointer + 8) == 1, "the floating pointer length is not 1");
    check(sum(memory, pointer, kPointerSize) == 0, "the floating pointer checksum is wrong");
    check(memory.readValue<uint8_t>(pointer + 11) == 0,
          "feature byte 1 names a default configuration instead of the table");

    const uint64_t table = memory.readValue<uint32_t>(pointer + 4);
    check(table >= layout::kBiosAreaStart && table + kHeaderSize <= layout::kBiosAreaEnd,
          "the configuration table is not in the BIOS area");
    check(std::memcmp(memory.span(table, 4).data(), "PCMP", 4) == 0,
          "the configuration table signature is wrong");
    const uint64_t baseLength = memory.readValue<uint16_t>(table + 4);
    const uint64_t entryCount = memory.readValue<uint16_t>(table + 34);
    const uint64_t extendedLength = memory.readValue<uint16_t>(table + 40);
    check(baseLength >= kHeaderSize && table + baseLength + extendedLength <= layout::kBiosAreaEnd,
          "the configuration table runs past the BIOS area");
    check(sum(memory, table, baseLength) == 0, "the configuration table checksum is wrong");
    if (extendedLength > 0)
        check(static_cast<uint8_t>(sum(memory, table + baseLength, extendedLength) +
                                   memory.readValue<uint8_t>(table + 42)) == 0,
              "the extended table checksum is wrong");

    // Base entries: exactly entryCount of them tile [header end, baseLength).
    uint64_t offset = kHeaderSize;
    std::vector<bool> seen(cpus, false);
    unsigned processors = 0, buses = 0;
    int ioApicId = -1;
    std::vector<uint8_t> interruptTargets;
    for (uint64_t i = 0; i < entryCount; ++i) {
        check(offset < baseLength, "the entries run past the base table length");
        const auto type = memory.readValue<uint8_t>(table + offset);
        check(type <= kLocalInterrupt, "an entry has an unknown type");
        const uint64_t length = type == kProcessor ? kProcessorSize : kOtherEntrySize;
        check(offset + length <= baseLength, "an entry runs past the base table length");
        if (type == kProcessor) {
            const auto apicId = memory.readValue<uint8_t>(table + offset + 1);
            const auto flags = memory.readValue<uint8_t>(table + offset + 3);
            check(apicId < cpus && !seen[apicId], "processor APIC ids are not 0 to cpus - 1");
            check(flags & kCpuEnabled, "a processor is not enabled");
            check(((flags & kCpuBootstrap) != 0) == (apicId == 0), "cpu 0 alone is the BSP");
            seen[apicId] = true;
            ++processors;
        } else if (type == kBus) {
            ++buses;
        } else if (type == kIoApic) {
            check(ioApicId < 0, "more than one I/O APIC");
            ioApicId = memory.readValue<uint8_t>(table + offset + 1);
        } else if (type == kIoInterrupt) {
            interruptTargets.push_back(memory.readValue<uint8_t>(table + offset + 6));
        }
        offset += length;
    }
    check(offset == baseLength, "the entries do not end at the base table length");
    check(processors == cpus, "the table does not list one processor per cpu");
    check(buses >= 1, "the table lists no bus");
    check(ioApicId == static_cast<int>(cpus), "the I/O APIC id is not the cpu count");
    for (const uint8_t target : interruptTargets)
        check(target == ioApicId, "an I/O interrupt entry targets an unknown I/O APIC");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::InputReader input(data, size);
    const unsigned cpus = input.read<uint16_t>();
    const uint64_t ramSize = (uint64_t{input.read<uint8_t>()} + 1) << 20;
    const bool valid = cpus >= 1 && cpus <= kMaxMpTableCpus;

    GuestMemory memory(ramSize);
    try {
        writeMpTable(memory, cpus);
    } catch (const InputError& error) {
        if (valid)
            fuzz::fail(std::string("writeMpTable refused a valid cpu count: ") + error.what());
        return 0;
    } catch (const std::exception& error) {
        fuzz::failOnException("writeMpTable", error);
    }
    check(valid, "writeMpTable accepted a cpu count it documents as invalid");
    checkTables(memory, cpus);
    return 0;
}
