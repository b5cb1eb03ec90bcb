// Multiboot 2 kernels loaded directly (Multiboot2 Specification 2.0): the kernel in guest memory,
// the boot information parsed back tag by tag, and the state the boot processor starts in.
#include "boot/Multiboot2Loader.h"

#include "BootTestImages.h"
#include "boot/GuestLayout.h"
#include "boot/ImageLoader.h"
#include "boot/X86Setup.h"
#include "boot/acpi/AcpiTables.h"
#include "boot/linux/E820.h"
#include "common/MappedFile.h"

#include <QTest>
#include <algorithm>
#include <asm/processor-flags.h>
#include <fmt/format.h>
#include <map>

using namespace kvmscope;
using namespace kvmscope::boot;
using boottest::contains;
using boottest::Multiboot2Tag;
using boottest::Segment;

namespace {

constexpr uint64_t kRam = 64ull << 20;
constexpr uint32_t kKernel = 0x100000;
constexpr uint64_t kInfo = layout::kMultibootInfoStart;

BootOptions optionsFor(std::string commandLine = {}, std::string initrdPath = {}) {
    BootOptions options;
    options.imagePath = "/images/kernel.mb2";
    options.format = ImageFormat::Multiboot2;
    options.commandLine = std::move(commandLine);
    options.initrdPath = std::move(initrdPath);
    return options;
}

// An ELF32 kernel whose text segment starts with a Multiboot 2 header of `tags`, like the
// multiboot2-info guest, and a data segment with a bss.
std::vector<uint8_t> elfKernel(const std::vector<Multiboot2Tag>& tags = {},
                               uint32_t architecture = 0) {
    auto text = boottest::multiboot2Header(tags, architecture);
    text.resize(0x400, 0x90);
    auto file = boottest::elf32(kKernel + 0x100, {Segment{kKernel, kKernel, text},
                                                  Segment{kKernel + 0x1000, kKernel + 0x1000,
                                                          boottest::pattern(0x20, 2), 0x3000}});
    return file.bytes;
}

std::string loadError(const std::vector<uint8_t>& image, const BootOptions& options = optionsFor(),
                      std::span<const uint8_t> initrd = {}) {
    GuestMemory memory(kRam);
    return boottest::errorOf<LoadError>([&] { loadMultiboot2(image, options, initrd, memory); });
}

struct InfoTag {
    uint64_t address = 0;
    uint32_t type = 0;
    uint32_t size = 0;
};

// Walks the information structure as a kernel does (3.6.1), checking the form on the way: every
// tag 8-byte aligned and inside total_size, the last one the end tag of size 8.
std::vector<InfoTag> parseInfo(const GuestMemory& memory, uint64_t info = kInfo) {
    std::vector<InfoTag> tags;
    [&] {
        QCOMPARE(info % 8, uint64_t(0));
        const uint32_t total = memory.readValue<uint32_t>(info);
        QCOMPARE(memory.readValue<uint32_t>(info + 4), uint32_t(0));
        QVERIFY(total >= 16 && info + total <= layout::kMultibootInfoEnd);
        for (uint64_t at = info + 8; at < info + total;) {
            QCOMPARE(at % 8, uint64_t(0));
            const InfoTag tag{at, memory.readValue<uint32_t>(at),
                              memory.readValue<uint32_t>(at + 4)};
            QVERIFY(tag.size >= 8 && at + tag.size <= info + total);
            tags.push_back(tag);
            if (tag.type == 0) {
                QCOMPARE(tag.size, uint32_t(8));
                QCOMPARE(at + 8, info + total); // the end tag ends the structure
                return;
            }
            at += (tag.size + 7) & ~uint64_t(7);
        }
        QFAIL("no end tag");
    }();
    return tags;
}

const InfoTag* findTag(const std::vector<InfoTag>& tags, uint32_t type) {
    for (const InfoTag& tag : tags)
        if (tag.type == type)
            return &tag;
    return nullptr;
}

size_t countTags(const std::vector<InfoTag>& tags, uint32_t type) {
    return static_cast<size_t>(std::count_if(tags.begin(), tags.end(),
                                             [&](const InfoTag& tag) { return tag.type == type; }));
}

std::string guestString(const GuestMemory& memory, uint64_t address, uint64_t limit) {
    std::string text;
    for (uint64_t i = 0; i < limit; ++i) {
        const char c = memory.readValue<char>(address + i);
        if (c == 0)
            return text;
        text += c;
    }
    return text + "(no NUL)";
}

std::vector<uint8_t> guestBytes(const GuestMemory& memory, uint64_t address, size_t size) {
    const auto bytes = memory.span(address, size);
    return {bytes.begin(), bytes.end()};
}

BootFramebuffer machineFramebuffer() {
    return BootFramebuffer{0xe0000000, 16ull << 20, 1024, 768, 32, 4096};
}

} // namespace

class Multiboot2LoaderTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void elfKernelIsLoadedAndEnteredPerSection33() {
        GuestMemory memory(kRam);
        memory.fill(kKernel, 0xaa, 0x5000);
        const BootPlan plan = loadMultiboot2(elfKernel(), optionsFor(), {}, memory);
        QCOMPARE(plan.format, ImageFormat::Multiboot2);
        QCOMPARE(plan.mode, CpuMode::Protected32);
        QCOMPARE(plan.entry, uint64_t(kKernel + 0x100));
        QCOMPARE(plan.rax, uint64_t(0x36D76289));
        QCOMPARE(plan.rbx, kInfo);
        QCOMPARE(plan.imageStart, uint64_t(kKernel));
        QCOMPARE(plan.imageEnd, uint64_t(kKernel + 0x4000));
        QCOMPARE(memory.readValue<uint32_t>(kKernel), boottest::kMultiboot2Magic);
        for (uint64_t address = kKernel + 0x1020; address < kKernel + 0x4000; address += 0x1f)
            QCOMPARE(memory.readValue<uint8_t>(address), uint8_t(0));
        QVERIFY(!plan.framebufferSet);
    }

    // 3.3: EAX magic, EBX the structure, flat 32-bit code and data, PE on, PG off, IF and VM off.
    void entryStateIsTheI386MachineState() {
        GuestMemory memory(kRam);
        BootPlan plan = loadMultiboot2(elfKernel(), optionsFor(), {}, memory);
        writeCpuTables(plan, memory);
        kvm_regs regs{};
        kvm_sregs sregs{};
        applyBootPlan(plan, regs, sregs);
        QCOMPARE(regs.rax, uint64_t(0x36D76289));
        QCOMPARE(regs.rbx, kInfo);
        QCOMPARE(regs.rip, uint64_t(kKernel + 0x100));
        QCOMPARE(regs.rflags & (X86_EFLAGS_IF | X86_EFLAGS_VM), uint64_t(0));
        QVERIFY(sregs.cr0 & X86_CR0_PE);
        QCOMPARE(sregs.cr0 & X86_CR0_PG, uint64_t(0));
        QCOMPARE(sregs.efer, uint64_t(0));
        // CS: a 32-bit execute/read code segment, offset 0, limit 0xFFFFFFFF.
        QCOMPARE(sregs.cs.base, uint64_t(0));
        QCOMPARE(sregs.cs.limit, uint32_t(0xffffffff));
        QCOMPARE(sregs.cs.db, uint8_t(1));
        QCOMPARE(sregs.cs.l, uint8_t(0));
        QCOMPARE(sregs.cs.type & 0xa, 0xa); // code, readable
        for (const kvm_segment* data : {&sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss}) {
            QCOMPARE(data->base, uint64_t(0));
            QCOMPARE(data->limit, uint32_t(0xffffffff));
            QCOMPARE(data->db, uint8_t(1));
            QCOMPARE(data->type & 0xa, 0x2); // data, writable
        }
    }

    void informationStructureParsesBackTagByTag() {
        GuestMemory memory(kRam);
        loadMultiboot2(elfKernel(), optionsFor("console=ttyS0 quiet"), {}, memory);
        const auto tags = parseInfo(memory);
        QVERIFY(!QTest::currentTestFailed());
        // Each tag once, in GRUB's order; no module without --initrd, no old RSDP unasked.
        std::vector<uint32_t> types;
        for (const InfoTag& tag : tags)
            types.push_back(tag.type);
        QCOMPARE(types, (std::vector<uint32_t>{21, 1, 2, 6, 4, 8, 15, 0}));

        const InfoTag* base = findTag(tags, 21);
        QCOMPARE(base->size, uint32_t(12));
        QCOMPARE(memory.readValue<uint32_t>(base->address + 8), kKernel);
        const InfoTag* cmdline = findTag(tags, 1);
        QCOMPARE(cmdline->size, uint32_t(8 + 20));
        QCOMPARE(guestString(memory, cmdline->address + 8, cmdline->size - 8),
                 std::string("console=ttyS0 quiet"));
        const InfoTag* name = findTag(tags, 2);
        QCOMPARE(guestString(memory, name->address + 8, name->size - 8), std::string("kvmscope"));

        const InfoTag* basic = findTag(tags, 4);
        QCOMPARE(basic->size, uint32_t(16));
        QCOMPARE(memory.readValue<uint32_t>(basic->address + 8), uint32_t(639));
        QCOMPARE(memory.readValue<uint32_t>(basic->address + 12), uint32_t((64 << 10) - 1024));

        // The memory map is the machine's e820 map, entry for entry (3.6.8: entry_size 24,
        // entry_version 0).
        const InfoTag* map = findTag(tags, 6);
        QCOMPARE(memory.readValue<uint32_t>(map->address + 8), uint32_t(24));
        QCOMPARE(memory.readValue<uint32_t>(map->address + 12), uint32_t(0));
        const E820Map e820 = buildE820Map(memory);
        QCOMPARE(size_t((map->size - 16) / 24), e820.entries.size());
        for (size_t i = 0; i < e820.entries.size(); ++i) {
            const uint64_t entry = map->address + 16 + 24 * i;
            QCOMPARE(memory.readValue<uint64_t>(entry), uint64_t(e820.entries[i].addr));
            QCOMPARE(memory.readValue<uint64_t>(entry + 8), uint64_t(e820.entries[i].size));
            QCOMPARE(memory.readValue<uint32_t>(entry + 16), e820.entries[i].type);
            QCOMPARE(memory.readValue<uint32_t>(entry + 20), uint32_t(0));
        }

        // Without a framebuffer request: EGA text 80x25 at 0xB8000 (3.6.12).
        const InfoTag* fb = findTag(tags, 8);
        QCOMPARE(fb->size, uint32_t(32));
        QCOMPARE(memory.readValue<uint64_t>(fb->address + 8), uint64_t(0xb8000));
        QCOMPARE(memory.readValue<uint32_t>(fb->address + 16), uint32_t(160)); // pitch
        QCOMPARE(memory.readValue<uint32_t>(fb->address + 20), uint32_t(80));
        QCOMPARE(memory.readValue<uint32_t>(fb->address + 24), uint32_t(25));
        QCOMPARE(memory.readValue<uint8_t>(fb->address + 28), uint8_t(16)); // bpp
        QCOMPARE(memory.readValue<uint8_t>(fb->address + 29), uint8_t(2));  // EGA text

        // The new-RSDP tag holds the RSDP writeAcpiTables then writes, byte for byte.
        const InfoTag* rsdp = findTag(tags, 15);
        QCOMPARE(rsdp->size, uint32_t(8 + 36));
        const auto copied = guestBytes(memory, rsdp->address + 8, 36);
        const uint64_t written = writeAcpiTables(memory, AcpiConfig{});
        QCOMPARE(copied, guestBytes(memory, written, 36));
        QCOMPARE(std::string(copied.begin(), copied.begin() + 8), std::string("RSD PTR "));
    }

    void oldRsdpTagWhenTheKernelAsksForIt() {
        GuestMemory memory(kRam);
        loadMultiboot2(elfKernel({{1, 1, {14}}}), optionsFor(), {}, memory);
        const auto tags = parseInfo(memory);
        const InfoTag* old = findTag(tags, 14);
        QVERIFY(old);
        QCOMPARE(old->size, uint32_t(8 + 20));
        QVERIFY(findTag(tags, 15));
        const auto copied = guestBytes(memory, old->address + 8, 20);
        const uint64_t written = writeAcpiTables(memory, AcpiConfig{});
        QCOMPARE(copied, guestBytes(memory, written, 20));
        uint8_t sum = 0; // the ACPI 1.0 checksum covers exactly these 20 bytes
        for (uint8_t byte : copied)
            sum = static_cast<uint8_t>(sum + byte);
        QCOMPARE(sum, uint8_t(0));
    }

    void initrdBecomesAPageAlignedModuleTag() {
        GuestMemory memory(kRam);
        const auto initrd = boottest::pattern(0x1234, 7);
        loadMultiboot2(elfKernel({{6, 0, {}}}), optionsFor("", "/boot/images/initrd.img"), initrd,
                       memory);
        const auto tags = parseInfo(memory);
        QCOMPARE(countTags(tags, 3), size_t(1));
        const InfoTag* module = findTag(tags, 3);
        const uint32_t start = memory.readValue<uint32_t>(module->address + 8);
        const uint32_t end = memory.readValue<uint32_t>(module->address + 12);
        QCOMPARE(start, uint32_t(kKernel + 0x4000)); // the first page after the bss
        QCOMPARE(end, uint32_t(start + 0x1234));
        QCOMPARE(module->size, uint32_t(16 + sizeof "initrd.img"));
        QCOMPARE(guestString(memory, module->address + 16, module->size - 16),
                 std::string("initrd.img"));
        QCOMPARE(guestBytes(memory, start, initrd.size()), initrd);
    }

    void ramAboveTheHoleIsInTheMap() {
        GuestMemory memory(5ull << 30);
        loadMultiboot2(elfKernel(), optionsFor(), {}, memory);
        const auto tags = parseInfo(memory);
        const InfoTag* map = findTag(tags, 6);
        const uint64_t last = map->address + map->size - 24;
        QCOMPARE(memory.readValue<uint64_t>(last), uint64_t(1) << 32);
        QCOMPARE(memory.readValue<uint64_t>(last + 8), uint64_t(2) << 30);
        QCOMPARE(memory.readValue<uint32_t>(last + 16), uint32_t(1));
    }

    void framebufferTagGetsTheLinearFramebufferInTheModeAskedFor() {
        GuestMemory memory(kRam);
        BootOptions options = optionsFor();
        options.framebuffer = machineFramebuffer();
        // 800x600, depth left to the machine (32).
        const BootPlan plan =
            loadMultiboot2(elfKernel({{5, 0, {800, 600, 0}}}), options, {}, memory);
        const auto tags = parseInfo(memory);
        const InfoTag* fb = findTag(tags, 8);
        QCOMPARE(fb->size, uint32_t(32 + 6));
        QCOMPARE(memory.readValue<uint64_t>(fb->address + 8), uint64_t(0xe0000000));
        QCOMPARE(memory.readValue<uint32_t>(fb->address + 16), uint32_t(800 * 4));
        QCOMPARE(memory.readValue<uint32_t>(fb->address + 20), uint32_t(800));
        QCOMPARE(memory.readValue<uint32_t>(fb->address + 24), uint32_t(600));
        QCOMPARE(memory.readValue<uint8_t>(fb->address + 28), uint8_t(32));
        QCOMPARE(memory.readValue<uint8_t>(fb->address + 29), uint8_t(1)); // RGB
        // Red at bit 16, green at 8, blue at 0, 8 bits each.
        QCOMPARE(guestBytes(memory, fb->address + 32, 6),
                 (std::vector<uint8_t>{16, 8, 8, 8, 0, 8}));
        QVERIFY(plan.framebufferSet);
        QCOMPARE(plan.framebufferSet->width, uint32_t(800));
        QCOMPARE(plan.framebufferSet->height, uint32_t(600));
        QCOMPARE(plan.framebufferSet->bitsPerPixel, uint32_t(32));
        QCOMPARE(plan.framebufferSet->stride, uint32_t(3200));
    }

    void framebufferThatCannotBeShownFallsBackToEgaText() {
        for (const auto& fields : {std::vector<uint32_t>{640, 480, 8},       // needs a palette
                                   std::vector<uint32_t>{4096, 4096, 32}}) { // too large
            GuestMemory memory(kRam);
            BootOptions options = optionsFor();
            options.framebuffer = machineFramebuffer();
            const BootPlan plan = loadMultiboot2(elfKernel({{5, 0, fields}}), options, {}, memory);
            QVERIFY(!plan.framebufferSet);
            const std::vector<InfoTag> tags = parseInfo(memory); // findTag points into it
            const InfoTag* fb = findTag(tags, 8);
            QVERIFY(fb);
            QCOMPARE(memory.readValue<uint8_t>(fb->address + 29), uint8_t(2));
            QVERIFY(std::any_of(plan.notes.begin(), plan.notes.end(), [](const std::string& note) {
                return contains(note, "EGA text mode instead");
            }));
        }
        // A machine without a framebuffer (--no-framebuffer).
        GuestMemory memory(kRam);
        const BootPlan plan =
            loadMultiboot2(elfKernel({{5, 0, {0, 0, 0}}}), optionsFor(), {}, memory);
        QVERIFY(!plan.framebufferSet);
        QCOMPARE(memory.readValue<uint8_t>(findTag(parseInfo(memory), 8)->address + 29),
                 uint8_t(2));
    }

    void consoleRequiredWithoutEgaTextAndNoFramebufferIsRefused() {
        const std::string message = loadError(elfKernel({{4, 0, {0x1}}}));
        QVERIFY2(contains(message, "console_flags 0x1") && contains(message, "EGA text"),
                 message.c_str());
        // Not required: the kernel just gets no framebuffer tag.
        GuestMemory memory(kRam);
        loadMultiboot2(elfKernel({{4, 0, {0x0}}}), optionsFor(), {}, memory);
        QVERIFY(!findTag(parseInfo(memory), 8));
    }

    void addressTagLoadsANonElfImage() {
        // The header at file offset 0x40 of a 0x300-byte file loaded whole at 1 MiB, bss to
        // 0x2000, entry at 0x80.
        auto header = boottest::multiboot2Header(
            {{2, 0, {kKernel + 0x40, kKernel, kKernel + 0x300, kKernel + 0x2000}},
             {3, 0, {kKernel + 0x80}}});
        auto image = boottest::pattern(0x300, 4);
        std::copy(header.begin(), header.end(), image.begin() + 0x40);
        GuestMemory memory(kRam);
        memory.fill(kKernel, 0xaa, 0x3000);
        const BootPlan plan = loadMultiboot2(image, optionsFor(), {}, memory);
        QCOMPARE(plan.entry, uint64_t(kKernel + 0x80));
        QCOMPARE(plan.imageEnd, uint64_t(kKernel + 0x2000));
        QCOMPARE(guestBytes(memory, kKernel, image.size()), image);
        QCOMPARE(memory.readValue<uint8_t>(kKernel + 0x1fff), uint8_t(0));
        QCOMPARE(memory.readValue<uint8_t>(kKernel + 0x2000), uint8_t(0xaa));

        // load_addr -1: from the file's first byte, which header_addr - offset places.
        header = boottest::multiboot2Header(
            {{2, 0, {kKernel + 0x40, 0xffffffff, 0, 0}}, {3, 0, {kKernel}}});
        std::copy(header.begin(), header.end(), image.begin() + 0x40);
        GuestMemory second(kRam);
        const BootPlan fromStart = loadMultiboot2(image, optionsFor(), {}, second);
        QCOMPARE(fromStart.imageStart, uint64_t(kKernel));
        QCOMPARE(fromStart.imageEnd, uint64_t(kKernel + 0x300));
        QCOMPARE(guestBytes(second, kKernel, image.size()), image);
    }

    void inconsistentAddressTagsAreRefused() {
        auto kernel = [](uint32_t loadAddr, uint32_t loadEnd, uint32_t bssEnd, uint32_t entry) {
            auto header = boottest::multiboot2Header(
                {{2, 0, {kKernel + 0x40, loadAddr, loadEnd, bssEnd}}, {3, 0, {entry}}});
            auto image = boottest::pattern(0x300, 4);
            std::copy(header.begin(), header.end(), image.begin() + 0x40);
            return image;
        };
        QVERIFY(contains(loadError(kernel(kKernel + 0x100, 0, 0, kKernel)),
                         "load_addr 0x100100 is above header_addr 0x100040"));
        QVERIFY(contains(loadError(kernel(kKernel - 0x100, 0, 0, kKernel)),
                         "exceeds the header's file offset 0x40"));
        QVERIFY(contains(loadError(kernel(kKernel, kKernel + 0x400, 0, kKernel)),
                         "load_end_addr 0x100400 asks for 0x400 bytes"));
        QVERIFY(contains(loadError(kernel(kKernel, kKernel + 0x300, kKernel + 0x200, kKernel)),
                         "bss_end_addr 0x100200 is below"));
        QVERIFY(contains(loadError(kernel(kKernel, 0, 0, kKernel + 0x300)),
                         "entry 0x100300 (entry address tag) is outside the loaded image"));
    }

    void kernelOverTheInformationAreaIsRefused() {
        auto header =
            boottest::multiboot2Header({{2, 0, {0xa040, 0xa000, 0, 0}}, {3, 0, {0xa000}}});
        auto image = boottest::pattern(0x300, 4);
        std::copy(header.begin(), header.end(), image.begin() + 0x40);
        const std::string message = loadError(image);
        QVERIFY2(contains(message, "multiboot information area"), message.c_str());
    }

    void nonElfWithoutAddressTagIsRefused() {
        auto image = std::vector<uint8_t>(0x100, 0x90);
        const auto header = boottest::multiboot2Header({});
        std::copy(header.begin(), header.end(), image.begin());
        const std::string message = loadError(image);
        QVERIFY2(contains(message, "no address tag") && contains(message, "not ELF"),
                 message.c_str());
    }

    void relocatableImageStaysAtItsOwnAddressOrIsRefused() {
        GuestMemory memory(kRam);
        const BootPlan plan = loadMultiboot2(elfKernel({{10, 0, {kKernel, 0x1000000, 0x1000, 0}}}),
                                             optionsFor(), {}, memory);
        QCOMPARE(plan.imageStart, uint64_t(kKernel));
        const std::string message =
            loadError(elfKernel({{10, 0, {0x200000, 0x1000000, 0x1000, 0}}}));
        QVERIFY2(contains(message, "relocatable tag") && contains(message, "min_addr 0x200000") &&
                     contains(message, "does not relocate"),
                 message.c_str());
    }

    void commandLineTooLongForTheAreaIsRefused() {
        const std::string message = loadError(elfKernel(), optionsFor(std::string(0x8000, 'x')));
        QVERIFY2(contains(message, "multiboot2 information") && contains(message, "does not fit"),
                 message.c_str());
    }

    void headerErrorsNameTheFile() {
        const std::string message = loadError(elfKernel({}, 4));
        QVERIFY2(contains(message, "/images/kernel.mb2") && contains(message, "architecture 4"),
                 message.c_str());
    }

    // Detection: a Multiboot 2 header wins over a Multiboot 1 one in the same image.
    void detectionPrefersMultiboot2() {
        auto image = elfKernel();
        boottest::putMultibootHeader(image, 0x800, 0x3);
        QCOMPARE(detectFormat(image), ImageFormat::Multiboot2);
        std::vector<uint8_t> onlyOne(0x1000, 0);
        boottest::putMultibootHeader(onlyOne, 0x800, 0x3);
        QCOMPARE(detectFormat(onlyOne), ImageFormat::Multiboot);
    }

    // The bundled multiboot2-info guest, as the build links it (resources/guests).
    void theMultiboot2InfoGuestLoads() {
        const std::string path = KVMSCOPE_GUESTS_DIR "/multiboot2-info";
        const MappedFile file = mapImageFile(path, "image");
        QCOMPARE(detectFormat(file.bytes()), ImageFormat::Multiboot2);
        GuestMemory memory(kRam);
        BootOptions options = optionsFor("guest test");
        options.imagePath = path;
        const BootPlan plan = loadMultiboot2(file.bytes(), options, {}, memory);
        QCOMPARE(plan.imageStart, uint64_t(kKernel));
        QVERIFY(plan.entry > kKernel && plan.entry < plan.imageEnd);
        // The optional unknown tag in its header was skipped, and said so.
        QVERIFY(std::any_of(plan.notes.begin(), plan.notes.end(), [](const std::string& note) {
            return contains(note, "optional and unknown, skipped");
        }));
        const auto tags = parseInfo(memory);
        for (uint32_t type : {1u, 2u, 4u, 6u, 8u, 15u, 21u})
            QVERIFY2(findTag(tags, type), qPrintable(QString::number(type)));
    }
};

QTEST_APPLESS_MAIN(Multiboot2LoaderTest)
#include "Multiboot2LoaderTest.moc"
