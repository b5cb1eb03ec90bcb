#include "boot/linux/LinuxLoader.h"

#include "boot/GuestLayout.h"
#include "boot/ImageLoader.h"
#include "boot/MultibootHeader.h"
#include "boot/linux/E820.h"
#include "boot/linux/EmulatedHostParameters.h"
#include "unit/boot/BootTestImages.h"

#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <asm/bootparam.h>
#include <asm/e820.h>
#include <cstddef>
#include <fmt/format.h>
#include <fstream>

using namespace kvmscope;
using namespace kvmscope::boot;
using boottest::contains;

namespace {

constexpr uint64_t kRam = 64ull << 20;
constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kSetupHeaderOffset = offsetof(boot_params, hdr);

// What a synthetic bzImage's setup header says (boot.rst, "THE REAL-MODE KERNEL HEADER"); the
// defaults look like a current x86_64 kernel's.
struct BzImageSpec {
    uint8_t setupSects = 4;
    uint16_t version = 0x020f;
    uint8_t loadflags = LOADED_HIGH;
    uint16_t xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
    uint8_t relocatable = 1;
    uint32_t kernelAlignment = 0x200000;
    uint64_t prefAddress = 0x1000000;
    uint32_t initSize = 0x800000;
    uint32_t cmdlineSize = 2047;
    uint32_t initrdAddrMax = 0x7fffffff;
    uint64_t payloadSize = 0x3000;
};

uint64_t setupSizeOf(const BzImageSpec& spec) {
    return (uint64_t{spec.setupSects == 0 ? 4u : spec.setupSects} + 1) * 512;
}

// Zeroed setup sectors with the header at 0x1f1, then the payload (a byte pattern).
std::vector<uint8_t> bzImage(const BzImageSpec& spec = {}) {
    const uint64_t setupSize = setupSizeOf(spec);
    std::vector<uint8_t> image(setupSize, 0);
    setup_header header{};
    header.setup_sects = spec.setupSects;
    header.boot_flag = 0xaa55;
    // A short jump over the header: its second byte is the header's length from 0x202.
    header.jump = static_cast<uint16_t>(
        0xeb | ((kSetupHeaderOffset + sizeof(setup_header) - kLinuxHeaderMagicOffset) << 8));
    header.header = kLinuxHeaderMagic;
    header.version = spec.version;
    header.loadflags = spec.loadflags;
    header.code32_start = 0x100000;
    header.initrd_addr_max = spec.initrdAddrMax;
    header.kernel_alignment = spec.kernelAlignment;
    header.relocatable_kernel = spec.relocatable;
    header.xloadflags = spec.xloadflags;
    header.cmdline_size = spec.cmdlineSize;
    header.pref_address = spec.prefAddress;
    header.init_size = spec.initSize;
    boottest::put(image, kSetupHeaderOffset, header);
    const auto payload = boottest::pattern(spec.payloadSize, 7);
    image.insert(image.end(), payload.begin(), payload.end());
    return image;
}

BootOptions optionsFor(std::string commandLine = {}, std::string initrdPath = {}) {
    BootOptions options;
    options.imagePath = "/images/bzImage";
    options.format = ImageFormat::Linux;
    options.commandLine = std::move(commandLine);
    options.initrdPath = std::move(initrdPath);
    return options;
}

std::string loadError(const std::vector<uint8_t>& image, const BootOptions& options = optionsFor(),
                      std::span<const uint8_t> initrd = {}, uint64_t ram = kRam) {
    GuestMemory memory(ram);
    return boottest::errorOf<LoadError>([&] { loadLinux(image, options, initrd, memory); });
}

std::string guestString(const GuestMemory& memory, uint64_t address) {
    std::string text;
    for (char c; (c = memory.readValue<char>(address)) != 0; ++address)
        text += c;
    return text;
}

struct E820 {
    uint64_t addr, size;
    uint32_t type;
    bool operator==(const E820&) const = default;
};

std::vector<E820> e820Of(const boot_params& zeroPage) {
    std::vector<E820> entries;
    for (unsigned i = 0; i < zeroPage.e820_entries; ++i)
        entries.push_back({zeroPage.e820_table[i].addr, zeroPage.e820_table[i].size,
                           zeroPage.e820_table[i].type});
    return entries;
}

std::string describe(const std::vector<E820>& entries) {
    std::string text;
    for (const auto& entry : entries)
        text += fmt::format("[{:#x} +{:#x} type {}] ", entry.addr, entry.size, entry.type);
    return text;
}

} // namespace

class LinuxLoaderTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void formatNameRoundTrips() {
        ImageFormat format = ImageFormat::Auto;
        QVERIFY(parseImageFormat("linux", format));
        QCOMPARE(format, ImageFormat::Linux);
        QCOMPARE(std::string(toString(ImageFormat::Linux)), std::string("linux"));
    }

    void detectsTheHeaderMagicBeforeMultibootAndElf() {
        auto image = bzImage();
        QCOMPARE(detectFormat(image), ImageFormat::Linux);
        // A valid multiboot header inside the payload (within the first 8 KiB) does not win.
        boottest::putMultibootHeader(image, setupSizeOf({}) + 0x100, 0x3);
        QVERIFY(searchMultibootHeader(image).headerOffset.has_value());
        QCOMPARE(detectFormat(image), ImageFormat::Linux);
        // Nor does an ELF magic at the start.
        std::memcpy(image.data(), ELFMAG, SELFMAG);
        QCOMPARE(detectFormat(image), ImageFormat::Linux);
        // Without "HdrS" the same bytes are multiboot.
        image[kLinuxHeaderMagicOffset] = 'X';
        QVERIFY(!hasLinuxBootMagic(image));
        QCOMPARE(detectFormat(image), ImageFormat::Multiboot);
        // Too short to hold the magic.
        QVERIFY(!hasLinuxBootMagic(std::vector<uint8_t>(0x205, 0)));
    }

    void kernelIsLoadedAtOneMebibyteAndEnteredAtThe64BitEntry() {
        GuestMemory memory(kRam);
        const auto image = bzImage();
        const BootPlan plan = loadLinux(image, optionsFor(), {}, memory);
        QCOMPARE(plan.format, ImageFormat::Linux);
        QCOMPARE(plan.mode, CpuMode::Long64);
        QCOMPARE(plan.entry, uint64_t(0x100200));
        QCOMPARE(plan.rsi, layout::kLinuxZeroPageAddress);
        QCOMPARE(plan.stack, layout::kBootStackTop);
        QCOMPARE(plan.imageStart, uint64_t(0x100000));
        // Relocatable, 2 MiB aligned, pref_address 16 MiB: decompresses at 16 MiB + init_size.
        QCOMPARE(plan.imageEnd, uint64_t(0x1000000 + 0x800000));
        const uint64_t setupSize = setupSizeOf({});
        std::vector<uint8_t> loaded(image.size() - setupSize);
        memory.read(0x100000, loaded.data(), loaded.size());
        QVERIFY(std::equal(loaded.begin(), loaded.end(), image.begin() + long(setupSize)));
        bool notedProtocol = false;
        for (const auto& note : plan.notes)
            notedProtocol = notedProtocol || contains(note, "boot protocol 2.15");
        QVERIFY(notedProtocol);
    }

    void setupSectsZeroMeansFour() {
        BzImageSpec spec;
        spec.setupSects = 0;
        const auto image = bzImage(spec);
        const LinuxKernelImage kernel = parseLinuxKernel(image, "/images/bzImage");
        QCOMPARE(kernel.setupSize, uint64_t(5 * 512));
        GuestMemory memory(kRam);
        loadLinux(image, optionsFor(), {}, memory);
        QCOMPARE(memory.readValue<uint8_t>(0x100000), image[5 * 512]);
    }

    void zeroPageHoldsTheHeaderAndTheLoaderFields() {
        GuestMemory memory(kRam);
        memory.fill(layout::kLinuxZeroPageAddress, 0xcc, 0x1000);
        const auto image = bzImage();
        loadLinux(image, optionsFor("console=ttyS0 earlyprintk=serial"), {}, memory);
        const auto zeroPage = memory.readValue<boot_params>(layout::kLinuxZeroPageAddress);
        setup_header fileHeader{};
        std::memcpy(&fileHeader, image.data() + kSetupHeaderOffset, sizeof fileHeader);
        QCOMPARE(zeroPage.hdr.header, kLinuxHeaderMagic);
        QCOMPARE(zeroPage.hdr.version, uint16_t(0x020f));
        QCOMPARE(zeroPage.hdr.setup_sects, uint8_t(4));
        QCOMPARE(zeroPage.hdr.boot_flag, uint16_t(0xaa55));
        QCOMPARE(zeroPage.hdr.init_size, fileHeader.init_size);
        QCOMPARE(zeroPage.hdr.pref_address, fileHeader.pref_address);
        QCOMPARE(zeroPage.hdr.type_of_loader, uint8_t(0xff));
        QCOMPARE(zeroPage.hdr.loadflags, uint8_t(LOADED_HIGH | CAN_USE_HEAP));
        QVERIFY(zeroPage.hdr.heap_end_ptr != 0);
        QCOMPARE(uint64_t{zeroPage.hdr.cmd_line_ptr}, layout::kLinuxCommandLineAddress);
        QCOMPARE(guestString(memory, zeroPage.hdr.cmd_line_ptr),
                 std::string("console=ttyS0 earlyprintk=serial"));
        QCOMPARE(zeroPage.hdr.ramdisk_image, 0u);
        QCOMPARE(zeroPage.hdr.ramdisk_size, 0u);
        // Everything outside the header and the e820 map is zero (the 0xcc fill is gone).
        QCOMPARE(zeroPage.sentinel, uint8_t(0));
        QCOMPARE(zeroPage.screen_info.orig_video_isVGA, uint8_t(0));
        // Protocol 2.15 >= 2.14: the RSDP's address, where writeAcpiTables puts it (0xe0000).
        QCOMPARE(zeroPage.acpi_rsdp_addr, uint64_t(0xe0000));
    }

    void emptyCommandLineIsAnEmptyString() {
        GuestMemory memory(kRam);
        memory.fill(layout::kLinuxCommandLineAddress, 'x', 16);
        loadLinux(bzImage(), optionsFor(), {}, memory);
        QCOMPARE(memory.readValue<uint8_t>(layout::kLinuxCommandLineAddress), uint8_t(0));
    }

    void initrdGoesHighPageAlignedBelowTheEndOfRam() {
        GuestMemory memory(kRam);
        const auto initrd = boottest::pattern(0x12345, 3);
        loadLinux(bzImage(), optionsFor({}, "/images/initrd.img"), initrd, memory);
        const auto zeroPage = memory.readValue<boot_params>(layout::kLinuxZeroPageAddress);
        const uint64_t expected = (kRam - initrd.size()) & ~uint64_t(0xfff);
        QCOMPARE(uint64_t{zeroPage.hdr.ramdisk_image}, expected);
        QCOMPARE(uint64_t{zeroPage.hdr.ramdisk_size}, uint64_t(initrd.size()));
        std::vector<uint8_t> loaded(initrd.size());
        memory.read(expected, loaded.data(), loaded.size());
        QVERIFY(loaded == initrd);
    }

    void initrdStaysBelowInitrdAddrMax() {
        BzImageSpec spec;
        spec.initrdAddrMax = 0x1ffffff; // the highest byte it may use: below 32 MiB
        GuestMemory memory(kRam);
        const auto initrd = boottest::pattern(0x1800, 3);
        loadLinux(bzImage(spec), optionsFor({}, "/images/initrd.img"), initrd, memory);
        const auto zeroPage = memory.readValue<boot_params>(layout::kLinuxZeroPageAddress);
        QCOMPARE(uint64_t{zeroPage.hdr.ramdisk_image}, uint64_t(0x2000000 - 0x2000));
    }

    void e820For64MiB() {
        GuestMemory memory(kRam);
        loadLinux(bzImage(), optionsFor(), {}, memory);
        const auto entries = e820Of(memory.readValue<boot_params>(layout::kLinuxZeroPageAddress));
        // The PCI ECAM window is reserved, so that Linux uses the MCFG (PcPlatform.h).
        const std::vector<E820> expected{{0, 0x9fc00, E820_RAM},
                                         {0x9fc00, 0x100000 - 0x9fc00, E820_RESERVED},
                                         {0x100000, kRam - 0x100000, E820_RAM},
                                         {0xf000'0000, 16 << 20, E820_RESERVED}};
        QVERIFY2(entries == expected, describe(entries).c_str());
    }

    void e820For8GiBLeavesTheHoleOut() {
        GuestMemory memory(8 * kGiB);
        loadLinux(bzImage(), optionsFor(), {}, memory);
        const auto entries = e820Of(memory.readValue<boot_params>(layout::kLinuxZeroPageAddress));
        const std::vector<E820> expected{{0, 0x9fc00, E820_RAM},
                                         {0x9fc00, 0x100000 - 0x9fc00, E820_RESERVED},
                                         {0x100000, 3 * kGiB - 0x100000, E820_RAM},
                                         {0xf000'0000, 16 << 20, E820_RESERVED},
                                         {4 * kGiB, 5 * kGiB, E820_RAM}};
        QVERIFY2(entries == expected, describe(entries).c_str());
    }

    void e820MapBuilderMatchesTheZeroPageLimit() {
        GuestMemory memory(kRam);
        const E820Map map = buildE820Map(memory);
        QCOMPARE(map.droppedEntries, uint64_t(0));
        QVERIFY(map.entries.size() <= E820_MAX_ENTRIES_ZEROPAGE);
    }

    void refusesAMissingMagic() {
        auto image = bzImage();
        image[kLinuxHeaderMagicOffset] = 'h';
        const std::string message = loadError(image);
        QVERIFY2(contains(message, "/images/bzImage") && contains(message, "HdrS") &&
                     contains(message, "0x202"),
                 message.c_str());
    }

    void refusesProtocolOlderThan206() {
        BzImageSpec spec;
        spec.version = 0x0205;
        const std::string message = loadError(bzImage(spec));
        QVERIFY2(contains(message, "/images/bzImage") && contains(message, "version") &&
                     contains(message, "0x0205") && contains(message, "2.06"),
                 message.c_str());
    }

    void refusesAKernelWithoutThe64BitEntry() {
        BzImageSpec spec;
        spec.xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
        const std::string message = loadError(bzImage(spec));
        QVERIFY2(contains(message, "xloadflags 0x0002") && contains(message, "XLF_KERNEL_64"),
                 message.c_str());
    }

    void refusesAKernelThatIsNotLoadedHigh() {
        BzImageSpec spec;
        spec.loadflags = 0;
        const std::string message = loadError(bzImage(spec));
        QVERIFY2(contains(message, "loadflags 0x00") && contains(message, "LOADED_HIGH"),
                 message.c_str());
    }

    void refusesAFixedKernelBelowOneMebibyte() {
        BzImageSpec spec;
        spec.relocatable = 0;
        spec.prefAddress = 0x10000;
        const std::string message = loadError(bzImage(spec));
        QVERIFY2(contains(message, "pref_address 0x10000") && contains(message, "relocatable"),
                 message.c_str());
    }

    void refusesAKernelAlignmentThatIsNotAPowerOfTwo() {
        BzImageSpec spec;
        spec.kernelAlignment = 0x300000;
        const std::string message = loadError(bzImage(spec));
        QVERIFY2(contains(message, "kernel_alignment 0x300000"), message.c_str());
    }

    void refusesACommandLineLongerThanCmdlineSize() {
        BzImageSpec spec;
        spec.cmdlineSize = 16;
        const std::string message =
            loadError(bzImage(spec), optionsFor("console=ttyS0 root=/dev/vda"));
        QVERIFY2(contains(message, "27 bytes") && contains(message, "cmdline_size 16"),
                 message.c_str());
        // Exactly cmdline_size bytes is allowed (the NUL is not counted).
        GuestMemory memory(kRam);
        loadLinux(bzImage(spec), optionsFor(std::string(16, 'a')), {}, memory);
    }

    void refusesACommandLineWithANul() {
        GuestMemory memory(kRam);
        const std::string message = boottest::errorOf<InputError>(
            [&] { loadLinux(bzImage(), optionsFor(std::string("a\0b", 3)), {}, memory); });
        QVERIFY2(contains(message, "NUL"), message.c_str());
    }

    void refusesAKernelLargerThanRam() {
        BzImageSpec spec;
        spec.initSize = 0x8000000; // 128 MiB from 16 MiB in a 64 MiB machine
        const std::string message = loadError(bzImage(spec));
        QVERIFY2(contains(message, "init_size 0x8000000") && contains(message, "0x9000000") &&
                     contains(message, "0x4000000"),
                 message.c_str());
    }

    void refusesAnInitrdThatDoesNotFit() {
        const auto initrd = boottest::pattern(0x3000, 1);
        BzImageSpec spec;
        spec.initrdAddrMax = 0x1801fff; // 0x2000 bytes above the kernel's end at 24 MiB
        GuestMemory memory(kRam);
        const std::string message = boottest::errorOf<LoadError>([&] {
            loadLinux(bzImage(spec), optionsFor({}, "/images/initrd.img"), initrd, memory);
        });
        QVERIFY2(contains(message, "/images/initrd.img") && contains(message, "0x3000 bytes") &&
                     contains(message, "0x2000 bytes are free") &&
                     contains(message, "initrd_addr_max 0x1801fff"),
                 message.c_str());
    }

    void refusesTruncatedSetupSectors() {
        BzImageSpec spec;
        spec.setupSects = 63;
        auto image = bzImage(spec);
        image.resize(0x1000);
        const std::string message = loadError(image);
        QVERIFY2(contains(message, "setup_sects 63") && contains(message, "0x8000") &&
                     contains(message, "0x1000-byte file"),
                 message.c_str());
    }

    void refusesAHeaderEndingBeyondTheFile() {
        auto image = bzImage();
        image.resize(0x240);
        const std::string message = loadError(image);
        QVERIFY2(contains(message, "setup header ends at 0x26c") &&
                     contains(message, "0x240 bytes"),
                 message.c_str());
    }

    void loadImageDetectsAndPassesInitrdAndCommandLine() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto write = [&](const char* name, const std::vector<uint8_t>& bytes) {
            const std::string path = dir.filePath(name).toStdString();
            std::ofstream(path, std::ios::binary)
                .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
            return path;
        };
        BootOptions options;
        options.imagePath = write("bzImage", bzImage());
        options.initrdPath = write("initrd", boottest::pattern(0x2000, 5));
        options.commandLine = "quiet";
        GuestMemory memory(kRam);
        const BootPlan plan = loadImage(options, memory);
        QCOMPARE(plan.format, ImageFormat::Linux);
        const auto zeroPage = memory.readValue<boot_params>(layout::kLinuxZeroPageAddress);
        QCOMPARE(zeroPage.hdr.ramdisk_size, 0x2000u);
        QCOMPARE(guestString(memory, zeroPage.hdr.cmd_line_ptr), std::string("quiet"));
        QVERIFY(contains(plan.notes.front(), "detected format linux"));
    }

    // On a host that emulates ring 0 the kernel gets the parameters that keep it off the
    // instructions KVM's emulator cannot run; the plan says what was added, and a parameter the
    // user already set is left as the user wrote it.
    void hostEmulatingRingZeroAddsKernelParameters() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = dir.filePath("bzImage").toStdString();
        const std::vector<uint8_t> image = bzImage();
        std::ofstream(path, std::ios::binary)
            .write(reinterpret_cast<const char*>(image.data()), std::streamsize(image.size()));
        BootOptions options;
        options.imagePath = path;
        options.commandLine = "console=ttyS0 noxsave";
        options.hostEmulatesRing0 = true;
        GuestMemory memory(kRam);
        const BootPlan plan = loadImage(options, memory);
        const auto zeroPage = memory.readValue<boot_params>(layout::kLinuxZeroPageAddress);
        QCOMPARE(
            guestString(memory, zeroPage.hdr.cmd_line_ptr),
            std::string("console=ttyS0 noxsave clearcpuid=137,141,151,308 nosoftlockup "
                        "mitigations=off rcupdate.rcu_cpu_stall_suppress=1 cryptomgr.notests"));
        QCOMPARE(plan.addedKernelParameters,
                 std::string("clearcpuid=137,141,151,308 nosoftlockup mitigations=off "
                             "rcupdate.rcu_cpu_stall_suppress=1 cryptomgr.notests"));
        QVERIFY(std::any_of(plan.notes.begin(), plan.notes.end(), [](const std::string& note) {
            return contains(note, "added \"clearcpuid=137,141,151,308\"") &&
                   contains(note, "CMPXCHG16B");
        }));

        options.hostEmulatesRing0 = false; // hardware VMX/SVM, or --no-host-workarounds
        GuestMemory untouched(kRam);
        const BootPlan native = loadImage(options, untouched);
        const auto nativePage = untouched.readValue<boot_params>(layout::kLinuxZeroPageAddress);
        QCOMPARE(guestString(untouched, nativePage.hdr.cmd_line_ptr),
                 std::string("console=ttyS0 noxsave"));
        QVERIFY(native.addedKernelParameters.empty());
    }

    void kernelParametersAreAddedOnceByKey() {
        const auto& parameters = emulatedRing0Parameters();
        std::vector<KernelParameter> added;
        QCOMPARE(withKernelParameters("", parameters, &added),
                 std::string("clearcpuid=137,141,151,308 noxsave nosoftlockup mitigations=off "
                             "rcupdate.rcu_cpu_stall_suppress=1 cryptomgr.notests"));
        QCOMPARE(added.size(), size_t{6});
        added.clear();
        // clearcpuid= with the user's own list counts as set: the kernel takes one such option.
        QCOMPARE(withKernelParameters("clearcpuid=pku quiet ", parameters, &added),
                 std::string("clearcpuid=pku quiet noxsave nosoftlockup mitigations=off "
                             "rcupdate.rcu_cpu_stall_suppress=1 cryptomgr.notests"));
        QCOMPARE(added.size(), size_t{5});
        QCOMPARE(std::string(added.front().text), std::string("noxsave"));
    }

    // Optional: a real bzImage named by KVMSCOPE_TEST_BZIMAGE (e.g. a distribution's
    // /boot/vmlinuz-*), parsed and loaded into a 1 GiB machine; not run.
    void realKernelParses() {
        const QByteArray path = qgetenv("KVMSCOPE_TEST_BZIMAGE");
        if (path.isEmpty())
            QSKIP("KVMSCOPE_TEST_BZIMAGE is not set");
        const auto image = readImageFile(path.toStdString(), "image");
        QCOMPARE(detectFormat(image), ImageFormat::Linux);
        const LinuxKernelImage kernel = parseLinuxKernel(image, path.toStdString());
        QVERIFY(kernel.header.version >= kLinuxMinimumProtocol);
        QVERIFY(kernel.kernelSize > 0);
        GuestMemory memory(kGiB);
        BootOptions options = optionsFor("console=ttyS0");
        options.imagePath = path.toStdString();
        const BootPlan plan = loadLinux(image, options, {}, memory);
        QCOMPARE(plan.entry, uint64_t(0x100200));
        QVERIFY(plan.imageEnd >= 0x100000 + kernel.kernelSize);
        for (const auto& note : plan.notes)
            qInfo("%s", note.c_str());
    }
};

QTEST_APPLESS_MAIN(LinuxLoaderTest)
#include "LinuxLoaderTest.moc"
