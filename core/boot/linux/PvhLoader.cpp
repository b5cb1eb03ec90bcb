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

uint64_t alignUp(uint64_t value, uint64_t alignment) {
    return (value + alignment - 1) & ~(alignment - 1);
}
uint64_t alignDown(uint64_t value, uint64_t alignment) {
    return value & ~(alignment - 1);
}

// The XEN_ELFNOTE_PHYS32_ENTRY note among `area`'s notes, its entry checked (pvh.pandoc: a
// 32-bit physical address; Xen's public/elfnote.h lets the value be 4 or 8 bytes, and Linux's
// _ASM_PTR makes it 8 in a 64-bit kernel). Stops at the note: what follows is not read.
std::optional<PvhEntryNote> searchArea(const ElfNoteArea& area, const std::string& path) {
    ElfNotes notes(area, path);
    while (const std::optional<ElfNote> note = notes.next()) {
        if (!note->isNamed(pvh::kXenNoteName) || note->type != pvh::kXenElfNotePhys32Entry)
            continue;
        uint64_t entry = 0;
        if (note->descriptor.size() == 4 || note->descriptor.size() == 8)
            std::memcpy(&entry, note->descriptor.data(), note->descriptor.size()); // little-endian
        else
            throw LoadError(path, fmt::format("{}: the XEN_ELFNOTE_PHYS32_ENTRY note has "
                                              "n_descsz {}, expected 4 or 8",
                                              area.where, note->descriptor.size()));
        if (entry >= layout::kFourGib)
            throw LoadError(path, fmt::format("{}: XEN_ELFNOTE_PHYS32_ENTRY {:#x} is above "
                                              "4 GiB: the PVH entry is a 32-bit address",
                                              area.where, entry));
        return PvhEntryNote{entry, area.where};
    }
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

std::optional<PvhEntryNote> findPvhEntryNote(const ElfFile& elf) {
    // Program headers first: they are what a loader is meant to read, and a stripped image may
    // have no section headers. Sections are the fallback for images whose notes are not in a
    // PT_NOTE segment; they are not even looked at when a segment has the note.
    for (const ElfNoteArea& area : elf.noteSegments())
        if (auto note = searchArea(area, elf.path()))
            return note;
    for (const ElfNoteArea& area : elf.noteSections())
        if (auto note = searchArea(area, elf.path()))
            return note;
    return std::nullopt;
}

std::optional<PvhEntryNote> findPvhEntryNote(std::span<const uint8_t> elf,
                                             const std::string& path) {
    return findPvhEntryNote(ElfFile(elf, path));
}

bool hasPvhEntryNote(std::span<const uint8_t> image) {
    if (!hasElfMagic(image))
        return false;
    try {
        const ElfFile elf(image, {});
        parseElf(elf);
        return findPvhEntryNote(elf).has_value();
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
    const ElfFile elfFile(elfBytes, elfName);
    const ElfImage elf = parseElf(elfFile);
    const std::optional<PvhEntryNote> note = findPvhEntryNote(elfFile);
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
