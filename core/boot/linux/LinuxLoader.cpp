#include "boot/linux/LinuxLoader.h"

#include "boot/GuestCopy.h"
#include "boot/GuestLayout.h"
#include "boot/ImagePlacement.h"
#include "boot/acpi/AcpiTables.h"
#include "boot/linux/E820.h"
#include "devices/Framebuffer.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <fmt/format.h>

namespace kvmscope::boot {
namespace {

// boot.rst, "THE REAL-MODE KERNEL HEADER": the header starts at 0x1f1; the byte at 0x201 (the
// second byte of `jump`) is the offset of the header's end from 0x202.
constexpr uint64_t kSetupHeaderOffset = offsetof(boot_params, hdr);
constexpr uint64_t kHeaderLengthByteOffset = 0x201;
constexpr uint64_t kSetupHeaderStructEnd = kSetupHeaderOffset + sizeof(setup_header);
// Room in boot_params for the header: up to edd_mbr_sig_buffer at 0x290.
constexpr uint64_t kZeroPageHeaderLimit = offsetof(boot_params, edd_mbr_sig_buffer);
constexpr uint64_t kSectorSize = 512;
constexpr uint64_t kDefaultSetupSects = 4; // "If this field is 0, the real value is 4."
// "64-bit BOOT PROTOCOL": the 64-bit entry is 0x200 past the protected-mode kernel's start.
constexpr uint64_t kEntry64Offset = 0x200;
constexpr uint16_t kProtocolXloadflags = 0x020c; // 2.12 introduced xloadflags
constexpr uint16_t kProtocolAcpiRsdp = 0x020e;   // 2.14: boot_params.acpi_rsdp_addr
constexpr uint8_t kTypeOfLoaderUndefined = 0xff; // boot.rst: "0xFF: undefined", no assigned ID
// heap_end_ptr is an offset from the start of the real-mode code and matters only to that code,
// which kvmscope does not run; the conventional value for a 64 KiB setup segment keeps a kernel
// that looks at it content.
constexpr uint16_t kHeapEndPointer = 0xfe00;
constexpr uint64_t kPageSize = 0x1000;

uint64_t alignUp(uint64_t value, uint64_t alignment) {
    return (value + alignment - 1) & ~(alignment - 1);
}
uint64_t alignDown(uint64_t value, uint64_t alignment) {
    return value & ~(alignment - 1);
}

void checkHeaderInFile(std::span<const uint8_t> image, const std::string& path) {
    if (!hasLinuxBootMagic(image)) {
        uint32_t found = 0;
        if (image.size() >= kLinuxHeaderMagicOffset + sizeof found)
            std::memcpy(&found, image.data() + kLinuxHeaderMagicOffset, sizeof found);
        throw LoadError(path, fmt::format("no Linux boot protocol header: header magic {:#010x} "
                                          "(\"HdrS\") not found at offset {:#x} (found {:#010x}, "
                                          "file size {:#x})",
                                          kLinuxHeaderMagic, kLinuxHeaderMagicOffset, found,
                                          image.size()));
    }
}

// The setup header as far as the file says it goes; the rest of the struct stays zero.
setup_header readSetupHeader(std::span<const uint8_t> image, uint64_t headerEnd) {
    setup_header header{};
    const uint64_t end = std::min(headerEnd, kSetupHeaderStructEnd);
    std::memcpy(&header, image.data() + kSetupHeaderOffset, end - kSetupHeaderOffset);
    return header;
}

// Where the kernel will decompress itself. A relocatable kernel rounds its load address up to
// kernel_alignment but never goes below LOAD_PHYSICAL_ADDR, which it publishes as pref_address
// (boot.rst: relocatable_kernel, kernel_alignment, pref_address); a fixed one uses pref_address.
uint64_t decompressionAddress(const setup_header& header, const std::string& path) {
    const uint64_t preferred = header.pref_address;
    if (preferred > layout::kFourGib)
        throw LoadError(path, fmt::format("setup header pref_address {:#x} is above 4 GiB: "
                                          "kvmscope loads kernels in the 32-bit identity map",
                                          preferred));
    if (header.relocatable_kernel) {
        const uint64_t alignment = header.kernel_alignment;
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
            throw LoadError(path, fmt::format("setup header kernel_alignment {:#x} is not a power "
                                              "of two",
                                              alignment));
        return std::max(alignUp(layout::kLinuxKernelAddress, alignment), preferred);
    }
    if (preferred == 0)
        return layout::kLinuxKernelAddress;
    if (preferred < layout::kLinuxKernelAddress)
        throw LoadError(path, fmt::format("setup header pref_address {:#x} is below 1 MiB and the "
                                          "kernel is not relocatable (relocatable_kernel 0): it "
                                          "would overwrite the low tables",
                                          preferred));
    return preferred;
}

// Copies the file's setup header into a zeroed zero page ("the boot loader should ... copy the
// setup header into the zero page"), then fills the fields a boot loader writes.
boot_params buildZeroPage(std::span<const uint8_t> image, const LinuxKernelImage& kernel) {
    boot_params zeroPage{};
    const uint64_t copyEnd = std::min(kernel.headerEnd, kZeroPageHeaderLimit);
    std::memcpy(reinterpret_cast<uint8_t*>(&zeroPage) + kSetupHeaderOffset,
                image.data() + kSetupHeaderOffset, copyEnd - kSetupHeaderOffset);
    zeroPage.hdr.type_of_loader = kTypeOfLoaderUndefined;
    zeroPage.hdr.loadflags = static_cast<uint8_t>(zeroPage.hdr.loadflags | CAN_USE_HEAP);
    zeroPage.hdr.heap_end_ptr = kHeapEndPointer;
    // Fields a loader owns start from zero, whatever the file holds there.
    zeroPage.hdr.ramdisk_image = 0;
    zeroPage.hdr.ramdisk_size = 0;
    zeroPage.hdr.setup_data = 0;
    return zeroPage;
}

} // namespace

screen_info linuxScreenInfo(const BootFramebuffer& framebuffer) {
    // zero-page.rst, 0x000 screen_info (<linux/screen_info.h>): VIDEO_TYPE_VLFB makes the kernel
    // register a "vesa-framebuffer" (drivers/video/fbdev/vesafb.c) from the lfb_* fields, with
    // the framebuffer console on it; lfb_size counts 64 KiB units for this type.
    screen_info info{};
    const ColourLayout colours = colourLayout(framebuffer.bitsPerPixel);
    info.orig_video_isVGA = VIDEO_TYPE_VLFB;
    info.lfb_width = static_cast<uint16_t>(framebuffer.width);
    info.lfb_height = static_cast<uint16_t>(framebuffer.height);
    info.lfb_depth = static_cast<uint16_t>(framebuffer.bitsPerPixel);
    info.lfb_linelength = static_cast<uint16_t>(framebuffer.stride);
    info.lfb_base = static_cast<uint32_t>(framebuffer.address); // below 4 GiB (no 64BIT_BASE)
    info.lfb_size = static_cast<uint32_t>(framebuffer.memorySize >> 16);
    // How many screens the video memory holds, for panning (vesafb's ypan).
    const uint64_t screen = uint64_t(framebuffer.stride) * framebuffer.height;
    info.pages = static_cast<uint16_t>(std::min<uint64_t>(framebuffer.memorySize / screen, 0xFFFF));
    info.red_size = colours.red.size;
    info.red_pos = colours.red.position;
    info.green_size = colours.green.size;
    info.green_pos = colours.green.position;
    info.blue_size = colours.blue.size;
    info.blue_pos = colours.blue.position;
    info.rsvd_size = colours.reserved.size;
    info.rsvd_pos = colours.reserved.position;
    return info;
}

bool hasLinuxBootMagic(std::span<const uint8_t> image) {
    uint32_t magic = 0;
    if (image.size() < kLinuxHeaderMagicOffset + sizeof magic)
        return false;
    std::memcpy(&magic, image.data() + kLinuxHeaderMagicOffset, sizeof magic);
    return magic == kLinuxHeaderMagic;
}

std::string linuxProtocolVersion(uint16_t version) {
    return fmt::format("{}.{:02}", version >> 8, version & 0xff);
}

LinuxKernelImage parseLinuxKernel(std::span<const uint8_t> image, const std::string& path) {
    checkHeaderInFile(image, path);
    LinuxKernelImage kernel;
    // The magic check guarantees the file reaches past 0x201.
    const uint8_t headerLength = image[kHeaderLengthByteOffset];
    kernel.headerEnd = kLinuxHeaderMagicOffset + headerLength;
    if (kernel.headerEnd > image.size())
        throw LoadError(path, fmt::format("the setup header ends at {:#x} (0x202 + the byte at "
                                          "0x201, {:#x}), beyond the end of the file ({:#x} "
                                          "bytes)",
                                          kernel.headerEnd, headerLength, image.size()));
    kernel.header = readSetupHeader(image, kernel.headerEnd);
    const setup_header& header = kernel.header;

    const uint16_t version = header.version;
    if (version < kLinuxMinimumProtocol)
        throw LoadError(path, fmt::format("setup header version {:#06x} (boot protocol {}) is "
                                          "too old: kvmscope needs protocol {} or later",
                                          version, linuxProtocolVersion(version),
                                          linuxProtocolVersion(kLinuxMinimumProtocol)));

    const uint64_t setupSects = header.setup_sects == 0 ? kDefaultSetupSects : header.setup_sects;
    kernel.setupSize = (setupSects + 1) * kSectorSize;
    if (kernel.setupSize >= image.size())
        throw LoadError(path, fmt::format("setup_sects {} puts the real-mode setup code at "
                                          "[0, {:#x}), which leaves no protected-mode kernel in "
                                          "the {:#x}-byte file (truncated?)",
                                          header.setup_sects, kernel.setupSize, image.size()));
    kernel.kernelSize = image.size() - kernel.setupSize;

    const uint8_t loadflags = header.loadflags;
    if (!(loadflags & LOADED_HIGH))
        throw LoadError(path, fmt::format("setup header loadflags {:#04x} lack LOADED_HIGH (bit "
                                          "0): a zImage loaded at 0x10000 is not supported",
                                          loadflags));
    const uint16_t xloadflags = version >= kProtocolXloadflags ? header.xloadflags : 0;
    if (!(xloadflags & XLF_KERNEL_64))
        throw LoadError(
            path, fmt::format("setup header xloadflags {:#06x} lack XLF_KERNEL_64 (bit 0){}: "
                              "kvmscope enters Linux at its 64-bit entry point",
                              xloadflags,
                              version < kProtocolXloadflags
                                  ? fmt::format(" (boot protocol {} predates xloadflags, 2.12)",
                                                linuxProtocolVersion(version))
                                  : std::string()));

    // init_size (2.10) is the memory the kernel needs from where it decompresses; 0 in a hostile
    // header is read as "only the file's bytes".
    kernel.runAddress = decompressionAddress(header, path);
    kernel.footprintEnd = std::max(layout::kLinuxKernelAddress + kernel.kernelSize,
                                   kernel.runAddress + uint64_t{header.init_size});
    return kernel;
}

BootPlan loadLinux(std::span<const uint8_t> image, const BootOptions& options,
                   std::span<const uint8_t> initrd, GuestMemory& memory) {
    const std::string& path = options.imagePath;
    const LinuxKernelImage kernel = parseLinuxKernel(image, path);
    const setup_header& header = kernel.header;
    const std::string& commandLine = options.commandLine;
    if (commandLine.find('\0') != std::string::npos)
        throw InputError("the kernel command line contains a NUL byte");

    BootPlan plan;
    plan.format = ImageFormat::Linux;
    plan.mode = CpuMode::Long64;

    // The kernel: its bytes at 1 MiB, and all it will use while decompressing.
    const uint64_t lowRamEnd = memory.lowRamEnd();
    const uint64_t kernelStart = layout::kLinuxKernelAddress;
    if (kernel.footprintEnd > lowRamEnd)
        throw LoadError(path, fmt::format("the kernel needs [{:#x}, {:#x}) (protected-mode kernel "
                                          "{:#x} bytes, init_size {:#x} from {:#x}, pref_address "
                                          "{:#x}) but RAM below 4 GiB ends at {:#x}",
                                          kernelStart, kernel.footprintEnd, kernel.kernelSize,
                                          uint32_t{header.init_size}, kernel.runAddress,
                                          uint64_t{header.pref_address}, lowRamEnd));
    checkImagePlacement(path,
                        fmt::format("the kernel and its init_size buffer (init_size {:#x})",
                                    uint32_t{header.init_size}),
                        kernelStart, kernel.footprintEnd - kernelStart, memory,
                        {layout::kBootStackRange, layout::kLinuxBootDataRange});
    copyIntoGuest(memory, kernelStart, image.subspan(kernel.setupSize, kernel.kernelSize));

    // The command line: cmdline_size (2.06) is its longest length without the NUL.
    const uint64_t commandLineRoom =
        layout::kLinuxCommandLineEnd - layout::kLinuxCommandLineAddress - 1;
    if (commandLine.size() > header.cmdline_size)
        throw LoadError(path, fmt::format("the command line is {} bytes, longer than the kernel's "
                                          "setup header cmdline_size {}",
                                          commandLine.size(), uint32_t{header.cmdline_size}));
    if (commandLine.size() > commandLineRoom)
        throw LoadError(path, fmt::format("the command line is {} bytes, longer than the {} "
                                          "bytes kvmscope has room for at {:#x}",
                                          commandLine.size(), commandLineRoom,
                                          layout::kLinuxCommandLineAddress));
    memory.write(layout::kLinuxCommandLineAddress, commandLine.c_str(), commandLine.size() + 1);

    boot_params zeroPage = buildZeroPage(image, kernel);
    zeroPage.hdr.cmd_line_ptr = static_cast<uint32_t>(layout::kLinuxCommandLineAddress);
    // zero-page.rst, 0x070 acpi_rsdp_addr: where writeAcpiTables (Machine::boot) puts the RSDP,
    // so the kernel need not scan for it. Kernels read it from protocol 2.14 on; older ones
    // leave the field alone.
    if (header.version >= kProtocolAcpiRsdp)
        zeroPage.acpi_rsdp_addr = kAcpiAreaStart;

    plan.notes.push_back(
        fmt::format("Linux bzImage, boot protocol {}: setup {:#x} bytes, "
                    "protected-mode kernel {:#x} bytes at {:#x}; init_size {:#x} "
                    "from {:#x} ({}) reserves up to {:#x}",
                    linuxProtocolVersion(header.version), kernel.setupSize, kernel.kernelSize,
                    kernelStart, uint32_t{header.init_size}, kernel.runAddress,
                    header.relocatable_kernel ? "relocatable" : "fixed", kernel.footprintEnd));

    // The initrd: page-aligned, as high as initrd_addr_max (the highest byte it may occupy) and
    // RAM allow, above everything the kernel uses (boot.rst, ramdisk_image and initrd_addr_max).
    if (!options.initrdPath.empty()) {
        const std::string& initrdPath = options.initrdPath;
        const uint64_t top = std::min(uint64_t{header.initrd_addr_max} + 1, lowRamEnd);
        const uint64_t bottom = alignUp(kernel.footprintEnd, kPageSize);
        if (initrd.empty())
            throw LoadError(initrdPath, "the initrd is empty");
        if (top < bottom || initrd.size() > top - bottom)
            throw LoadError(initrdPath,
                            fmt::format("the initrd is {:#x} bytes, but only {:#x} bytes are free "
                                        "between the kernel's end {:#x} and {:#x} (setup header "
                                        "initrd_addr_max {:#x}, end of RAM below 4 GiB {:#x})",
                                        initrd.size(), top < bottom ? 0 : top - bottom, bottom, top,
                                        uint32_t{header.initrd_addr_max}, lowRamEnd));
        const uint64_t start = alignDown(top - initrd.size(), kPageSize);
        checkImagePlacement(initrdPath, fmt::format("the initrd ({:#x} bytes)", initrd.size()),
                            start, initrd.size(), memory,
                            {layout::kBootStackRange, layout::kLinuxBootDataRange});
        copyIntoGuest(memory, start, initrd);
        // Both fit 32 bits: the initrd lies below the MMIO hole at 3 GiB.
        zeroPage.hdr.ramdisk_image = static_cast<uint32_t>(start);
        zeroPage.hdr.ramdisk_size = static_cast<uint32_t>(initrd.size());
        plan.notes.push_back(fmt::format("Linux initrd {} ({:#x} bytes) at [{:#x}, {:#x}), below "
                                         "{:#x} (initrd_addr_max {:#x})",
                                         initrdPath, initrd.size(), start, start + initrd.size(),
                                         top, uint32_t{header.initrd_addr_max}));
    }

    if (options.framebuffer) {
        zeroPage.screen_info = linuxScreenInfo(*options.framebuffer);
        const BootFramebuffer& fb = *options.framebuffer;
        plan.notes.push_back(fmt::format("Linux screen_info: VESA linear framebuffer {}x{}x{} at "
                                         "{:#x}, {} bytes per row",
                                         fb.width, fb.height, fb.bitsPerPixel, fb.address,
                                         fb.stride));
    }

    const E820Map map = buildE820Map(memory);
    std::copy(map.entries.begin(), map.entries.end(), zeroPage.e820_table);
    zeroPage.e820_entries = static_cast<uint8_t>(map.entries.size());
    if (map.droppedEntries)
        plan.notes.push_back(fmt::format("e820: {} entries beyond the zero page's {} left out",
                                         map.droppedEntries, E820_MAX_ENTRIES_ZEROPAGE));
    memory.writeValue(layout::kLinuxZeroPageAddress, zeroPage);

    // "64-bit BOOT PROTOCOL": 64-bit mode, paging on with the kernel, zero page and command line
    // identity mapped (X86Setup maps [0, 4 GiB)), interrupts off, RSI = the zero page.
    plan.entry = kernelStart + kEntry64Offset;
    plan.rsi = layout::kLinuxZeroPageAddress;
    plan.stack = layout::kBootStackTop; // unused by the protocol; the kernel sets its own
    plan.imageStart = kernelStart;
    plan.imageEnd = kernel.footprintEnd;
    plan.notes.push_back(fmt::format("Linux zero page at {:#x} ({} e820 entries), command line "
                                     "at {:#x}: \"{}\"; entry {:#x} in 64-bit mode with RSI {:#x} "
                                     "(CS {:#x}, DS/ES/SS {:#x} in kvmscope's GDT)",
                                     layout::kLinuxZeroPageAddress, map.entries.size(),
                                     layout::kLinuxCommandLineAddress, commandLine, plan.entry,
                                     plan.rsi, layout::kCode64Selector, layout::kDataSelector));
    return plan;
}

} // namespace kvmscope::boot
