#include "boot/MultibootLoader.h"

#include "BootTestImages.h"
#include "boot/GuestLayout.h"

#include <QTest>
#include <algorithm>
#include <fmt/format.h>

using namespace kvmscope;
using namespace kvmscope::boot;
using boottest::contains;
using boottest::Segment;

namespace {

constexpr uint64_t kRam = 64ull << 20;
constexpr uint32_t kKernel = 0x100000;
constexpr uint32_t kPageAlignAndMemory = 0x3; // flags bits 0 and 1, as the bundled guests use

// Multiboot 0.6.96, 3.3: offsets into the information structure.
constexpr uint64_t kInfoFlags = 0, kInfoMemLower = 4, kInfoMemUpper = 8, kInfoCmdline = 16,
                   kInfoModsCount = 20, kInfoModsAddr = 24, kInfoMmapLength = 44,
                   kInfoMmapAddr = 48, kInfoBootLoaderName = 64;

BootOptions optionsFor(std::string commandLine = {}, std::string initrdPath = {}) {
    BootOptions options;
    options.imagePath = "/images/kernel.mb";
    options.format = ImageFormat::Multiboot;
    options.commandLine = std::move(commandLine);
    options.initrdPath = std::move(initrdPath);
    return options;
}

// An ELF32 kernel whose text segment starts with a multiboot header, like the bundled guests
// (resources/guests/common/multiboot.ld), and a data segment with a bss.
std::vector<uint8_t> elfKernel(uint32_t flags = kPageAlignAndMemory) {
    auto text = boottest::pattern(0x400, 1);
    text.resize(0x400);
    boottest::putMultibootHeader(text, 0, flags);
    auto file = boottest::elf32(kKernel + 0x10, {Segment{kKernel, kKernel, text},
                                                 Segment{kKernel + 0x1000, kKernel + 0x1000,
                                                         boottest::pattern(0x20, 2), 0x3000}});
    return file.bytes;
}

// A non-ELF image loaded by the header's address fields: the header at file offset 0x40,
// the whole file at load_addr.
std::vector<uint8_t> aoutKernel(boottest::MultibootAddressFields fields, size_t fileSize = 0x300) {
    auto bytes = boottest::pattern(fileSize, 4);
    boottest::putMultibootHeader(bytes, 0x40, kPageAlignAndMemory | (1u << 16), &fields);
    return bytes;
}

boottest::MultibootAddressFields aoutFields() {
    return {kKernel + 0x40, kKernel, kKernel + 0x300, kKernel + 0x2000, kKernel + 0x80};
}

std::string loadError(const std::vector<uint8_t>& image, const BootOptions& options = optionsFor(),
                      std::span<const uint8_t> initrd = {}, uint64_t ram = kRam) {
    GuestMemory memory(ram);
    return boottest::errorOf<LoadError>([&] { loadMultiboot(image, options, initrd, memory); });
}

std::string guestString(const GuestMemory& memory, uint64_t address) {
    std::string text;
    for (char c; (c = memory.readValue<char>(address)) != 0; ++address)
        text += c;
    return text;
}

struct MapEntry {
    uint32_t size;
    uint64_t base, length;
    uint32_t type;
};

std::vector<MapEntry> memoryMap(const GuestMemory& memory) {
    const uint64_t info = layout::kMultibootInfoStart;
    const uint64_t start = memory.readValue<uint32_t>(info + kInfoMmapAddr);
    const uint64_t end = start + memory.readValue<uint32_t>(info + kInfoMmapLength);
    std::vector<MapEntry> entries;
    // 3.3: each entry's size excludes the size field itself.
    for (uint64_t address = start; address < end;) {
        MapEntry entry{memory.readValue<uint32_t>(address), memory.readValue<uint64_t>(address + 4),
                       memory.readValue<uint64_t>(address + 12),
                       memory.readValue<uint32_t>(address + 20)};
        entries.push_back(entry);
        address += entry.size + 4;
    }
    return entries;
}

} // namespace

class MultibootLoaderTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void elfKernelIsLoadedAndEnteredPerSection32() {
        GuestMemory memory(kRam);
        memory.fill(kKernel, 0xaa, 0x5000);
        const auto image = elfKernel();
        const BootPlan plan = loadMultiboot(image, optionsFor(), {}, memory);
        QCOMPARE(plan.format, ImageFormat::Multiboot);
        QCOMPARE(plan.mode, CpuMode::Protected32);
        QCOMPARE(plan.entry, uint64_t(kKernel + 0x10));
        QCOMPARE(plan.rax, uint64_t(0x2BADB002));
        QCOMPARE(plan.rbx, layout::kMultibootInfoStart);
        QCOMPARE(plan.imageStart, uint64_t(kKernel));
        QCOMPARE(plan.imageEnd, uint64_t(kKernel + 0x4000));
        QCOMPARE(memory.readValue<uint32_t>(kKernel), boottest::kMultibootMagic);
        QCOMPARE(memory.readValue<uint8_t>(kKernel + 0x1000), boottest::pattern(1, 2)[0]);
        for (uint64_t address = kKernel + 0x1020; address < kKernel + 0x4000; address += 0x1f)
            QCOMPARE(memory.readValue<uint8_t>(address), uint8_t(0));
    }

    void informationStructureDescribesTheMachine() {
        GuestMemory memory(kRam);
        loadMultiboot(elfKernel(), optionsFor("console=ttyS0 quiet"), {}, memory);
        const uint64_t info = layout::kMultibootInfoStart;
        const uint32_t flags = memory.readValue<uint32_t>(info + kInfoFlags);
        QCOMPARE(flags, uint32_t(0x1 | 0x4 | 0x8 | 0x40 | 0x200));
        QCOMPARE(memory.readValue<uint32_t>(info + kInfoMemLower), uint32_t(639));
        QCOMPARE(memory.readValue<uint32_t>(info + kInfoMemUpper), uint32_t((64 << 10) - 1024));
        QCOMPARE(guestString(memory, memory.readValue<uint32_t>(info + kInfoCmdline)),
                 std::string("console=ttyS0 quiet"));
        QCOMPARE(guestString(memory, memory.readValue<uint32_t>(info + kInfoBootLoaderName)),
                 std::string("kvmscope"));
        QCOMPARE(memory.readValue<uint32_t>(info + kInfoModsCount), uint32_t(0));

        const auto map = memoryMap(memory);
        QCOMPARE(map.size(), size_t(4));
        const MapEntry expected[] = {{20, 0, 0x9fc00, 1},
                                     {20, 0x9fc00, 0x400, 2},
                                     {20, 0xf0000, 0x10000, 2},
                                     {20, 0x100000, kRam - 0x100000, 1}};
        for (size_t i = 0; i < map.size(); ++i) {
            QCOMPARE(map[i].size, expected[i].size);
            QCOMPARE(map[i].base, expected[i].base);
            QCOMPARE(map[i].length, expected[i].length);
            QCOMPARE(map[i].type, expected[i].type);
        }
        // Everything the structure points at lies in the information area.
        const uint64_t mmapAddress = memory.readValue<uint32_t>(info + kInfoMmapAddr);
        QVERIFY(mmapAddress >= info + 88 && mmapAddress < layout::kMultibootInfoEnd);
    }

    void emptyCommandLineIsAnEmptyString() {
        GuestMemory memory(kRam);
        loadMultiboot(elfKernel(), optionsFor(), {}, memory);
        const uint64_t cmdline =
            memory.readValue<uint32_t>(layout::kMultibootInfoStart + kInfoCmdline);
        QVERIFY(cmdline >= layout::kMultibootInfoStart);
        QCOMPARE(guestString(memory, cmdline), std::string());
    }

    void ramAboveTheHoleIsInTheMap() {
        GuestMemory memory(5ull << 30);
        loadMultiboot(elfKernel(), optionsFor(), {}, memory);
        QCOMPARE(memory.readValue<uint32_t>(layout::kMultibootInfoStart + kInfoMemUpper),
                 uint32_t((3u << 20) - 1024)); // KiB from 1 MiB to 3 GiB
        const auto map = memoryMap(memory);
        QCOMPARE(map.size(), size_t(5));
        QCOMPARE(map[3].base, uint64_t(0x100000));
        QCOMPARE(map[3].length, uint64_t(0xc0000000 - 0x100000));
        QCOMPARE(map[4].base, uint64_t(1) << 32);
        QCOMPARE(map[4].length, uint64_t(2) << 30);
        QCOMPARE(map[4].type, uint32_t(1));
    }

    void initrdBecomesPageAlignedModuleZero() {
        GuestMemory memory(kRam);
        const auto initrd = boottest::pattern(0x1234, 7);
        const BootPlan plan =
            loadMultiboot(elfKernel(), optionsFor("", "/boot/images/initrd.img"), initrd, memory);
        const uint64_t info = layout::kMultibootInfoStart;
        QCOMPARE(memory.readValue<uint32_t>(info + kInfoModsCount), uint32_t(1));
        const uint64_t module = memory.readValue<uint32_t>(info + kInfoModsAddr);
        const uint32_t start = memory.readValue<uint32_t>(module);
        const uint32_t end = memory.readValue<uint32_t>(module + 4);
        QCOMPARE(start, uint32_t(kKernel + 0x4000)); // the first page after the bss
        QCOMPARE(start % 4096, uint32_t(0));
        QCOMPARE(end, uint32_t(start + 0x1234));
        QCOMPARE(guestString(memory, memory.readValue<uint32_t>(module + 8)),
                 std::string("initrd.img"));
        const auto bytes = memory.span(start, initrd.size());
        QVERIFY(std::equal(bytes.begin(), bytes.end(), initrd.begin()));
        QCOMPARE(plan.imageEnd, uint64_t(kKernel + 0x4000)); // the kernel, not the module
    }

    void moduleAfterAnUnalignedKernelEndIsRoundedUp() {
        GuestMemory memory(kRam);
        auto text = boottest::pattern(0x321, 1);
        boottest::putMultibootHeader(text, 0, kPageAlignAndMemory);
        const auto image = boottest::elf32(kKernel + 0x20, {Segment{kKernel, kKernel, text}});
        loadMultiboot(image.bytes, optionsFor("", "m"), std::vector<uint8_t>{1, 2, 3}, memory);
        const uint64_t module =
            memory.readValue<uint32_t>(layout::kMultibootInfoStart + kInfoModsAddr);
        QCOMPARE(memory.readValue<uint32_t>(module), uint32_t(kKernel + 0x1000));
    }

    void addressFieldsLoadANonElfImage() {
        GuestMemory memory(kRam);
        memory.fill(kKernel, 0xaa, 0x3000);
        const auto image = aoutKernel(aoutFields());
        const BootPlan plan = loadMultiboot(image, optionsFor(), {}, memory);
        QCOMPARE(plan.entry, uint64_t(kKernel + 0x80));
        QCOMPARE(plan.imageStart, uint64_t(kKernel));
        QCOMPARE(plan.imageEnd, uint64_t(kKernel + 0x2000));
        const auto loaded = memory.span(kKernel, image.size());
        QVERIFY(std::equal(loaded.begin(), loaded.end(), image.begin()));
        for (uint64_t address = kKernel + 0x300; address < kKernel + 0x2000; address += 0x11)
            QCOMPARE(memory.readValue<uint8_t>(address), uint8_t(0));
        QCOMPARE(memory.readValue<uint8_t>(kKernel + 0x2000), uint8_t(0xaa));
    }

    void addressFieldsLoadFromAnOffsetAndToTheEndOfFile() {
        GuestMemory memory(kRam);
        // header_addr - load_addr = 0x20: loading starts 0x20 bytes before the header, at file
        // offset 0x20; load_end_addr 0 loads the rest of the file; bss_end_addr 0: no bss.
        auto fields = boottest::MultibootAddressFields{kKernel + 0x20, kKernel, 0, 0, kKernel};
        const auto image = aoutKernel(fields, 0x200);
        const BootPlan plan = loadMultiboot(image, optionsFor(), {}, memory);
        QCOMPARE(plan.imageEnd, uint64_t(kKernel + 0x200 - 0x20));
        QCOMPARE(memory.readValue<uint8_t>(kKernel), image[0x20]);
        QCOMPARE(memory.readValue<uint32_t>(kKernel + 0x20), boottest::kMultibootMagic);
    }

    void videoModeRequestIsNotedNotRefused() {
        GuestMemory memory(kRam);
        const BootPlan plan = loadMultiboot(elfKernel(0x7), optionsFor(), {}, memory);
        bool noted = false;
        for (const auto& note : plan.notes)
            noted = noted || contains(note, "video mode");
        QVERIFY(noted);
    }

    void unknownRequiredFlagIsRefused() {
        const std::string message = loadError(elfKernel(0x3 | 0x8));
        QVERIFY2(contains(message, "flags 0x0000000b") && contains(message, "bit(s) 0x8"),
                 message.c_str());
        // Optional bits 17-31 are not requirements.
        GuestMemory memory(kRam);
        loadMultiboot(elfKernel(0x3 | 0x80000000u), optionsFor(), {}, memory);
    }

    void badChecksumIsRefused() {
        auto image = elfKernel();
        // The header is the first thing of the text segment; find it and break its checksum.
        const uint8_t magic[] = {0x02, 0xb0, 0xad, 0x1b};
        const auto at = std::search(image.begin(), image.end(), std::begin(magic), std::end(magic));
        QVERIFY(at != image.end());
        const auto offset = static_cast<uint64_t>(at - image.begin());
        boottest::put<uint32_t>(image, offset + 8, 0x12345678);
        const std::string message = loadError(image);
        QVERIFY2(contains(message, fmt::format("offset {:#x}", offset)) &&
                     contains(message, "checksum 0x12345678"),
                 message.c_str());
    }

    void missingHeaderIsRefused() {
        const auto image = boottest::elf32(kKernel, {Segment{kKernel, kKernel, {1, 2, 3}}});
        const std::string message = loadError(image.bytes);
        QVERIFY2(contains(message, "/images/kernel.mb") && contains(message, "no multiboot header"),
                 message.c_str());
    }

    void headerBeyondFirst8KiBIsNotFound() {
        std::vector<uint8_t> image(0x3000, 0);
        boottest::putMultibootHeader(image, 0x2000, kPageAlignAndMemory);
        QVERIFY(contains(loadError(image), "no multiboot header"));
    }

    void elf64WithoutAddressFieldsIsRefused() {
        auto text = boottest::pattern(0x100, 1);
        boottest::putMultibootHeader(text, 0, kPageAlignAndMemory);
        const auto image = boottest::elf64(kKernel, {Segment{kKernel, kKernel, text}});
        const std::string message = loadError(image.bytes);
        QVERIFY2(contains(message, "ELF64") && contains(message, "bit 16"), message.c_str());
    }

    void nonElfWithoutAddressFieldsIsRefused() {
        std::vector<uint8_t> image(0x100, 0x90);
        boottest::putMultibootHeader(image, 0, kPageAlignAndMemory);
        const std::string message = loadError(image);
        QVERIFY2(contains(message, "not ELF") && contains(message, "bit 16"), message.c_str());
    }

    void truncatedAddressFieldsAreRefused() {
        std::vector<uint8_t> image(0x10, 0);
        boottest::putMultibootHeader(image, 0, kPageAlignAndMemory | (1u << 16));
        const std::string message = loadError(image);
        QVERIFY2(contains(message, "bit 16") && contains(message, "entry_addr"), message.c_str());
    }

    void inconsistentAddressFieldsAreRefused() {
        auto fields = aoutFields();
        fields.loadAddr = kKernel + 0x100; // above header_addr
        QVERIFY(contains(loadError(aoutKernel(fields)), "load_addr 0x100100 is above header_addr "
                                                        "0x100040"));
        fields = aoutFields();
        fields.loadAddr = kKernel - 0x100; // would start 0x140 bytes before a header at 0x40
        QVERIFY(contains(loadError(aoutKernel(fields)), "exceeds the header's file offset 0x40"));
        fields = aoutFields();
        fields.loadEndAddr = kKernel;
        QVERIFY(contains(loadError(aoutKernel(fields)), "load_end_addr 0x100000 is not above"));
        fields = aoutFields();
        fields.loadEndAddr = kKernel + 0x400; // the file has only 0x300 bytes
        QVERIFY(contains(loadError(aoutKernel(fields)), "load_end_addr 0x100400 asks for 0x400 "
                                                        "bytes"));
        fields = aoutFields();
        fields.bssEndAddr = kKernel + 0x200;
        QVERIFY(contains(loadError(aoutKernel(fields)), "bss_end_addr 0x100200 is below"));
        fields = aoutFields();
        fields.entryAddr = kKernel + 0x300;
        QVERIFY(contains(loadError(aoutKernel(fields)), "entry_addr 0x100300 is outside"));
    }

    void addressFieldsBeyondRamAreRefused() {
        auto fields = boottest::MultibootAddressFields{0xfffff040, 0xfffff000, 0, 0, 0xfffff000};
        const std::string message = loadError(aoutKernel(fields));
        QVERIFY2(contains(message, "load_addr 0xfffff000") &&
                     contains(message, "outside guest RAM"),
                 message.c_str());
    }

    void kernelOverTheInformationAreaIsRefused() {
        auto fields = boottest::MultibootAddressFields{0xa040, 0xa000, 0, 0, 0xa000};
        const std::string message = loadError(aoutKernel(fields));
        QVERIFY2(contains(message, "multiboot information area"), message.c_str());
    }

    void moduleBeyondRamIsRefused() {
        const auto initrd = std::vector<uint8_t>(2 << 20, 1);
        const std::string message =
            loadError(elfKernel(), optionsFor("", "/boot/big.img"), initrd, 2 << 20);
        QVERIFY2(contains(message, "/boot/big.img") && contains(message, "module 0") &&
                     contains(message, "outside guest RAM"),
                 message.c_str());
    }

    void commandLineTooLongForTheAreaIsRefused() {
        const std::string message = loadError(elfKernel(), optionsFor(std::string(0x8000, 'x')));
        QVERIFY2(contains(message, "command line") && contains(message, "does not fit"),
                 message.c_str());
    }
};

QTEST_APPLESS_MAIN(MultibootLoaderTest)
#include "MultibootLoaderTest.moc"
