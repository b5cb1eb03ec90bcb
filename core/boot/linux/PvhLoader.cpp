#include "boot/linux/PvhLoader.h"

#include "boot/ElfImage.h"
#include "boot/GuestCopy.h"
#include "boot/GuestLayout.h"
#include "boot/ImagePlacement.h"
#include "boot/acpi/AcpiTables.h"
#include "boot/linux/BzImagePayload.h"
#include "boot/linux/E820.h"
#include "boot/linux/LinuxLoader.h"

#include <algorithm>
#include <cstring>
#include <elf.h>
#include <fmt/format.h>

namespace kvmscope::boot {
namespace {

// The start info, the memory map and the module list share the page the Linux zero page uses
// on a bzImage boot; the command line goes where the bzImage command line goes. All of it lies
// below 4 GiB, as the 32-bit entry (EBX) and Linux's 32-bit cmd_line_ptr / ramdisk_image need.
constexpr uint64_t kStartInfoAddress = layout::kLinuxZeroPageAddress;
constexpr uint64_t kStartInfoAreaEnd = layout::kLinuxCommandLineAddress;
constexpr uint64_t kCommandLineAddress = layout::kLinuxCommandLineAddress;
constexpr uint64_t kCommandLineRoom = layout::kLinuxCommandLineEnd - kCommandLineAddress - 1;
constexpr uint64_t kPageSize = 0x1000;
// gABI "Note Section": a 12-byte header (n_namesz, n_descsz, n_type), then the name and the
// descriptor, each padded to the note alignment (4 bytes in practice, 8 where the segment or
// section says so).
constexpr uint64_t kNoteHeaderSize = 12;

uint64_t alignUp(uint64_t value, uint64_t alignment) {
    return (value + alignment - 1) & ~(alignment - 1);
}
uint64_t alignDown(uint64_t value, uint64_t alignment) {
    return value & ~(alignment - 1);
}

template <typename T> T readAt(std::span<const uint8_t> bytes, uint64_t offset) {
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof value); // bounds checked by the callers
    return value;
}

// A run of notes in the file: a PT_NOTE segment's or an SHT_NOTE section's bytes.
struct NoteArea {
    uint64_t offset = 0;
    uint64_t size = 0;
    uint64_t alignment = 4;
    std::string where;
};

// The notes' file ranges, from the program headers (sections == false) or the section headers.
template <typename Ehdr, typename Phdr, typename Shdr>
std::vector<NoteArea> noteAreas(std::span<const uint8_t> file, const std::string& path,
                                bool sections) {
    const auto header = readAt<Ehdr>(file, 0); // parseElf has checked the header's size
    std::vector<NoteArea> areas;
    auto add = [&](uint64_t offset, uint64_t size, uint64_t align, std::string where) {
        if (offset > file.size() || size > file.size() - offset)
            throw LoadError(path, fmt::format("{}: offset {:#x} + size {:#x} extends beyond the "
                                              "end of the file ({:#x} bytes)",
                                              where, offset, size, file.size()));
        areas.push_back({offset, size, align == 8 ? uint64_t{8} : uint64_t{4}, std::move(where)});
    };
    if (!sections) {
        // parseElf has checked e_phoff, e_phnum and e_phentsize against the file.
        for (unsigned index = 0; index < header.e_phnum; ++index) {
            const auto program =
                readAt<Phdr>(file, header.e_phoff + uint64_t{index} * sizeof(Phdr));
            if (program.p_type == PT_NOTE)
                add(program.p_offset, program.p_filesz, program.p_align,
                    fmt::format("PT_NOTE program header {}", index));
        }
        return areas;
    }
    if (header.e_shoff == 0 || header.e_shnum == 0)
        return areas; // no section header table: nothing to look at
    if (header.e_shentsize != sizeof(Shdr))
        throw LoadError(
            path, fmt::format("e_shentsize is {}, expected {}", header.e_shentsize, sizeof(Shdr)));
    const uint64_t tableSize = uint64_t{header.e_shnum} * sizeof(Shdr);
    if (header.e_shoff > file.size() || tableSize > file.size() - header.e_shoff)
        throw LoadError(path, fmt::format("the section header table (e_shoff {:#x}, e_shnum {}) "
                                          "extends beyond the end of the file ({:#x} bytes)",
                                          uint64_t{header.e_shoff}, header.e_shnum, file.size()));
    for (unsigned index = 0; index < header.e_shnum; ++index) {
        const auto section = readAt<Shdr>(file, header.e_shoff + uint64_t{index} * sizeof(Shdr));
        if (section.sh_type == SHT_NOTE)
            add(section.sh_offset, section.sh_size, section.sh_addralign,
                fmt::format("SHT_NOTE section {}", index));
    }
    return areas;
}

std::optional<PvhEntryNote> searchArea(std::span<const uint8_t> file, const NoteArea& area,
                                       const std::string& path) {
    const std::span<const uint8_t> bytes = file.subspan(area.offset, area.size);
    uint64_t position = 0;
    while (position < bytes.size()) {
        if (bytes.size() - position < kNoteHeaderSize)
            throw LoadError(path, fmt::format("{}: the note at offset {:#x} in it is truncated: "
                                              "{} bytes left, a note header needs {}",
                                              area.where, position, bytes.size() - position,
                                              kNoteHeaderSize));
        const uint64_t nameSize = readAt<uint32_t>(bytes, position);
        const uint64_t descriptorSize = readAt<uint32_t>(bytes, position + 4);
        const uint32_t type = readAt<uint32_t>(bytes, position + 8);
        const uint64_t name = position + kNoteHeaderSize;
        const uint64_t descriptor = name + alignUp(nameSize, area.alignment);
        if (descriptor > bytes.size() || descriptorSize > bytes.size() - descriptor)
            throw LoadError(path, fmt::format("{}: the note at offset {:#x} in it is truncated: "
                                              "n_namesz {} and n_descsz {} run past the end of "
                                              "its {:#x} bytes",
                                              area.where, position, nameSize, descriptorSize,
                                              bytes.size()));
        const bool isXen = nameSize == sizeof pvh::kXenNoteName &&
                           std::memcmp(bytes.data() + name, pvh::kXenNoteName, nameSize) == 0;
        if (isXen && type == pvh::kXenElfNotePhys32Entry) {
            uint64_t entry = 0;
            if (descriptorSize == 4)
                entry = readAt<uint32_t>(bytes, descriptor);
            else if (descriptorSize == 8)
                entry = readAt<uint64_t>(bytes, descriptor);
            else
                throw LoadError(path, fmt::format("{}: the XEN_ELFNOTE_PHYS32_ENTRY note has "
                                                  "n_descsz {}, expected 4 or 8",
                                                  area.where, descriptorSize));
            if (entry >= layout::kFourGib)
                throw LoadError(path, fmt::format("{}: XEN_ELFNOTE_PHYS32_ENTRY {:#x} is above "
                                                  "4 GiB: the PVH entry is a 32-bit address",
                                                  area.where, entry));
            return PvhEntryNote{entry, area.where};
        }
        position = descriptor + alignUp(descriptorSize, area.alignment);
    }
    return std::nullopt;
}

template <typename Ehdr, typename Phdr, typename Shdr>
std::optional<PvhEntryNote> findNote(std::span<const uint8_t> file, const std::string& path) {
    // Program headers first: they are what a loader is meant to read, and a stripped image may
    // have no section headers. Sections are the fallback for images whose notes are not in a
    // PT_NOTE segment.
    for (const bool sections : {false, true})
        for (const NoteArea& area : noteAreas<Ehdr, Phdr, Shdr>(file, path, sections))
            if (auto note = searchArea(file, area, path))
                return note;
    return std::nullopt;
}

std::string describeSegments(const ElfImage& elf) {
    std::string text;
    for (const ElfSegment& segment : elf.segments)
        text += fmt::format("{}[{:#x}, {:#x})", text.empty() ? "" : ", ", segment.physicalAddress,
                            segment.physicalAddress + segment.fileSize);
    return text;
}

// PVH starts with paging off in 32-bit mode, so every segment must lie below 4 GiB, and none
// may reach into the MMIO hole, where there is no RAM whatever the machine's size.
void checkSegmentsBelowTheHole(const ElfImage& elf, const std::string& path) {
    for (const ElfSegment& segment : elf.segments) {
        const uint64_t end = segment.physicalAddress + segment.memorySize;
        if (rangesOverlap(segment.physicalAddress, segment.memorySize, GuestMemory::kMmioHoleStart,
                          GuestMemory::kMmioHoleEnd - GuestMemory::kMmioHoleStart))
            throw LoadError(path,
                            fmt::format("program header {} (p_paddr {:#x}, p_memsz {:#x}): "
                                        "[{:#x}, {:#x}) overlaps the 32-bit MMIO hole "
                                        "[{:#x}, {:#x})",
                                        segment.index, segment.physicalAddress, segment.memorySize,
                                        segment.physicalAddress, end, GuestMemory::kMmioHoleStart,
                                        GuestMemory::kMmioHoleEnd));
        if (end > layout::kFourGib)
            throw LoadError(path, fmt::format("program header {} (p_paddr {:#x}, p_memsz {:#x}) "
                                              "ends above 4 GiB: a PVH kernel starts in 32-bit "
                                              "mode with paging off",
                                              segment.index, segment.physicalAddress,
                                              segment.memorySize));
    }
}

// The entry must be an instruction the kernel's file provides.
void checkEntry(const ElfImage& elf, const PvhEntryNote& note, const std::string& path) {
    for (const ElfSegment& segment : elf.segments)
        if (note.entry >= segment.physicalAddress &&
            note.entry - segment.physicalAddress < segment.fileSize)
            return;
    throw LoadError(path, fmt::format("{}: XEN_ELFNOTE_PHYS32_ENTRY {:#x} is not inside the "
                                      "file-backed part of any PT_LOAD segment (physical {})",
                                      note.where, note.entry, describeSegments(elf)));
}

// Appends to the start info page, 8-byte aligned.
class StartInfoArea {
public:
    StartInfoArea(GuestMemory& memory, const std::string& path) : memory_(memory), path_(path) {}

    uint64_t add(const void* data, uint64_t size, const char* what) {
        next_ = alignUp(next_, 8);
        if (size > kStartInfoAreaEnd - next_)
            throw LoadError(path_, fmt::format("the PVH start info does not fit in [{:#x}, {:#x}): "
                                               "no room for {} ({} bytes)",
                                               kStartInfoAddress, kStartInfoAreaEnd, what, size));
        const uint64_t address = next_;
        memory_.write(address, data, size);
        next_ += size;
        return address;
    }

private:
    GuestMemory& memory_;
    const std::string& path_;
    uint64_t next_ = kStartInfoAddress;
};

} // namespace

std::optional<PvhEntryNote> findPvhEntryNote(std::span<const uint8_t> elf,
                                             const std::string& path) {
    if (elf.size() > EI_CLASS && elf[EI_CLASS] == ELFCLASS64)
        return findNote<Elf64_Ehdr, Elf64_Phdr, Elf64_Shdr>(elf, path);
    return findNote<Elf32_Ehdr, Elf32_Phdr, Elf32_Shdr>(elf, path);
}

bool hasPvhEntryNote(std::span<const uint8_t> image) {
    if (!hasElfMagic(image))
        return false;
    try {
        parseElf(image, {});
        return findPvhEntryNote(image, {}).has_value();
    } catch (const LoadError&) {
        return false; // a broken ELF is the ELF loader's to report
    }
}

std::vector<pvh::hvm_memmap_table_entry> buildPvhMemoryMap(const GuestMemory& memory) {
    std::vector<pvh::hvm_memmap_table_entry> map;
    for (const boot_e820_entry& entry : buildE820Map(memory).entries)
        map.push_back({entry.addr, entry.size, entry.type, 0});
    return map;
}

namespace {

// loadPvh, or nullopt without touching `memory` when `onlyIfPvh` and the image (or a bzImage's
// payload) is no ELF with the PVH note, or a payload kvmscope cannot decompress.
std::optional<BootPlan> loadPvhImpl(std::span<const uint8_t> image, const BootOptions& options,
                                    std::span<const uint8_t> initrd, GuestMemory& memory,
                                    bool onlyIfPvh) {
    const std::string& path = options.imagePath;
    const std::string& commandLine = options.commandLine;
    if (commandLine.find('\0') != std::string::npos)
        throw InputError("the kernel command line contains a NUL byte");

    BootPlan plan;
    plan.format = ImageFormat::Pvh;
    plan.mode = CpuMode::Protected32;

    // A bzImage carries the ELF compressed in its payload; its setup header also says how long
    // a command line the kernel takes. A bare vmlinux does not say; the room here limits it.
    DecompressedBzImage payload;
    std::span<const uint8_t> elfBytes = image;
    std::string elfName = path;
    uint64_t commandLineLimit = kCommandLineRoom;
    if (hasLinuxBootMagic(image)) {
        try {
            payload = decompressBzImagePayload(image, path);
        } catch (const LoadError&) {
            if (onlyIfPvh)
                return std::nullopt; // the boot protocol runs the kernel's own decompressor
            throw;
        }
        elfBytes = payload.vmlinux.bytes();
        elfName = path + " (vmlinux from the bzImage payload)";
        commandLineLimit = std::min<uint64_t>(commandLineLimit, payload.commandLineSize);
        plan.notes.push_back(fmt::format("{}: bzImage, boot protocol {}: {} payload of {:#x} bytes "
                                         "at file offset {:#x} decompressed to a {:#x}-byte "
                                         "vmlinux",
                                         path, linuxProtocolVersion(payload.protocol),
                                         toString(payload.compression), payload.compressedSize,
                                         payload.fileOffset, payload.vmlinux.size()));
    } else if (!hasElfMagic(image)) {
        if (onlyIfPvh)
            return std::nullopt;
        throw LoadError(path, "neither an ELF vmlinux (\\x7fELF) nor a bzImage (\"HdrS\" at "
                              "0x202): a PVH kernel is one of the two");
    }

    if (onlyIfPvh && !hasPvhEntryNote(elfBytes))
        return std::nullopt;
    const ElfImage elf = parseElf(elfBytes, elfName);
    const std::optional<PvhEntryNote> note = findPvhEntryNote(elfBytes, elfName);
    if (!note)
        throw LoadError(elfName, "no XEN_ELFNOTE_PHYS32_ENTRY note (name \"Xen\", type 18) in any "
                                 "PT_NOTE segment or SHT_NOTE section: the kernel has no PVH "
                                 "entry (Linux: CONFIG_PVH)");
    checkSegmentsBelowTheHole(elf, elfName);
    checkEntry(elf, *note, elfName);
    // A decompressed vmlinux is moved out of its scratch pages chunk by chunk, so it is never
    // held twice (docs/benchmarks.md, RSS); elfBytes is not read after this.
    const LoadedRange loaded =
        payload.vmlinux.size()
            ? moveVmlinuxSegments(elf, payload.vmlinux, elfName, memory,
                                  {layout::kBootStackRange, layout::kLinuxBootDataRange})
            : loadElfSegments(elf, elfBytes, elfName, memory,
                              {layout::kBootStackRange, layout::kLinuxBootDataRange});
    plan.notes.push_back(fmt::format("PVH kernel: ELF{}, {} segment(s) in [{:#x}, {:#x}), "
                                     "XEN_ELFNOTE_PHYS32_ENTRY {:#x} ({})",
                                     elf.is64 ? 64 : 32, elf.segments.size(), loaded.start,
                                     loaded.end, note->entry, note->where));

    // The command line, NUL-terminated.
    if (commandLine.size() > commandLineLimit)
        throw LoadError(path, fmt::format("the command line is {} bytes, longer than {} ({})",
                                          commandLine.size(), commandLineLimit,
                                          commandLineLimit == kCommandLineRoom
                                              ? fmt::format("the room kvmscope has at {:#x}",
                                                            kCommandLineAddress)
                                              : std::string("the bzImage's setup header "
                                                            "cmdline_size")));
    memory.write(kCommandLineAddress, commandLine.c_str(), commandLine.size() + 1);

    // Module 0, the initrd: page-aligned, as high as RAM below the MMIO hole allows and above
    // the kernel (Linux takes the first module as its initrd, ramdisk_image being 32 bits).
    std::vector<pvh::hvm_modlist_entry> modules;
    if (!options.initrdPath.empty()) {
        const std::string& initrdPath = options.initrdPath;
        const uint64_t top = memory.lowRamEnd();
        const uint64_t bottom = alignUp(loaded.end, kPageSize);
        if (initrd.empty())
            throw LoadError(initrdPath, "the initrd is empty");
        if (top < bottom || initrd.size() > top - bottom)
            throw LoadError(initrdPath,
                            fmt::format("module 0 (the initrd) is {:#x} bytes, but only {:#x} "
                                        "bytes are free between the kernel's end {:#x} and the "
                                        "end of RAM below 4 GiB {:#x}",
                                        initrd.size(), top < bottom ? 0 : top - bottom, bottom,
                                        top));
        const uint64_t start = alignDown(top - initrd.size(), kPageSize);
        checkImagePlacement(initrdPath, fmt::format("module 0 ({:#x} bytes)", initrd.size()), start,
                            initrd.size(), memory,
                            {layout::kBootStackRange, layout::kLinuxBootDataRange});
        copyIntoGuest(memory, start, initrd);
        modules.push_back({start, initrd.size(), 0, 0});
        plan.notes.push_back(fmt::format("PVH module 0: {} ({:#x} bytes) at [{:#x}, {:#x})",
                                         initrdPath, initrd.size(), start, start + initrd.size()));
    }

    // The start info first (EBX points at it), then what its fields point at.
    StartInfoArea area(memory, path);
    pvh::hvm_start_info info{};
    const uint64_t infoAddress = area.add(&info, sizeof info, "hvm_start_info");
    info.magic = pvh::kStartInfoMagic;
    info.version = pvh::kStartInfoVersion;
    info.cmdline_paddr = kCommandLineAddress;
    // writeAcpiTables (Machine::boot) puts the RSDP at the start of the ACPI area.
    info.rsdp_paddr = kAcpiAreaStart;
    const auto map = buildPvhMemoryMap(memory);
    info.memmap_paddr = area.add(map.data(), map.size() * sizeof map.front(), "the memory map");
    info.memmap_entries = static_cast<uint32_t>(map.size());
    if (!modules.empty()) {
        info.modlist_paddr =
            area.add(modules.data(), modules.size() * sizeof modules.front(), "the module list");
        info.nr_modules = static_cast<uint32_t>(modules.size());
    }
    memory.writeValue(infoAddress, info);

    // pvh.pandoc, "x86/HVM and x86/PVH": 32-bit protected mode, paging off, flat CS and
    // DS/ES/SS, EBX = the start info, EFLAGS.IF clear; X86Setup's Protected32 state is that.
    plan.entry = note->entry;
    plan.rbx = infoAddress;
    plan.stack = layout::kBootStackTop; // unspecified by the ABI; Linux sets its own
    plan.imageStart = loaded.start;
    plan.imageEnd = loaded.end;
    plan.notes.push_back(fmt::format("PVH start info at {:#x} ({} memory map entries, {} "
                                     "module(s), RSDP {:#x}), command line at {:#x}: \"{}\"; "
                                     "entry {:#x} in 32-bit protected mode with EBX {:#x}",
                                     infoAddress, map.size(), modules.size(), info.rsdp_paddr,
                                     kCommandLineAddress, commandLine, plan.entry, plan.rbx));
    return plan;
}

} // namespace

BootPlan loadPvh(std::span<const uint8_t> image, const BootOptions& options,
                 std::span<const uint8_t> initrd, GuestMemory& memory) {
    return *loadPvhImpl(image, options, initrd, memory, false);
}

std::optional<BootPlan> loadPvhIfItHasEntry(std::span<const uint8_t> image,
                                            const BootOptions& options,
                                            std::span<const uint8_t> initrd, GuestMemory& memory) {
    return loadPvhImpl(image, options, initrd, memory, true);
}

} // namespace kvmscope::boot
