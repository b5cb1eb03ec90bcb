// The memory maps every boot path hands its kernel (the Linux e820 map, the PVH memmap and the
// multiboot map), for machines from 64 MiB to 64 GiB: RAM that would fall into the 32-bit MMIO
// hole [3 GiB, 4 GiB) is above 4 GiB, and of the hole only the PCI ECAM window is in a map.
#include "boot/GuestLayout.h"
#include "boot/Multiboot.h"
#include "boot/MultibootLoader.h"
#include "boot/linux/E820.h"
#include "boot/linux/PvhLoader.h"
#include "machine/PcPlatform.h"
#include "unit/boot/BootTestImages.h"

#include <QTest>
#include <asm/e820.h>
#include <fmt/format.h>

using namespace kvmscope;
using namespace kvmscope::boot;
using boottest::Segment;

namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

struct Range {
    uint64_t start, size;
    uint32_t type;
    bool operator==(const Range&) const = default;
};

std::string describe(const std::vector<Range>& ranges) {
    std::string text;
    for (const Range& range : ranges)
        text += fmt::format("[{:#x} +{:#x} type {}] ", range.start, range.size, range.type);
    return text;
}

// What every map must say for `ram` bytes: RAM below the EBDA, RAM from 1 MiB to the hole or
// the end of RAM, and the rest of RAM from 4 GiB.
std::vector<Range> expectedRam(uint64_t ram) {
    const uint64_t low = std::min(ram, GuestMemory::kMmioHoleStart);
    std::vector<Range> ranges{{0, 0x9fc00, 1}, {0x100000, low - 0x100000, 1}};
    if (ram > low)
        ranges.push_back({GuestMemory::kMmioHoleEnd, ram - low, 1});
    return ranges;
}

std::vector<Range> ramOnly(const std::vector<Range>& ranges) {
    std::vector<Range> ram;
    for (const Range& range : ranges)
        if (range.type == 1)
            ram.push_back(range);
    return ram;
}

// No map may describe any byte of the hole but the PCI ECAM window (reserved, so that Linux uses
// the MCFG), nor claim the legacy area as RAM.
bool avoidsTheHoleAndTheLegacyArea(const std::vector<Range>& ranges) {
    for (const Range& range : ranges) {
        const uint64_t end = range.start + range.size;
        const bool ecam =
            range.type == 2 && range.start == pc::kPciEcamAddress && range.size == pc::kPciEcamSize;
        if (range.start < GuestMemory::kMmioHoleEnd && end > GuestMemory::kMmioHoleStart && !ecam)
            return false;
        if (range.type == 1 && range.start < layout::kHighMemoryStart && end > 0x9fc00)
            return false;
    }
    return true;
}

std::vector<Range> e820Of(const GuestMemory& memory) {
    std::vector<Range> ranges;
    for (const boot_e820_entry& entry : buildE820Map(memory).entries)
        ranges.push_back({entry.addr, entry.size, entry.type});
    return ranges;
}

// The memmap a PVH kernel reads, from guest memory, after loading a minimal PVH kernel.
std::vector<Range> pvhMapOf(GuestMemory& memory) {
    std::vector<uint8_t> note;
    boottest::put<uint32_t>(note, 0, 4);
    boottest::put<uint32_t>(note, 4, 4);
    boottest::put<uint32_t>(note, 8, 18); // XEN_ELFNOTE_PHYS32_ENTRY
    boottest::put<uint32_t>(note, 12, 0x006e6558);
    boottest::put<uint32_t>(note, 16, 0x1000000);
    const auto elf =
        boottest::elf64(0x1000000, {Segment{0x1000000, 0x1000000, boottest::pattern(0x100, 1)},
                                    Segment{0, 0, note, 0, PT_NOTE}});
    BootOptions options;
    options.imagePath = "/images/vmlinux";
    const BootPlan plan = loadPvh(elf.bytes, options, {}, memory);
    const auto info = memory.readValue<pvh::hvm_start_info>(plan.rbx);
    std::vector<Range> ranges;
    for (uint32_t i = 0; i < info.memmap_entries; ++i) {
        const auto entry = memory.readValue<pvh::hvm_memmap_table_entry>(
            info.memmap_paddr + i * sizeof(pvh::hvm_memmap_table_entry));
        ranges.push_back({entry.addr, entry.size, entry.type});
    }
    return ranges;
}

// The map a multiboot kernel reads, from guest memory, after loading a minimal multiboot kernel.
std::vector<Range> multibootMapOf(GuestMemory& memory) {
    auto text = boottest::pattern(0x100, 1);
    boottest::putMultibootHeader(text, 0, 0x3);
    const auto elf = boottest::elf32(0x100000, {Segment{0x100000, 0x100000, text}});
    BootOptions options;
    options.imagePath = "/images/kernel.mb";
    const BootPlan plan = loadMultiboot(elf.bytes, options, {}, memory);
    const auto info = memory.readValue<multiboot::Info>(plan.rbx);
    std::vector<Range> ranges;
    for (uint64_t at = info.mmap_addr; at < uint64_t{info.mmap_addr} + info.mmap_length;) {
        const auto entry = memory.readValue<multiboot::MemoryMapEntry>(at);
        ranges.push_back({entry.base_addr, entry.length, entry.type});
        at += entry.size + sizeof entry.size;
    }
    return ranges;
}

} // namespace

class LargeMemoryMapTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void mapsPutRamAroundTheHole_data() {
        QTest::addColumn<quint64>("ram");
        QTest::newRow("64 MiB") << quint64(64 * kMiB);
        QTest::newRow("3 GiB") << quint64(3 * kGiB);
        QTest::newRow("3.5 GiB") << quint64(3 * kGiB + 512 * kMiB);
        QTest::newRow("8 GiB") << quint64(8 * kGiB);
        QTest::newRow("64 GiB") << quint64(64 * kGiB);
    }
    void mapsPutRamAroundTheHole() {
        QFETCH(quint64, ram);
        GuestMemory memory(ram); // MAP_NORESERVE: only the pages written here are backed
        const auto expected = expectedRam(ram);

        const auto e820 = e820Of(memory);
        QVERIFY2(ramOnly(e820) == expected, describe(e820).c_str());
        QVERIFY2(avoidsTheHoleAndTheLegacyArea(e820), describe(e820).c_str());
        QVERIFY(std::find(e820.begin(), e820.end(),
                          Range{0x9fc00, 0x100000 - 0x9fc00, E820_RESERVED}) != e820.end());

        const auto pvhMap = pvhMapOf(memory);
        QVERIFY2(pvhMap == e820, describe(pvhMap).c_str());

        const auto multibootMap = multibootMapOf(memory);
        QVERIFY2(ramOnly(multibootMap) == expected, describe(multibootMap).c_str());
        QVERIFY2(avoidsTheHoleAndTheLegacyArea(multibootMap), describe(multibootMap).c_str());

        // All of RAM is in each map, less the legacy area's 0x60400 bytes.
        uint64_t total = 0;
        for (const Range& range : ramOnly(e820))
            total += range.size;
        QCOMPARE(total, ram - (0x100000 - 0x9fc00));
    }
};

QTEST_APPLESS_MAIN(LargeMemoryMapTest)
#include "LargeMemoryMapTest.moc"
