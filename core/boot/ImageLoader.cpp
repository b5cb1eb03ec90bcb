#include "boot/ImageLoader.h"

#include "boot/ElfLoader.h"
#include "boot/FlatLoader.h"
#include "boot/Multiboot2Header.h"
#include "boot/Multiboot2Loader.h"
#include "boot/MultibootHeader.h"
#include "boot/MultibootLoader.h"
#include "boot/linux/EmulatedHostParameters.h"
#include "boot/linux/LinuxLoader.h"
#include "boot/linux/PvhLoader.h"
#include "common/ElfFile.h"
#include "common/InputFile.h"

#include <fmt/format.h>
#include <malloc.h>
#include <utility>

namespace kvmscope::boot {
namespace {

// Opens `path` (common/InputFile.h: a regular file or a block device, never waiting on a FIFO)
// and checks what both ways of reading it need: not empty, no larger than kMaxImageFileSize.
InputFile openImageFile(const std::string& path, const char* what) {
    if (path.empty())
        throw InputError(fmt::format("no {} file given", what));
    InputFile file(path, what);
    if (file.size() == 0)
        throw LoadError(path, fmt::format("the {} is empty", what));
    if (file.size() > kMaxImageFileSize)
        throw LoadError(path, fmt::format("the {} is {:#x} bytes, more than the {:#x} bytes "
                                          "kvmscope loads",
                                          what, file.size(), kMaxImageFileSize));
    return file;
}

} // namespace

std::vector<uint8_t> readImageFile(const std::string& path, const char* what) {
    return openImageFile(path, what).readAll();
}

void checkImageFile(const std::string& path, const char* what) {
    openImageFile(path, what);
}

MappedFile mapImageFile(const std::string& path, const char* what) {
    // The mapping is made after fstat and covers exactly the size it reported; the descriptor
    // is closed on return (the mapping keeps the file).
    const InputFile file = openImageFile(path, what);
    return MappedFile(file.fd(), file.size(), path);
}

ImageFormat detectFormat(std::span<const uint8_t> image) {
    // First: a bzImage's compressed payload may contain any byte pattern, a multiboot magic or
    // "\x7fELF" included, while "HdrS" at 0x202 is the boot protocol's own signature.
    if (hasLinuxBootMagic(image))
        return ImageFormat::Linux;
    // Multiboot 2 before 1: a kernel may carry both headers, and the newer one describes more.
    if (searchMultiboot2Header(image).headerOffset)
        return ImageFormat::Multiboot2;
    if (searchMultibootHeader(image).headerOffset)
        return ImageFormat::Multiboot;
    // An ELF with the PVH entry note is a kernel that wants the PVH ABI (a Linux vmlinux).
    if (hasElfMagic(image))
        return hasPvhEntryNote(image) ? ImageFormat::Pvh : ImageFormat::Elf;
    return ImageFormat::Flat;
}

namespace {

BootPlan loadMappedImage(const BootOptions& options, GuestMemory& memory) {
    const MappedFile imageFile = mapImageFile(options.imagePath, "image");
    const std::span<const uint8_t> image = imageFile.bytes();
    std::vector<std::string> notes;
    ImageFormat format = options.format;
    if (format == ImageFormat::Auto) {
        format = detectFormat(image);
        notes.push_back(fmt::format("{}: detected format {}", options.imagePath, toString(format)));
        const MultibootHeaderSearch search = searchMultibootHeader(image);
        if (format != ImageFormat::Multiboot && format != ImageFormat::Multiboot2 &&
            format != ImageFormat::Linux && search.firstMagicOffset)
            notes.push_back(fmt::format("{}: ignored the multiboot magic at offset {:#x}: its "
                                        "checksum {:#010x} is wrong",
                                        options.imagePath, *search.firstMagicOffset,
                                        search.firstMagicChecksum));
        const Multiboot2HeaderSearch search2 = searchMultiboot2Header(image);
        if (format != ImageFormat::Multiboot2 && format != ImageFormat::Linux &&
            search2.firstMagicOffset)
            notes.push_back(fmt::format("{}: ignored the multiboot2 magic at offset {:#x}: its "
                                        "checksum {:#010x} is wrong",
                                        options.imagePath, *search2.firstMagicOffset,
                                        search2.firstMagicChecksum));
    }
    const bool takesKernelArguments = format == ImageFormat::Multiboot ||
                                      format == ImageFormat::Multiboot2 ||
                                      format == ImageFormat::Linux || format == ImageFormat::Pvh;
    if (!takesKernelArguments && !options.initrdPath.empty())
        throw InputError(fmt::format("{}: an initrd ({}) can only be given to a multiboot or Linux "
                                     "kernel, and this image is loaded as {}",
                                     options.imagePath, options.initrdPath, toString(format)));

    // Linux on a host that emulates ring 0: turn off what KVM's emulator cannot run, and say so.
    BootOptions linuxOptions = options;
    std::string addedParameters;
    if ((format == ImageFormat::Linux || format == ImageFormat::Pvh) && options.hostEmulatesRing0) {
        std::vector<KernelParameter> added;
        linuxOptions.commandLine =
            withKernelParameters(options.commandLine, emulatedRing0Parameters(), &added);
        for (const KernelParameter& parameter : added) {
            addedParameters += (addedParameters.empty() ? "" : " ") + std::string(parameter.text);
            notes.push_back(fmt::format("added \"{}\" to the kernel command line: this host's KVM "
                                        "emulates guest ring-0 code, and {} (--no-host-workarounds "
                                        "leaves the command line alone)",
                                        parameter.text, parameter.reason));
        }
    }

    BootPlan plan;
    MappedFile initrd;
    // A file truncated while it was mapped reads as zeros past its new end
    // (common/MappedFile.h): whatever a loader made of those, the file is what went wrong.
    const auto checkUnchanged = [&] {
        if (imageFile.shrank())
            throw LoadError(options.imagePath,
                            "the image shrank (or could not be read) while being loaded");
        if (initrd.shrank())
            throw LoadError(options.initrdPath,
                            "the initrd shrank (or could not be read) while being loaded");
    };
    try {
        switch (format) {
        case ImageFormat::Multiboot:
            if (!options.initrdPath.empty())
                initrd = mapImageFile(options.initrdPath, "initrd");
            plan = loadMultiboot(image, options, initrd.bytes(), memory);
            break;
        case ImageFormat::Multiboot2:
            if (!options.initrdPath.empty())
                initrd = mapImageFile(options.initrdPath, "initrd");
            plan = loadMultiboot2(image, options, initrd.bytes(), memory);
            break;
        case ImageFormat::Linux:
            if (!options.initrdPath.empty())
                initrd = mapImageFile(options.initrdPath, "initrd");
            // Where ring 0 is emulated, the kernel's own decompressor runs for more than 15
            // minutes before it prints a line (docs/boot.md): a detected bzImage whose payload
            // has a PVH entry boots by PVH instead, from the payload kvmscope decompresses.
            if (options.format == ImageFormat::Auto && options.hostEmulatesRing0) {
                if (std::optional<BootPlan> pvh =
                        loadPvhIfItHasEntry(image, linuxOptions, initrd.bytes(), memory)) {
                    plan = std::move(*pvh);
                    plan.bzImageBootedByPvh = true;
                    break;
                }
            }
            plan = loadLinux(image, linuxOptions, initrd.bytes(), memory);
            break;
        case ImageFormat::Pvh:
            if (!options.initrdPath.empty())
                initrd = mapImageFile(options.initrdPath, "initrd");
            plan = loadPvh(image, linuxOptions, initrd.bytes(), memory);
            break;
        case ImageFormat::Elf:
            plan = loadElf(image, options.imagePath, memory);
            break;
        case ImageFormat::Flat:
        case ImageFormat::Auto: // detectFormat never returns Auto
            plan = loadFlat(image, options.imagePath, options.loadAddress, memory);
            break;
        }
    } catch (const InputError&) {
        checkUnchanged();
        throw;
    }
    checkUnchanged();
    if (!takesKernelArguments && !options.commandLine.empty())
        notes.push_back(fmt::format("the command line \"{}\" is ignored: only multiboot and "
                                    "Linux kernels receive one",
                                    options.commandLine));
    plan.notes.insert(plan.notes.begin(), notes.begin(), notes.end());
    plan.addedKernelParameters = addedParameters;
    return plan;
}

} // namespace

BootPlan loadImage(const BootOptions& options, GuestMemory& memory) {
    BootPlan plan = loadMappedImage(options, memory); // the files are unmapped on return
    // The loaders' temporaries (the decompressors' dictionaries and bounce buffers, the ELF
    // tables) are freed by now; glibc keeps freed heap memory for reuse, and the guest is about
    // to run for a long time without needing it: give it back to the kernel.
    ::malloc_trim(0);
    return plan;
}

} // namespace kvmscope::boot
