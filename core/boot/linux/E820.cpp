#include "boot/linux/E820.h"

#include "boot/GuestLayout.h"
#include "machine/PcPlatform.h"

#include <algorithm>
#include <asm/e820.h>

namespace kvmscope::boot {

E820Map buildE820Map(const GuestMemory& memory) {
    std::vector<boot_e820_entry> entries;
    auto add = [&entries](uint64_t start, uint64_t end, uint32_t type) {
        if (end > start)
            entries.push_back(boot_e820_entry{start, end - start, type});
    };
    // The legacy area is reserved whether or not RAM backs it: a kernel must not put anything
    // there, and it must not treat the firmware tables in it as free memory.
    add(layout::kEbdaAddress, layout::kHighMemoryStart, E820_RESERVED);
    // The PCI ECAM window: Linux uses the MCFG's window only where the firmware reserved it
    // (arch/x86/pci/mmconfig-shared.c, pci_mmcfg_check_reserved: "reserved as E820 entry").
    add(pc::kPciEcamAddress, pc::kPciEcamAddress + pc::kPciEcamSize, E820_RESERVED);
    for (const MemoryRegion& region : memory.regions()) {
        const uint64_t start = region.guestAddress;
        const uint64_t end = region.end();
        add(start, std::min(end, layout::kEbdaAddress), E820_RAM);
        add(std::max(start, layout::kHighMemoryStart), end, E820_RAM);
    }
    std::sort(entries.begin(), entries.end(),
              [](const boot_e820_entry& a, const boot_e820_entry& b) { return a.addr < b.addr; });

    E820Map map;
    if (entries.size() > E820_MAX_ENTRIES_ZEROPAGE) {
        map.droppedEntries = entries.size() - E820_MAX_ENTRIES_ZEROPAGE;
        entries.resize(E820_MAX_ENTRIES_ZEROPAGE);
    }
    map.entries = std::move(entries);
    return map;
}

} // namespace kvmscope::boot
