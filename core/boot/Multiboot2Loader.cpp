#include "boot/Multiboot2Loader.h"

#include "boot/ElfImage.h"
#include "boot/GuestCopy.h"
#include "boot/GuestLayout.h"
#include "boot/ImagePlacement.h"
#include "boot/Multiboot2.h"
#include "boot/Multiboot2Header.h"
#include "boot/acpi/AcpiTables.h"
#include "boot/linux/E820.h"
#include "devices/BochsDispi.h"
#include "devices/Framebuffer.h"

#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <string>
#include <vector>

namespace kvmscope::boot {
namespace {

constexpr uint64_t kModuleAlignment = 0x1000; // always page-aligned, as the module tag asks
constexpr char kBootLoaderName[] = "kvmscope";

struct LoadedKernel {
    uint64_t start = 0, end = 0, entry = 0;
    std::string how;
};

// 3.1.5: the address tag says where the file's bytes go, independent of the file format.
LoadedKernel loadWithAddressTag(std::span<const uint8_t> image, const Multiboot2Header& header,
                                const std::string& path, GuestMemory& memory) {
    const multiboot2::AddressTagFields& fields = *header.address;
    // All fields are 32-bit; the arithmetic below is 64-bit and cannot overflow.
    const uint64_t headerAddress = fields.header_addr;
    // load_addr -1: the file is loaded from its first byte, which header_addr then places.
    if (fields.load_addr == multiboot2::kLoadFromFileStart && headerAddress < header.offset)
        throw LoadError(path, fmt::format("multiboot2 address tag: load_addr -1 loads the file "
                                          "from its start, but header_addr {:#x} is below the "
                                          "header's file offset {:#x}",
                                          headerAddress, header.offset));
    const uint64_t loadAddress = fields.load_addr == multiboot2::kLoadFromFileStart
                                     ? headerAddress - header.offset
                                     : fields.load_addr;
    if (loadAddress > headerAddress)
        throw LoadError(path, fmt::format("multiboot2 address tag: load_addr {:#x} is above "
                                          "header_addr {:#x}",
                                          loadAddress, headerAddress));
    if (headerAddress - loadAddress > header.offset)
        throw LoadError(path, fmt::format("multiboot2 address tag: header_addr {:#x} - load_addr "
                                          "{:#x} = {:#x} exceeds the header's file offset {:#x}: "
                                          "the load would start before the file",
                                          headerAddress, loadAddress, headerAddress - loadAddress,
                                          header.offset));
    const uint64_t fileOffset = header.offset - (headerAddress - loadAddress);
    const uint64_t available = image.size() - fileOffset;
    const auto [loadSize, end] =
        addressFieldsExtent(path, "multiboot2 address tag:", loadAddress, fields.load_end_addr,
                            fields.bss_end_addr, fileOffset, available);
    const uint64_t loadEnd = loadAddress + loadSize;
    checkImagePlacement(path,
                        fmt::format("the multiboot2 image (load_addr {:#x}, load_end_addr {:#x}, "
                                    "bss_end_addr {:#x})",
                                    fields.load_addr, fields.load_end_addr, fields.bss_end_addr),
                        loadAddress, end - loadAddress, memory,
                        {layout::kBootStackRange, layout::kMultibootInfoRange});
    copyIntoGuest(memory, loadAddress, image.subspan(fileOffset, loadSize));
    memory.fill(loadEnd, 0, end - loadEnd);
    return {loadAddress, end, *header.entryAddress,
            fmt::format("the address tag (file offset {:#x})", fileOffset)};
}

// Without the address tag the image must be ELF (ELF32 or ELF64: both are entered in 32-bit
// protected mode) and is loaded by its program headers, as GRUB loads it.
LoadedKernel loadElf(std::span<const uint8_t> image, const Multiboot2Header& header,
                     const std::string& path, GuestMemory& memory) {
    if (!hasElfMagic(image))
        throw LoadError(path, "the multiboot2 header has no address tag and the image is not ELF: "
                              "there is no way to tell where it goes");
    const ElfImage elf = parseElf(image, path);
    // The entry address tag, when present, overrides e_entry (3.1.6).
    const uint64_t entry = header.entryAddress ? *header.entryAddress : physicalEntry(elf, path);
    const LoadedRange loaded = loadElfSegments(
        elf, image, path, memory, {layout::kBootStackRange, layout::kMultibootInfoRange});
    return {loaded.start, loaded.end, entry,
            fmt::format("ELF{}, {} segment(s)", elf.is64 ? 64 : 32, elf.segments.size())};
}

// The console the kernel gets (3.1.8, 3.1.9, 3.6.12): the linear framebuffer when it asks for one
// and the machine has one that can show the mode, else EGA text. None when the kernel cannot use
// EGA text and no framebuffer is set (it then gets no framebuffer tag).
struct Console {
    std::optional<BootFramebuffer> linear;
    bool egaText = false;
};

Console chooseConsole(const Multiboot2Header& header, const BootOptions& options,
                      const std::string& path, BootPlan& plan) {
    Console console;
    if (header.framebuffer) {
        const multiboot2::FramebufferTagFields& wanted = *header.framebuffer;
        if (!options.framebuffer) {
            plan.notes.push_back("multiboot2: the kernel asks for a framebuffer, but this machine "
                                 "has none (--no-framebuffer): EGA text mode instead");
        } else {
            // 0 in a field: no preference, so the machine's configured mode's value.
            const BootFramebuffer& machine = *options.framebuffer;
            BootFramebuffer mode = machine;
            mode.width = wanted.width ? wanted.width : machine.width;
            mode.height = wanted.height ? wanted.height : machine.height;
            mode.bitsPerPixel = wanted.depth ? wanted.depth : machine.bitsPerPixel;
            const bool depthOk = isSupportedDepth(mode.bitsPerPixel);
            if (depthOk)
                mode.stride = mode.width * bytesPerPixel(mode.bitsPerPixel);
            if (depthOk && mode.width >= 1 && mode.width <= BochsDispi::kMaxXres &&
                mode.height >= 1 && mode.height <= BochsDispi::kMaxYres &&
                uint64_t(mode.stride) * mode.height <= mode.memorySize) {
                console.linear = mode;
            } else {
                plan.notes.push_back(fmt::format(
                    "multiboot2: the kernel asks for a {}x{}x{} framebuffer, which the dispi "
                    "cannot show (at most {}x{} at 15, 16, 24 or 32 bpp in {:#x} bytes): EGA "
                    "text mode instead",
                    mode.width, mode.height, mode.bitsPerPixel, BochsDispi::kMaxXres,
                    BochsDispi::kMaxYres, mode.memorySize));
            }
        }
    }
    if (console.linear)
        return console;
    const bool egaAccepted =
        !header.consoleFlags || (*header.consoleFlags & multiboot2::kConsoleEgaTextSupported);
    if (egaAccepted) {
        console.egaText = true;
        return console;
    }
    if (*header.consoleFlags & multiboot2::kConsoleRequired)
        throw LoadError(path, fmt::format("multiboot2 console flags tag: console_flags {:#x} "
                                          "require a console, do not accept EGA text (bit 1), and "
                                          "kvmscope has no linear framebuffer to offer{}",
                                          *header.consoleFlags,
                                          header.framebuffer ? " in the mode asked for"
                                                             : " without a framebuffer tag"));
    plan.notes.push_back("multiboot2: the kernel does not accept EGA text and gets no "
                         "framebuffer: no framebuffer information tag");
    return console;
}

// 3.1.12: kvmscope does not move an image; a relocatable one is loaded at its own addresses,
// which must then satisfy the tag.
void checkRelocatable(const Multiboot2Header& header, const LoadedKernel& kernel,
                      const std::string& path, BootPlan& plan) {
    const multiboot2::RelocatableTagFields& tag = *header.relocatable;
    const bool aligned = tag.align <= 1 || kernel.start % tag.align == 0;
    if (kernel.start < tag.min_addr || kernel.end > uint64_t(tag.max_addr) + 1 || !aligned)
        throw LoadError(path, fmt::format("multiboot2 relocatable tag: min_addr {:#x}, max_addr "
                                          "{:#x}, align {:#x}: the image's own addresses [{:#x}, "
                                          "{:#x}) do not satisfy them, and kvmscope does not "
                                          "relocate images",
                                          tag.min_addr, tag.max_addr, tag.align, kernel.start,
                                          kernel.end));
    plan.notes.push_back(fmt::format("multiboot2: relocatable image loaded at its own address "
                                     "{:#x} (min_addr {:#x}, max_addr {:#x}, align {:#x})",
                                     kernel.start, tag.min_addr, tag.max_addr, tag.align));
}

// Builds the information structure (3.6) on the host, tag by tag, each on an 8-byte boundary.
class InfoBuilder {
public:
    InfoBuilder() { bytes_.resize(sizeof(multiboot2::InfoFixedPart)); }

    // Appends a tag of `type` whose fields after the 8-byte header are `body`.
    void add(uint32_t type, const void* body, size_t bodySize) {
        const multiboot2::Tag tag{type, static_cast<uint32_t>(sizeof(multiboot2::Tag) + bodySize)};
        append(&tag, sizeof tag);
        append(body, bodySize);
        bytes_.resize((bytes_.size() + multiboot2::kTagAlignment - 1) &
                      ~(multiboot2::kTagAlignment - 1));
    }
    // A tag whose fields are `fields` (a struct starting with its multiboot2::Tag) followed by
    // `trailing` bytes; the header's type and size are filled in here.
    template <typename Fields>
    void addWith(uint32_t type, Fields fields, const void* trailing, size_t trailingSize) {
        fields.tag = {type, static_cast<uint32_t>(sizeof fields + trailingSize)};
        append(&fields, sizeof fields);
        append(trailing, trailingSize);
        bytes_.resize((bytes_.size() + multiboot2::kTagAlignment - 1) &
                      ~(multiboot2::kTagAlignment - 1));
    }
    void addString(uint32_t type, const std::string& text) {
        add(type, text.c_str(), text.size() + 1);
    }
    // Ends the list and fills in total_size.
    const std::vector<uint8_t>& finish() {
        add(multiboot2::kTagEnd, nullptr, 0);
        const multiboot2::InfoFixedPart fixed{static_cast<uint32_t>(bytes_.size()), 0};
        std::memcpy(bytes_.data(), &fixed, sizeof fixed);
        return bytes_;
    }

private:
    void append(const void* data, size_t size) {
        const auto* bytes = static_cast<const uint8_t*>(data);
        bytes_.insert(bytes_.end(), bytes, bytes + size);
    }
    std::vector<uint8_t> bytes_;
};

} // namespace

BootPlan loadMultiboot2(std::span<const uint8_t> image, const BootOptions& options,
                        std::span<const uint8_t> initrd, GuestMemory& memory) {
    const std::string& path = options.imagePath;
    BootPlan plan;
    plan.format = ImageFormat::Multiboot2;
    plan.mode = CpuMode::Protected32;

    const Multiboot2Header header = readMultiboot2Header(image, path);
    for (const std::string& skipped : header.skipped)
        plan.notes.push_back(skipped);
    if (options.commandLine.find('\0') != std::string::npos)
        throw InputError("the kernel command line contains a NUL byte");

    const LoadedKernel kernel = header.address ? loadWithAddressTag(image, header, path, memory)
                                               : loadElf(image, header, path, memory);
    // Paging is off at entry and the boot information's addresses are 32-bit.
    if (kernel.end > layout::kFourGib)
        throw LoadError(path, fmt::format("the multiboot2 kernel ends at {:#x}, above 4 GiB, "
                                          "which a 32-bit kernel entered with paging off cannot "
                                          "reach",
                                          kernel.end));
    if (kernel.entry < kernel.start || kernel.entry >= kernel.end)
        throw LoadError(path,
                        fmt::format("multiboot2 entry {:#x}{} is outside the loaded image "
                                    "[{:#x}, {:#x})",
                                    kernel.entry, header.entryAddress ? " (entry address tag)" : "",
                                    kernel.start, kernel.end));
    if (header.relocatable)
        checkRelocatable(header, kernel, path, plan);
    plan.entry = kernel.entry;
    plan.imageStart = kernel.start;
    plan.imageEnd = kernel.end;
    plan.notes.push_back(fmt::format("multiboot2 kernel (header at offset {:#x}) loaded by {} "
                                     "into [{:#x}, {:#x}), entry {:#x}",
                                     header.offset, kernel.how, kernel.start, kernel.end,
                                     kernel.entry));

    std::optional<multiboot2::ModuleTag> module;
    if (!options.initrdPath.empty()) {
        const uint64_t start = (kernel.end + kModuleAlignment - 1) & ~(kModuleAlignment - 1);
        checkImagePlacement(options.initrdPath,
                            fmt::format("module 0 ({:#x} bytes at mod_start {:#x}, after the "
                                        "kernel)",
                                        initrd.size(), start),
                            start, initrd.size(), memory,
                            {layout::kBootStackRange, layout::kMultibootInfoRange});
        // mod_start and mod_end are 32-bit fields.
        if (start + initrd.size() > layout::kFourGib)
            throw LoadError(options.initrdPath,
                            fmt::format("module 0 would end at {:#x}, beyond the 32-bit mod_end",
                                        start + initrd.size()));
        copyIntoGuest(memory, start, initrd);
        module = multiboot2::ModuleTag{
            {}, static_cast<uint32_t>(start), static_cast<uint32_t>(start + initrd.size())};
        plan.notes.push_back(fmt::format("multiboot2 module 0: {} ({:#x} bytes) at [{:#x}, {:#x})",
                                         options.initrdPath, initrd.size(), start,
                                         start + initrd.size()));
    }

    const Console console = chooseConsole(header, options, path, plan);

    // 3.6: the tags, in the order GRUB writes them, so that the same kernel sees the same list
    // from both.
    InfoBuilder info;
    const uint32_t loadBase = static_cast<uint32_t>(kernel.start);
    info.add(multiboot2::kTagLoadBaseAddress, &loadBase, sizeof loadBase);
    info.addString(multiboot2::kTagCommandLine, options.commandLine);
    info.addString(multiboot2::kTagBootLoaderName, kBootLoaderName);
    if (module) {
        const std::string name = std::filesystem::path(options.initrdPath).filename().string();
        info.addWith(multiboot2::kTagModule, *module, name.c_str(), name.size() + 1);
    }
    // The machine's own e820 map: its types are Multiboot 2's (1 available, 2 reserved, 3 ACPI,
    // 4 NVS, 5 defective).
    const E820Map e820 = buildE820Map(memory);
    std::vector<multiboot2::MemoryMapEntry> map;
    for (const boot_e820_entry& entry : e820.entries)
        map.push_back({entry.addr, entry.size, entry.type, 0});
    info.addWith(multiboot2::kTagMemoryMap,
                 multiboot2::MemoryMapTag{
                     {}, sizeof(multiboot2::MemoryMapEntry), multiboot2::kMemoryMapEntryVersion},
                 map.data(), map.size() * sizeof(multiboot2::MemoryMapEntry));
    // mem_lower: conventional memory below the EBDA (639 KiB); mem_upper: from 1 MiB to the MMIO
    // hole (or the end of RAM).
    const multiboot2::BasicMemoryInfoTag basic{
        {},
        static_cast<uint32_t>(layout::kEbdaAddress / 1024),
        static_cast<uint32_t>((memory.lowRamEnd() - layout::kHighMemoryStart) / 1024)};
    info.addWith(multiboot2::kTagBasicMemoryInfo, basic, nullptr, 0);
    if (console.linear) {
        const BootFramebuffer& mode = *console.linear;
        multiboot2::FramebufferInfoTag tag{};
        tag.framebuffer_addr = mode.address;
        tag.framebuffer_pitch = mode.stride;
        tag.framebuffer_width = mode.width;
        tag.framebuffer_height = mode.height;
        tag.framebuffer_bpp = static_cast<uint8_t>(mode.bitsPerPixel);
        tag.framebuffer_type = multiboot2::kFramebufferTypeRgb;
        const ColourLayout colours = colourLayout(mode.bitsPerPixel);
        const multiboot2::FramebufferRgbFields rgb{colours.red.position,   colours.red.size,
                                                   colours.green.position, colours.green.size,
                                                   colours.blue.position,  colours.blue.size};
        info.addWith(multiboot2::kTagFramebufferInfo, tag, &rgb, sizeof rgb);
        plan.framebufferSet = mode;
    } else if (console.egaText) {
        multiboot2::FramebufferInfoTag tag{};
        tag.framebuffer_addr = multiboot2::kEgaTextAddress;
        tag.framebuffer_pitch = 2 * multiboot2::kEgaTextColumns; // a character and its attribute
        tag.framebuffer_width = multiboot2::kEgaTextColumns;
        tag.framebuffer_height = multiboot2::kEgaTextRows;
        tag.framebuffer_bpp = 16;
        tag.framebuffer_type = multiboot2::kFramebufferTypeEgaText;
        info.addWith(multiboot2::kTagFramebufferInfo, tag, nullptr, 0);
    }
    // 3.6.15: a copy of the RSDP writeAcpiTables writes. Its revision is 2, so it goes in the new
    // tag; the old tag (its first 20 bytes, the ACPI 1.0 structure, whose checksum covers
    // exactly those) only for a kernel that asks for it, as GRUB gives the old tag only for a
    // revision 0 RSDP.
    const acpi::Rsdp rsdp = acpiRootPointer();
    if (header.requests(multiboot2::kTagAcpiOldRsdp) || rsdp.revision == 0)
        info.add(multiboot2::kTagAcpiOldRsdp, &rsdp, acpi::kRsdpV1Length);
    if (rsdp.revision >= 2)
        info.add(multiboot2::kTagAcpiNewRsdp, &rsdp, rsdp.length);
    const std::vector<uint8_t>& bytes = info.finish();

    // 3.6.1: 8-byte aligned, in the area no image or module may use.
    const uint64_t address = layout::kMultibootInfoStart;
    if (bytes.size() > layout::kMultibootInfoEnd - address)
        throw LoadError(path, fmt::format("the multiboot2 information ({} bytes) does not fit in "
                                          "[{:#x}, {:#x}): the command line is {} bytes",
                                          bytes.size(), address, layout::kMultibootInfoEnd,
                                          options.commandLine.size()));
    if (!memory.contains(address, bytes.size()))
        throw LoadError(path, fmt::format("the multiboot2 information at [{:#x}, {:#x}) is "
                                          "outside guest RAM",
                                          address, address + bytes.size()));
    memory.write(address, bytes.data(), bytes.size());

    plan.rax = multiboot2::kBootloaderMagic;
    plan.rbx = address;
    plan.stack = layout::kBootStackTop;
    plan.notes.push_back(fmt::format(
        "multiboot2 information at {:#x} ({} bytes): {} memory map "
        "entries, {}, command line \"{}\"",
        address, bytes.size(), map.size(),
        console.linear ? fmt::format("framebuffer {}x{}x{} at {:#x}", console.linear->width,
                                     console.linear->height, console.linear->bitsPerPixel,
                                     console.linear->address)
                       : std::string(console.egaText ? "EGA text 80x25" : "no framebuffer"),
        options.commandLine));
    return plan;
}

} // namespace kvmscope::boot
