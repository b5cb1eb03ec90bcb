#pragma once
// Linux bzImages by the x86 boot protocol (Documentation/arch/x86/boot.rst): the protected-mode
// kernel at 1 MiB, the initrd as high as the kernel allows, a zero page (struct boot_params)
// holding the kernel's setup header, the command line and an e820 map, and entry at the 64-bit
// entry point ("64-bit BOOT PROTOCOL"). The real-mode setup code is never run (docs/boot.md,
// "Linux").
#include "boot/BootPlan.h"
#include "machine/GuestMemory.h"

#include <asm/bootparam.h>
#include <cstdint>
#include <span>
#include <string>

namespace kvmscope::boot {

// The boot protocol's signature "HdrS" at file offset 0x202 (boot.rst, "THE REAL-MODE KERNEL
// HEADER", field `header`).
constexpr uint64_t kLinuxHeaderMagicOffset = 0x202;
constexpr uint32_t kLinuxHeaderMagic = 0x53726448;
// The oldest protocol kvmscope accepts: 2.06 added cmdline_size.
constexpr uint16_t kLinuxMinimumProtocol = 0x0206;

// A bzImage's setup header, checked, and what follows from it.
struct LinuxKernelImage {
    setup_header header{};     // as in the file; fields past the header's end read as zero
    uint64_t headerEnd = 0;    // file offset after the header: 0x202 + the byte at 0x201
    uint64_t setupSize = 0;    // (setup_sects, 0 meaning 4, + 1) * 512: the real-mode part
    uint64_t kernelSize = 0;   // the protected-mode kernel: the rest of the file
    uint64_t runAddress = 0;   // where the kernel decompresses itself (see footprintEnd)
    uint64_t footprintEnd = 0; // end of what the kernel occupies from 1 MiB: its bytes and
                               // the init_size buffer at runAddress, whichever ends later
};

// boot_params.screen_info describing `framebuffer` as a VESA linear framebuffer (VIDEO_TYPE_VLFB),
// which loadLinux writes when options.framebuffer is set.
screen_info linuxScreenInfo(const BootFramebuffer& framebuffer);

// True when the image holds the "HdrS" signature at 0x202 (detection only, no other check).
bool hasLinuxBootMagic(std::span<const uint8_t> image);

// "2.15" for 0x020f.
std::string linuxProtocolVersion(uint16_t version);

// Checks everything that does not depend on the machine: the signature, the header inside the
// file, protocol >= 2.06, setup_sects inside the file, LOADED_HIGH, XLF_KERNEL_64, a usable
// kernel_alignment / pref_address. Throws LoadError(path, ...) naming the field and its value.
LinuxKernelImage parseLinuxKernel(std::span<const uint8_t> image, const std::string& path);

// Loads the kernel in `image` (read from options.imagePath) and `initrd` (read from
// options.initrdPath; no initrd when that is empty), writes the zero page at
// layout::kLinuxZeroPageAddress and the command line (options.commandLine) at
// layout::kLinuxCommandLineAddress. The plan enters 64-bit mode at 1 MiB + 0x200 with
// RSI = the zero page. Throws LoadError when the kernel or the initrd does not fit in RAM or the
// command line is longer than the kernel's cmdline_size, InputError for a NUL in the command line.
BootPlan loadLinux(std::span<const uint8_t> image, const BootOptions& options,
                   std::span<const uint8_t> initrd, GuestMemory& memory);

} // namespace kvmscope::boot
