#include "boot/ElfLoader.h"

#include "boot/ElfImage.h"
#include "boot/GuestLayout.h"

#include <fmt/format.h>

namespace kvmscope::boot {

BootPlan loadElf(std::span<const uint8_t> image, const std::string& path, GuestMemory& memory) {
    const ElfImage elf = parseElf(image, path);
    const uint64_t entry = physicalEntry(elf, path);
    // X86Setup identity-maps only [0, 4 GiB) for long mode; the first instruction must be there.
    if (elf.is64 && entry >= layout::kFourGib)
        throw LoadError(path, fmt::format("e_entry {:#x} (physical {:#x}) lies above 4 GiB, "
                                          "outside the identity map kvmscope sets up",
                                          elf.entry, entry));
    const LoadedRange loaded = loadElfSegments(elf, image, path, memory, {layout::kBootStackRange});

    BootPlan plan;
    plan.format = ImageFormat::Elf;
    plan.mode = elf.is64 ? CpuMode::Long64 : CpuMode::Protected32;
    plan.entry = entry;
    plan.stack = layout::kBootStackTop;
    plan.imageStart = loaded.start;
    plan.imageEnd = loaded.end;
    plan.notes.push_back(fmt::format("ELF{} image: {} segment(s) in [{:#x}, {:#x}), entry {:#x}, "
                                     "{}",
                                     elf.is64 ? 64 : 32, elf.segments.size(), loaded.start,
                                     loaded.end, entry, toString(plan.mode)));
    return plan;
}

} // namespace kvmscope::boot
