#pragma once
// What a loader leaves behind once an image is in guest memory: the CPU mode and register state
// the boot processor starts in. Loaders fill it; X86Setup turns it into kvm_regs/kvm_sregs.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kvmscope::boot {

// Linux: a bzImage by the x86 boot protocol. Pvh: an ELF vmlinux (or a bzImage's payload) by the
// PVH boot ABI. Multiboot is Multiboot 1 (0.6.96), Multiboot2 the Multiboot2 Specification 2.0.
enum class ImageFormat { Auto, Flat, Multiboot, Elf, Linux, Pvh, Multiboot2 };

const char* toString(ImageFormat format);
// Parses "auto", "flat", "multiboot", "elf", "linux", "pvh", "multiboot2"; returns false for
// anything else.
bool parseImageFormat(const std::string& text, ImageFormat& format);

enum class CpuMode {
    Real,        // 16-bit real mode, paging off (flat binaries)
    Protected32, // 32-bit protected mode, flat segments, paging off (multiboot 1 and 2, ELF32, PVH)
    Long64,      // 64-bit long mode, identity paging below 4 GiB (ELF64, Linux)
};

const char* toString(CpuMode mode);

// The linear framebuffer a boot loader reports to the kernel (Linux: boot_params.screen_info), in
// the mode the machine set before the boot; filled by the Machine when it has one.
struct BootFramebuffer {
    uint64_t address = 0;    // guest-physical
    uint64_t memorySize = 0; // bytes of video memory
    uint32_t width = 0;
    uint32_t height = 0;
    uint32_t bitsPerPixel = 0; // 15, 16, 24 or 32
    uint32_t stride = 0;       // bytes per row
};

struct BootOptions {
    std::string imagePath;
    ImageFormat format = ImageFormat::Auto;
    uint64_t loadAddress = 0x7c00; // flat binaries only
    std::string commandLine;       // --append (multiboot and Linux kernels)
    std::string initrdPath;        // --initrd (multiboot 1 and 2: module 0; Linux: the initrd)
    unsigned cpus = 1;
    std::optional<BootFramebuffer> framebuffer; // none: no framebuffer to report
    // The host's KVM emulates guest ring-0 code (no VMX/SVM): Linux kernels get the parameters
    // of boot/linux/EmulatedHostParameters.h appended to their command line, and a bzImage left
    // to detection boots by PVH when its payload has the entry (ImageLoader.cpp).
    bool hostEmulatesRing0 = false;
};

// The boot processor's initial state. Segment state, descriptor tables and paging follow from
// `mode` (see X86Setup.h); the loader only chooses the entry point and the registers the boot
// protocol defines.
struct BootPlan {
    ImageFormat format = ImageFormat::Auto; // the format actually loaded
    CpuMode mode = CpuMode::Real;
    uint64_t entry = 0;           // RIP (real mode: linear address; CS:IP derived from it)
    uint16_t realModeSegment = 0; // real mode: CS = DS = ES = SS = this, IP = entry - segment*16
    uint64_t stack = 0;           // RSP
    uint64_t rax = 0, rbx = 0, rcx = 0, rdx = 0, rsi = 0, rdi = 0;
    uint64_t imageStart = 0, imageEnd = 0; // guest-physical range the image occupies
    std::vector<std::string> notes;        // what the loader did, for the log and the GUI
    // What kvmscope appended to a Linux kernel's command line for this host (hostEmulatesRing0);
    // empty when nothing was. Shown as a warning: the user should know their command line changed.
    std::string addedKernelParameters;
    // True when a bzImage given with the format left to detection was booted by PVH from its
    // payload because the host emulates ring 0 (ImageLoader.cpp). Also shown as a warning.
    bool bzImageBootedByPvh = false;
    // The framebuffer mode the loader told the kernel is set (Multiboot 2's framebuffer tag): the
    // Machine sets it through the dispi before the kernel runs. None: the screen is left alone.
    std::optional<BootFramebuffer> framebufferSet;
};

} // namespace kvmscope::boot
