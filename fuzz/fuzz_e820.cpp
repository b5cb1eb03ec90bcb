// boot::buildE820Map (boot/linux/E820.h) for every RAM size GuestMemory accepts, from 1 MiB to
// 1 TiB, below, around and above the 32-bit MMIO hole. Checks what Linux relies on when it reads
// boot_params.e820_table (arch/x86/kernel/e820.c sanitizes, but kvmscope's map should need no
// sanitizing): entries sorted, non-empty and non-overlapping, within the zero page's 128, RAM
// only where GuestMemory has RAM, nothing in the hole but the reserved PCI ECAM window, and every
// byte of RAM listed once.
//
// Input: a scale byte and a 32-bit page count; RAM = count << (12 + scale % 9), rounded to 4 KiB.
#include "FuzzSupport.h"
#include "boot/GuestLayout.h"
#include "boot/linux/E820.h"
#include "machine/GuestMemory.h"
#include "machine/PcPlatform.h"

#include <asm/e820.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kvmscope;
    using fuzz::check;
    fuzz::InputReader input(data, size);
    const unsigned scale = input.read<uint8_t>() % 9;
    const uint64_t ramSize = uint64_t{input.read<uint32_t>()} << (12 + scale);
    if (ramSize < GuestMemory::kMinRamSize || ramSize > GuestMemory::kMaxRamSize)
        return 0;

    const GuestMemory memory(ramSize);
    boot::E820Map map;
    try {
        map = boot::buildE820Map(memory);
    } catch (const std::exception& error) {
        fuzz::failOnException("buildE820Map", error);
    }

    check(map.entries.size() <= E820_MAX_ENTRIES_ZEROPAGE, "more e820 entries than fit");
    check(map.droppedEntries == 0, "entries were dropped from a map of a handful of regions");
    uint64_t previousEnd = 0;
    uint64_t ramListed = 0;
    uint64_t reservedInRam = 0;
    for (const boot_e820_entry& entry : map.entries) {
        check(entry.size > 0, "an empty e820 entry");
        check(entry.addr + entry.size > entry.addr, "an e820 entry wraps around");
        check(entry.addr >= previousEnd, "e820 entries unsorted or overlapping");
        previousEnd = entry.addr + entry.size;
        // The one entry in the hole is the PCI ECAM window, reserved so that Linux trusts the
        // MCFG (boot/linux/E820.cpp).
        const bool ecam = entry.addr == pc::kPciEcamAddress && entry.size == pc::kPciEcamSize;
        check(ecam || previousEnd <= GuestMemory::kMmioHoleStart ||
                  entry.addr >= GuestMemory::kMmioHoleEnd,
              "an e820 entry reaches into the 32-bit MMIO hole");
        if (ecam) {
            check(entry.type == E820_RESERVED, "the ECAM window is not reserved");
        } else if (entry.type == E820_RAM) {
            check(memory.contains(entry.addr, entry.size),
                  "an e820 RAM entry is not inside one GuestMemory region");
            ramListed += entry.size;
        } else {
            check(entry.type == E820_RESERVED, "an e820 entry of an unexpected type");
            check(entry.addr >= boot::layout::kEbdaAddress &&
                      previousEnd <= boot::layout::kHighMemoryStart,
                  "a reserved e820 entry outside the legacy area below 1 MiB");
            reservedInRam += entry.size;
        }
    }
    check(ramListed + reservedInRam == ramSize,
          "the e820 map does not account for every byte of guest RAM exactly once");
    check(ramListed > 0, "the e820 map lists no RAM");
    return 0;
}
