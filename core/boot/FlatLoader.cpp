#include "boot/FlatLoader.h"

#include "boot/GuestCopy.h"
#include "boot/GuestLayout.h"
#include "boot/ImagePlacement.h"

#include <fmt/format.h>

namespace kvmscope::boot {

BootPlan loadFlat(std::span<const uint8_t> image, const std::string& path, uint64_t loadAddress,
                  GuestMemory& memory) {
    // Real-mode addresses are segment * 16 + offset with 16-bit segments: 1 MiB (plus the HMA,
    // which kvmscope does not use for loading) is the reach.
    if (loadAddress >= layout::kHighMemoryStart)
        throw LoadError(path, fmt::format("load address {:#x} is not below 1 MiB ({:#x}): a flat "
                                          "image runs in real mode",
                                          loadAddress, layout::kHighMemoryStart));
    checkImagePlacement(path,
                        fmt::format("the flat image ({:#x} bytes at load address {:#x})",
                                    image.size(), loadAddress),
                        loadAddress, image.size(), memory);
    copyIntoGuest(memory, loadAddress, image);

    BootPlan plan;
    plan.format = ImageFormat::Flat;
    plan.mode = CpuMode::Real;
    plan.realModeSegment = static_cast<uint16_t>((loadAddress >> 4) & 0xf000);
    plan.entry = loadAddress;
    const uint64_t instructionPointer = loadAddress - uint64_t(plan.realModeSegment) * 16;
    plan.stack = instructionPointer;
    plan.imageStart = loadAddress;
    plan.imageEnd = loadAddress + image.size();
    plan.notes.push_back(fmt::format("flat image: {:#x} bytes at {:#x}, entered in real mode at "
                                     "CS:IP {:04x}:{:04x}, SS:SP {:04x}:{:04x}",
                                     image.size(), loadAddress, plan.realModeSegment,
                                     instructionPointer, plan.realModeSegment, plan.stack));
    return plan;
}

} // namespace kvmscope::boot
