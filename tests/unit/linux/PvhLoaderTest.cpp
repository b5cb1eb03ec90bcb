#include "boot/linux/PvhLoader.h"

#include "boot/GuestLayout.h"
#include "boot/ImageLoader.h"
#include "boot/X86Setup.h"
#include "boot/acpi/AcpiTables.h"
#include "boot/linux/E820.h"
#include "unit/boot/BootTestImages.h"

#include <QTemporaryDir>
#include <QTest>
#include <cstddef>
#include <fmt/format.h>
#include <fstream>

using namespace kvmscope;
using namespace kvmscope::boot;
using boottest::contains;
using boottest::Segment;

namespace {

constexpr uint64_t kRam = 64ull << 20;
constexpr uint64_t kGiB = 1ull << 30;
// Where Linux's vmlinux sits (LOAD_PHYSICAL_ADDR 16 MiB, linked at __START_KERNEL_map + that).
constexpr uint64_t kKernel = 0x1000000;
constexpr uint64_t kKernelVirtual = 0xffffffff81000000;
constexpr uint64_t kEntry = kKernel + 0x850;
constexpr uint64_t kTextSize = 0x2000;
constexpr uint64_t kMemorySize = 0x5000; // text, then bss
constexpr uint32_t kPhys32Entry = 18;

uint64_t align4(uint64_t value) {
    return (value + 3) & ~uint64_t(3);
}

// One note as the gABI lays it out, name and descriptor padded to 4 bytes.
std::vector<uint8_t> note(const std::string& name, uint32_t type,
                          const std::vector<uint8_t>& descriptor) {
    std::vector<uint8_t> bytes;
    boottest::put<uint32_t>(bytes, 0, static_cast<uint32_t>(name.size() + 1));
    boottest::put<uint32_t>(bytes, 4, static_cast<uint32_t>(descriptor.size()));
    boottest::put<uint32_t>(bytes, 8, type);
    bytes.resize(12 + align4(name.size() + 1), 0);
    std::memcpy(bytes.data() + 12, name.c_str(), name.size());
    const size_t at = bytes.size();
    bytes.resize(at + align4(descriptor.size()), 0);
    std::memcpy(bytes.data() + at, descriptor.data(), descriptor.size());
    return bytes;
}

template <typename T> std::vector<uint8_t> bytesOf(T value) {
    std::vector<uint8_t> bytes(sizeof value);
    std::memcpy(bytes.data(), &value, sizeof value);
    return bytes;
}

// Linux's notes: a few other Xen notes first, the entry as an 8-byte value (_ASM_PTR).
std::vector<uint8_t> linuxNotes(uint64_t entry = kEntry) {
    std::vector<uint8_t> notes = note("GNU", 3, std::vector<uint8_t>(20, 0xab));
    for (const auto& part : {note("Xen", 6, {'l', 'i', 'n', 'u', 'x', 0}),
                             note("Xen", kPhys32Entry, bytesOf<uint64_t>(entry))})
        notes.insert(notes.end(), part.begin(), part.end());
    return notes;
}

// A vmlinux-like ELF64: text at 16 MiB (its bss after it), then a PT_NOTE segment.
std::vector<uint8_t> pvhElf(const std::vector<uint8_t>& notes = linuxNotes(),
                            uint64_t kernel = kKernel) {
    return boottest::elf64(
               kKernelVirtual,
               {Segment{kernel, kKernelVirtual, boottest::pattern(kTextSize, 3), kMemorySize},
                Segment{kernel + 0x800000, kKernelVirtual + 0x800000, notes, 0, PT_NOTE}})
        .bytes;
}

// The same kernel with its notes only in an SHT_NOTE section (no PT_NOTE segment).
std::vector<uint8_t> pvhElfWithSectionNotes() {
    auto bytes =
        boottest::elf64(kKernelVirtual, {Segment{kKernel, kKernelVirtual,
                                                 boottest::pattern(kTextSize, 3), kMemorySize}})
            .bytes;
    bytes.resize(align4(bytes.size()), 0);
    const uint64_t notesOffset = bytes.size();
    const auto notes = linuxNotes();
    bytes.insert(bytes.end(), notes.begin(), notes.end());
    bytes.resize((bytes.size() + 7) & ~size_t(7), 0);
    const uint64_t tableOffset = bytes.size();
    Elf64_Shdr sections[2]{}; // the null section, then the notes
    sections[1].sh_type = SHT_NOTE;
    sections[1].sh_offset = notesOffset;
    sections[1].sh_size = notes.size();
    sections[1].sh_addralign = 4;
    boottest::put(bytes, tableOffset, sections);
    boottest::put<uint64_t>(bytes, offsetof(Elf64_Ehdr, e_shoff), tableOffset);
    boottest::put<uint16_t>(bytes, offsetof(Elf64_Ehdr, e_shentsize), sizeof(Elf64_Shdr));
    boottest::put<uint16_t>(bytes, offsetof(Elf64_Ehdr, e_shnum), 2);
    return bytes;
}

BootOptions optionsFor(std::string commandLine = {}, std::string initrdPath = {}) {
    BootOptions options;
    options.imagePath = "/images/vmlinux";
    options.format = ImageFormat::Pvh;
    options.commandLine = std::move(commandLine);
    options.initrdPath = std::move(initrdPath);
    return options;
}

std::string loadError(const std::vector<uint8_t>& image, const BootOptions& options = optionsFor(),
                      std::span<const uint8_t> initrd = {}, uint64_t ram = kRam) {
    GuestMemory memory(ram);
    return boottest::errorOf<LoadError>([&] { loadPvh(image, options, initrd, memory); });
}

std::string guestString(const GuestMemory& memory, uint64_t address) {
    std::string text;
    for (char c; (c = memory.readValue<char>(address)) != 0; ++address)
        text += c;
    return text;
}

} // namespace

class PvhLoaderTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void loadsSegmentsAtPaddrAndEntersAtTheNote() {
        GuestMemory memory(kRam);
        memory.fill(kKernel + kTextSize, 0xcc, kMemorySize - kTextSize);
        const BootPlan plan = loadPvh(pvhElf(), optionsFor(), {}, memory);
        QCOMPARE(plan.format, ImageFormat::Pvh);
        QCOMPARE(plan.mode, CpuMode::Protected32);
        QCOMPARE(plan.entry, kEntry);
        QCOMPARE(plan.rbx, uint64_t(0x9000));
        QCOMPARE(plan.rax, uint64_t(0));
        QCOMPARE(plan.imageStart, kKernel);
        QCOMPARE(plan.imageEnd, kKernel + kMemorySize);
        std::vector<uint8_t> text(kTextSize);
        memory.read(kKernel, text.data(), text.size());
        QVERIFY(text == boottest::pattern(kTextSize, 3));
        QCOMPARE(memory.readValue<uint64_t>(kKernel + kMemorySize - 8), uint64_t(0)); // bss
    }

    void startInfoCarriesCommandLineRsdpAndMemoryMap() {
        GuestMemory memory(kRam);
        const BootPlan plan =
            loadPvh(pvhElf(), optionsFor("console=ttyS0 earlyprintk=ttyS0"), {}, memory);
        const auto info = memory.readValue<pvh::hvm_start_info>(plan.rbx);
        QCOMPARE(info.magic, 0x336ec578u);
        QCOMPARE(info.version, 1u);
        QCOMPARE(info.flags, 0u);
        QCOMPARE(info.reserved, 0u);
        QCOMPARE(info.nr_modules, 0u);
        QCOMPARE(info.modlist_paddr, uint64_t(0));
        QCOMPARE(guestString(memory, info.cmdline_paddr),
                 std::string("console=ttyS0 earlyprintk=ttyS0"));
        // The address writeAcpiTables returns, i.e. where the RSDP really is.
        GuestMemory acpiMemory(kRam);
        QCOMPARE(info.rsdp_paddr, writeAcpiTables(acpiMemory, AcpiConfig{}));
        const auto e820 = buildE820Map(memory).entries;
        QCOMPARE(info.memmap_entries, uint32_t(e820.size()));
        QCOMPARE(info.memmap_entries, 4u); // low RAM, the legacy area, RAM, the PCI ECAM window
        for (uint32_t i = 0; i < info.memmap_entries; ++i) {
            const auto entry = memory.readValue<pvh::hvm_memmap_table_entry>(
                info.memmap_paddr + i * sizeof(pvh::hvm_memmap_table_entry));
            QCOMPARE(entry.addr, e820[i].addr);
            QCOMPARE(entry.size, e820[i].size);
            QCOMPARE(entry.type, e820[i].type);
            QCOMPARE(entry.reserved, 0u);
        }
        // Everything the start info points at stays in the page it owns, below 4 GiB.
        QVERIFY(info.memmap_paddr > plan.rbx &&
                info.memmap_paddr < layout::kLinuxCommandLineAddress);
    }

    void initrdIsModuleZeroHighInLowRam() {
        GuestMemory memory(kRam);
        const auto initrd = boottest::pattern(0x12345, 9);
        const BootPlan plan =
            loadPvh(pvhElf(), optionsFor({}, "/images/initrd.img"), initrd, memory);
        const auto info = memory.readValue<pvh::hvm_start_info>(plan.rbx);
        QCOMPARE(info.nr_modules, 1u);
        const auto module = memory.readValue<pvh::hvm_modlist_entry>(info.modlist_paddr);
        QCOMPARE(module.paddr, (kRam - initrd.size()) & ~uint64_t(0xfff));
        QCOMPARE(module.size, uint64_t(initrd.size()));
        QCOMPARE(module.cmdline_paddr, uint64_t(0));
        std::vector<uint8_t> loaded(initrd.size());
        memory.read(module.paddr, loaded.data(), loaded.size());
        QVERIFY(loaded == initrd);
    }

    void entryStateIsFlat32BitProtectedModeWithEbx() {
        GuestMemory memory(kRam);
        BootPlan plan = loadPvh(pvhElf(), optionsFor(), {}, memory);
        writeCpuTables(plan, memory);
        kvm_regs regs{};
        kvm_sregs sregs{};
        applyBootPlan(plan, regs, sregs);
        QCOMPARE(uint64_t(regs.rip), kEntry);
        QCOMPARE(uint64_t(regs.rbx), uint64_t(0x9000));
        QCOMPARE(uint64_t(regs.rax), uint64_t(0));
        QCOMPARE(uint64_t(regs.rflags & (1u << 9)), uint64_t(0));  // IF clear
        QCOMPARE(uint64_t(sregs.cr0 & 1), uint64_t(1));            // PE
        QCOMPARE(uint64_t(sregs.cr0 & (1ull << 31)), uint64_t(0)); // no paging
        QCOMPARE(uint64_t(sregs.cr4), uint64_t(0));
        QCOMPARE(uint64_t(sregs.efer), uint64_t(0));
        QCOMPARE(sregs.cs.db, uint8_t(1));
        QCOMPARE(sregs.cs.l, uint8_t(0));
        QCOMPARE(uint64_t(sregs.cs.base), uint64_t(0));
        QCOMPARE(sregs.cs.limit, 0xffffffffu);
        for (const kvm_segment* data : {&sregs.ds, &sregs.es, &sregs.ss}) {
            QCOMPARE(uint64_t(data->base), uint64_t(0));
            QCOMPARE(data->limit, 0xffffffffu);
            QCOMPARE(data->db, uint8_t(1));
        }
    }

    void fourByteDescriptorAndElf32AreAccepted() {
        auto notes = note("Xen", kPhys32Entry, bytesOf<uint32_t>(kKernel + 0x40));
        auto elf = boottest::elf32(kKernel, {Segment{kKernel, kKernel, boottest::pattern(0x100, 1)},
                                             Segment{0, 0, notes, 0, PT_NOTE}})
                       .bytes;
        GuestMemory memory(kRam);
        QCOMPARE(loadPvh(elf, optionsFor(), {}, memory).entry, kKernel + 0x40);
    }

    void noteInASectionIsFoundWithoutPtNote() {
        GuestMemory memory(kRam);
        const BootPlan plan = loadPvh(pvhElfWithSectionNotes(), optionsFor(), {}, memory);
        QCOMPARE(plan.entry, kEntry);
        QVERIFY(contains(plan.notes.front(), "SHT_NOTE section 1"));
    }

    void detectionPicksPvhOnlyForTheNote() {
        QCOMPARE(detectFormat(pvhElf()), ImageFormat::Pvh);
        QCOMPARE(detectFormat(pvhElfWithSectionNotes()), ImageFormat::Pvh);
        // Other notes only, a broken note table, or no note at all: a plain ELF.
        QCOMPARE(detectFormat(pvhElf(note("Xen", 6, {'l', 'i', 'n', 'u', 'x', 0}))),
                 ImageFormat::Elf);
        auto truncated = linuxNotes();
        truncated.resize(truncated.size() - 6);
        QCOMPARE(detectFormat(pvhElf(truncated)), ImageFormat::Elf);
        QVERIFY(!hasPvhEntryNote(std::vector<uint8_t>{0x7f, 'E', 'L', 'F'}));
    }

    void missingNoteIsRefusedWhenForced() {
        const std::string error = loadError(pvhElf(note("GNU", 3, {1, 2, 3, 4})));
        QVERIFY2(contains(error, "/images/vmlinux: no XEN_ELFNOTE_PHYS32_ENTRY note") &&
                     contains(error, "CONFIG_PVH"),
                 error.c_str());
    }

    void truncatedNoteIsRefused() {
        auto notes = linuxNotes();
        notes.resize(notes.size() - 4); // the entry's descriptor loses its upper half
        std::string error = loadError(pvhElf(notes));
        QVERIFY2(contains(error, "PT_NOTE program header 1: the note at offset") &&
                     contains(error, "n_namesz 4 and n_descsz 8 run past the end"),
                 error.c_str());
        // Fewer bytes than a note header.
        error = loadError(pvhElf({1, 0, 0, 0, 0, 0, 0, 0}));
        QVERIFY2(contains(error, "truncated: 8 bytes left, a note header needs 12"), error.c_str());
    }

    void badDescriptorsAreRefused() {
        std::string error = loadError(pvhElf(note("Xen", kPhys32Entry, {0x50, 0x08})));
        QVERIFY2(contains(error, "XEN_ELFNOTE_PHYS32_ENTRY note has n_descsz 2, expected 4 or 8"),
                 error.c_str());
        error = loadError(pvhElf(linuxNotes(0x100001000)));
        QVERIFY2(contains(error, "XEN_ELFNOTE_PHYS32_ENTRY 0x100001000 is above 4 GiB"),
                 error.c_str());
    }

    void entryOutsideTheKernelIsRefused() {
        // In RAM but in no segment, beyond RAM, and in the bss (not file-backed).
        for (const uint64_t entry :
             {uint64_t(0x200000), uint64_t(0xd0000000), kKernel + kTextSize + 0x10}) {
            const std::string error = loadError(pvhElf(linuxNotes(entry)));
            QVERIFY2(contains(error, fmt::format("XEN_ELFNOTE_PHYS32_ENTRY {:#x} is not inside the "
                                                 "file-backed part of any PT_LOAD segment",
                                                 entry)) &&
                         contains(error, "PT_NOTE program header 1") &&
                         contains(error, "[0x1000000, 0x1002000)"),
                     error.c_str());
        }
    }

    void segmentInTheHoleOrBeyondRamIsRefused() {
        const uint64_t nearHole = GuestMemory::kMmioHoleStart - 0x1000;
        std::string error =
            loadError(pvhElf(linuxNotes(nearHole + 0x10), nearHole), optionsFor(), {}, 8 * kGiB);
        QVERIFY2(contains(error, "program header 0 (p_paddr 0xbffff000, p_memsz 0x5000): "
                                 "[0xbffff000, 0xc0004000) overlaps the 32-bit MMIO hole "
                                 "[0xc0000000, 0x100000000)"),
                 error.c_str());
        error = loadError(pvhElf(linuxNotes(), 0x100000000), optionsFor(), {}, 8 * kGiB);
        QVERIFY2(contains(error, "program header 0 (p_paddr 0x100000000, p_memsz 0x5000) ends "
                                 "above 4 GiB"),
                 error.c_str());
        error = loadError(pvhElf(linuxNotes(0x8000010), 0x8000000));
        QVERIFY2(contains(error, "program header 0 (p_paddr 0x8000000, p_memsz 0x5000): "
                                 "[0x8000000, 0x8005000) is outside guest RAM"),
                 error.c_str());
    }

    void moduleTooBigIsRefused() {
        const std::vector<uint8_t> initrd(kRam - kKernel, 1);
        const std::string error = loadError(pvhElf(), optionsFor({}, "/images/big.img"), initrd);
        QVERIFY2(contains(error, "/images/big.img: module 0 (the initrd) is 0x3000000 bytes, but "
                                 "only 0x2ffb000 bytes are free between the kernel's end "
                                 "0x1005000 and the end of RAM below 4 GiB 0x4000000"),
                 error.c_str());
    }

    void commandLineTooLongIsRefused() {
        const std::string error = loadError(pvhElf(), optionsFor(std::string(0x6000, 'x')));
        QVERIFY2(contains(error, "the command line is 24576 bytes, longer than 24575"),
                 error.c_str());
        GuestMemory memory(kRam);
        QVERIFY(contains(boottest::errorOf<InputError>([&] {
                             loadPvh(pvhElf(), optionsFor(std::string("a\0b", 3)), {}, memory);
                         }),
                         "NUL"));
    }

    void neitherElfNorBzImageIsRefused() {
        const std::string error = loadError(boottest::pattern(0x1000, 1));
        QVERIFY2(contains(error, "neither an ELF vmlinux"), error.c_str());
    }

    void loadImageDetectsAndLoadsAPvhFile() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = dir.filePath("vmlinux").toStdString();
        const auto bytes = pvhElf();
        std::ofstream(path, std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
        BootOptions options;
        options.imagePath = path;
        options.commandLine = "quiet";
        GuestMemory memory(kRam);
        const BootPlan plan = loadImage(options, memory);
        QCOMPARE(plan.format, ImageFormat::Pvh);
        QVERIFY(contains(plan.notes.front(), "detected format pvh"));
        const auto info = memory.readValue<pvh::hvm_start_info>(plan.rbx);
        QCOMPARE(guestString(memory, info.cmdline_paddr), std::string("quiet"));
    }

    void formatNameRoundTrips() {
        ImageFormat format = ImageFormat::Auto;
        QVERIFY(parseImageFormat("pvh", format));
        QCOMPARE(format, ImageFormat::Pvh);
        QCOMPARE(std::string(toString(ImageFormat::Pvh)), std::string("pvh"));
    }
};

QTEST_APPLESS_MAIN(PvhLoaderTest)
#include "PvhLoaderTest.moc"
