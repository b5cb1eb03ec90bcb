#include "boot/MultibootLoader.h"

#include "boot/ElfImage.h"
#include "boot/GuestCopy.h"
#include "boot/GuestLayout.h"
#include "boot/ImagePlacement.h"
#include "boot/Multiboot.h"
#include "boot/MultibootHeader.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <vector>

namespace kvmscope::boot {
namespace {

constexpr uint32_t kSupportedRequiredFlags =
    multiboot::kFlagPageAlignModules | multiboot::kFlagMemoryInfo | multiboot::kFlagVideoMode;
constexpr uint64_t kModuleAlignment = 0x1000; // flags bit 0: modules on 4 KiB boundaries
constexpr char kBootLoaderName[] = "kvmscope";

struct LoadedKernel {
    uint64_t start = 0, end = 0, entry = 0;
    std::string how;
};

multiboot::Header readHeader(std::span<const uint8_t> image, uint64_t offset) {
    // Only the bytes present are copied; the caller checks that the fields it uses were there.
    multiboot::Header header{};
    const uint64_t available = std::min<uint64_t>(sizeof header, image.size() - offset);
    std::memcpy(&header, image.data() + offset, available);
    return header;
}

uint64_t findHeader(std::span<const uint8_t> image, const std::string& path) {
    const MultibootHeaderSearch search = searchMultibootHeader(image);
    if (search.headerOffset)
        return *search.headerOffset;
    if (search.firstMagicOffset)
        throw LoadError(
            path,
            fmt::format("multiboot header at offset {:#x}: checksum {:#010x} is "
                        "wrong: magic + flags ({:#010x}) + checksum = {:#010x}, "
                        "not 0",
                        *search.firstMagicOffset, search.firstMagicChecksum, search.firstMagicFlags,
                        static_cast<uint32_t>(multiboot::kHeaderMagic + search.firstMagicFlags +
                                              search.firstMagicChecksum)));
    throw LoadError(path, fmt::format("no multiboot header: magic {:#x} not found 4-byte aligned "
                                      "within the first {} bytes",
                                      multiboot::kHeaderMagic, multiboot::kHeaderSearchLimit));
}

void checkFlags(uint32_t flags, const std::string& path, BootPlan& plan) {
    const uint32_t unsupported = flags & multiboot::kRequiredFlagsMask & ~kSupportedRequiredFlags;
    if (unsupported)
        throw LoadError(path, fmt::format("multiboot header flags {:#010x}: required bit(s) "
                                          "{:#x} are not supported (kvmscope meets bits 0, 1 and "
                                          "2 of 0-15)",
                                          flags, unsupported));
    if (flags & multiboot::kFlagVideoMode)
        plan.notes.push_back("multiboot: the kernel asks for a video mode (flags bit 2); kvmscope "
                             "provides no video information, the screen stays in VGA text mode "
                             "at 0xb8000");
}

// 3.1.3: the address fields say where the file's bytes go, independent of the file format.
LoadedKernel loadWithAddressFields(std::span<const uint8_t> image, uint64_t headerOffset,
                                   const multiboot::Header& header, const std::string& path,
                                   GuestMemory& memory) {
    if (headerOffset + multiboot::kHeaderAddressFieldsEnd > image.size() ||
        headerOffset + multiboot::kHeaderAddressFieldsEnd > multiboot::kHeaderSearchLimit)
        throw LoadError(
            path, fmt::format("multiboot header at offset {:#x}: flags bit 16 is set "
                              "but the address fields (through entry_addr, {} bytes) "
                              "do not fit in the file's first {:#x} bytes",
                              headerOffset, multiboot::kHeaderAddressFieldsEnd,
                              std::min<uint64_t>(image.size(), multiboot::kHeaderSearchLimit)));
    // All fields are 32-bit; the arithmetic below is 64-bit and cannot overflow.
    const uint64_t headerAddress = header.header_addr;
    const uint64_t loadAddress = header.load_addr;
    if (loadAddress > headerAddress)
        throw LoadError(path, fmt::format("multiboot load_addr {:#x} is above header_addr {:#x}",
                                          loadAddress, headerAddress));
    // header_addr corresponds to the header's file offset; loading starts that far before it.
    if (headerAddress - loadAddress > headerOffset)
        throw LoadError(path, fmt::format("multiboot header_addr {:#x} - load_addr {:#x} = {:#x} "
                                          "exceeds the header's file offset {:#x}: the load would "
                                          "start before the file",
                                          headerAddress, loadAddress, headerAddress - loadAddress,
                                          headerOffset));
    const uint64_t fileOffset = headerOffset - (headerAddress - loadAddress);
    const uint64_t available = image.size() - fileOffset;
    const auto [loadSize, end] =
        addressFieldsExtent(path, "multiboot", loadAddress, header.load_end_addr,
                            header.bss_end_addr, fileOffset, available);
    const uint64_t loadEnd = loadAddress + loadSize;
    if (header.entry_addr < loadAddress || header.entry_addr >= loadEnd)
        throw LoadError(path, fmt::format("multiboot entry_addr {:#x} is outside the loaded range "
                                          "[{:#x}, {:#x})",
                                          header.entry_addr, loadAddress, loadEnd));
    checkImagePlacement(path,
                        fmt::format("the multiboot image (load_addr {:#x}, load_end_addr {:#x}, "
                                    "bss_end_addr {:#x})",
                                    loadAddress, header.load_end_addr, header.bss_end_addr),
                        loadAddress, end - loadAddress, memory,
                        {layout::kBootStackRange, layout::kMultibootInfoRange});
    copyIntoGuest(memory, loadAddress, image.subspan(fileOffset, loadSize));
    memory.fill(loadEnd, 0, end - loadEnd);
    return {loadAddress, end, header.entry_addr,
            fmt::format("address fields (file offset {:#x})", fileOffset)};
}

LoadedKernel loadElf32(std::span<const uint8_t> image, uint32_t flags, const std::string& path,
                       GuestMemory& memory) {
    if (!hasElfMagic(image))
        throw LoadError(path, fmt::format("multiboot header flags {:#010x} lack bit 16 (address "
                                          "fields) and the image is not ELF: there is no way to "
                                          "tell where it goes",
                                          flags));
    const ElfImage elf = parseElf(image, path);
    if (elf.is64)
        throw LoadError(path, "an ELF64 multiboot kernel needs the address fields (flags bit 16): "
                              "multiboot loads ELF32 program headers only");
    const uint64_t entry = physicalEntry(elf, path);
    const LoadedRange loaded = loadElfSegments(
        elf, image, path, memory, {layout::kBootStackRange, layout::kMultibootInfoRange});
    return {loaded.start, loaded.end, entry,
            fmt::format("ELF32, {} segment(s)", elf.segments.size())};
}

// Appends the information structures to the information area, 8-byte aligned, in order.
class InfoArea {
public:
    InfoArea(GuestMemory& memory, const std::string& path) : memory_(memory), path_(path) {}

    uint32_t add(const void* data, uint64_t size, const char* what) {
        next_ = (next_ + 7) & ~uint64_t(7);
        if (size > layout::kMultibootInfoEnd - next_)
            throw LoadError(path_, fmt::format("the multiboot information does not fit in "
                                               "[{:#x}, {:#x}): no room for {} ({} bytes)",
                                               layout::kMultibootInfoStart,
                                               layout::kMultibootInfoEnd, what, size));
        const uint64_t address = next_;
        memory_.write(address, data, size);
        next_ += size;
        return static_cast<uint32_t>(address);
    }
    uint32_t addString(const std::string& text, const char* what) {
        return add(text.c_str(), text.size() + 1, what);
    }

private:
    GuestMemory& memory_;
    const std::string& path_;
    uint64_t next_ = layout::kMultibootInfoStart;
};

std::vector<multiboot::MemoryMapEntry> memoryMap(const GuestMemory& memory) {
    auto entry = [](uint64_t base, uint64_t length, uint32_t type) {
        // `size` counts the entry without itself (3.3).
        return multiboot::MemoryMapEntry{sizeof(multiboot::MemoryMapEntry) - sizeof(uint32_t), base,
                                         length, type};
    };
    std::vector<multiboot::MemoryMapEntry> map{
        entry(0, layout::kEbdaAddress, multiboot::kMemoryAvailable),
        entry(layout::kEbdaAddress, layout::kEbdaEnd - layout::kEbdaAddress,
              multiboot::kMemoryReserved),
        entry(layout::kBiosAreaStart, layout::kBiosAreaEnd - layout::kBiosAreaStart,
              multiboot::kMemoryReserved),
    };
    if (memory.lowRamEnd() > layout::kHighMemoryStart)
        map.push_back(entry(layout::kHighMemoryStart, memory.lowRamEnd() - layout::kHighMemoryStart,
                            multiboot::kMemoryAvailable));
    for (const auto& region : memory.regions())
        if (region.guestAddress >= layout::kFourGib)
            map.push_back(entry(region.guestAddress, region.size, multiboot::kMemoryAvailable));
    return map;
}

} // namespace

BootPlan loadMultiboot(std::span<const uint8_t> image, const BootOptions& options,
                       std::span<const uint8_t> initrd, GuestMemory& memory) {
    const std::string& path = options.imagePath;
    BootPlan plan;
    plan.format = ImageFormat::Multiboot;
    plan.mode = CpuMode::Protected32;

    const uint64_t headerOffset = findHeader(image, path);
    const multiboot::Header header = readHeader(image, headerOffset);
    checkFlags(header.flags, path, plan);
    if (options.commandLine.find('\0') != std::string::npos)
        throw InputError("the kernel command line contains a NUL byte");

    const LoadedKernel kernel =
        (header.flags & multiboot::kFlagAddressFields)
            ? loadWithAddressFields(image, headerOffset, header, path, memory)
            : loadElf32(image, header.flags, path, memory);
    plan.entry = kernel.entry;
    plan.imageStart = kernel.start;
    plan.imageEnd = kernel.end;
    plan.notes.push_back(fmt::format("multiboot kernel (header at offset {:#x}, flags {:#010x}) "
                                     "loaded by {} into [{:#x}, {:#x}), entry {:#x}",
                                     headerOffset, header.flags, kernel.how, kernel.start,
                                     kernel.end, kernel.entry));

    std::vector<multiboot::Module> modules;
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
        modules.push_back(
            {static_cast<uint32_t>(start), static_cast<uint32_t>(start + initrd.size()), 0, 0});
        plan.notes.push_back(fmt::format("multiboot module 0: {} ({:#x} bytes) at [{:#x}, {:#x})",
                                         options.initrdPath, initrd.size(), start,
                                         start + initrd.size()));
    }

    // 3.3: the information structure first (EBX), then what its fields point at.
    InfoArea area(memory, path);
    multiboot::Info info{};
    const uint32_t infoAddress = area.add(&info, sizeof info, "the information structure");
    info.flags = multiboot::kInfoMemory | multiboot::kInfoCommandLine | multiboot::kInfoModules |
                 multiboot::kInfoMemoryMap | multiboot::kInfoBootLoaderName;
    // mem_lower: conventional memory below the EBDA (639 KiB); mem_upper: from 1 MiB to the MMIO
    // hole (or the end of RAM).
    info.mem_lower = static_cast<uint32_t>(layout::kEbdaAddress / 1024);
    info.mem_upper = static_cast<uint32_t>((memory.lowRamEnd() - layout::kHighMemoryStart) / 1024);
    const auto map = memoryMap(memory);
    info.mmap_length = static_cast<uint32_t>(map.size() * sizeof(multiboot::MemoryMapEntry));
    info.mmap_addr = area.add(map.data(), info.mmap_length, "the memory map");
    info.boot_loader_name = area.addString(kBootLoaderName, "the boot loader name");
    info.cmdline = area.addString(options.commandLine, "the command line");
    if (!modules.empty()) {
        const std::string name = std::filesystem::path(options.initrdPath).filename().string();
        modules[0].string = area.addString(name, "the module's name");
        info.mods_addr =
            area.add(modules.data(), modules.size() * sizeof(multiboot::Module), "the module list");
    }
    info.mods_count = static_cast<uint32_t>(modules.size());
    memory.writeValue(infoAddress, info);

    plan.rax = multiboot::kBootloaderMagic;
    plan.rbx = infoAddress;
    plan.stack = layout::kBootStackTop;
    plan.notes.push_back(fmt::format("multiboot information at {:#x}: mem_lower {} KiB, mem_upper "
                                     "{} KiB, {} memory map entries, command line \"{}\"",
                                     infoAddress, info.mem_lower, info.mem_upper, map.size(),
                                     options.commandLine));
    return plan;
}

} // namespace kvmscope::boot
