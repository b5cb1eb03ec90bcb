#include "boot/BootPlan.h"

namespace kvmscope::boot {

const char* toString(ImageFormat format) {
    switch (format) {
    case ImageFormat::Auto:
        return "auto";
    case ImageFormat::Flat:
        return "flat";
    case ImageFormat::Multiboot:
        return "multiboot";
    case ImageFormat::Elf:
        return "elf";
    case ImageFormat::Linux:
        return "linux";
    case ImageFormat::Pvh:
        return "pvh";
    case ImageFormat::Multiboot2:
        return "multiboot2";
    }
    return "unknown";
}

bool parseImageFormat(const std::string& text, ImageFormat& format) {
    for (ImageFormat candidate :
         {ImageFormat::Auto, ImageFormat::Flat, ImageFormat::Multiboot, ImageFormat::Elf,
          ImageFormat::Linux, ImageFormat::Pvh, ImageFormat::Multiboot2}) {
        if (text == toString(candidate)) {
            format = candidate;
            return true;
        }
    }
    return false;
}

const char* toString(CpuMode mode) {
    switch (mode) {
    case CpuMode::Real:
        return "real mode";
    case CpuMode::Protected32:
        return "32-bit protected mode";
    case CpuMode::Long64:
        return "64-bit long mode";
    }
    return "unknown";
}

} // namespace kvmscope::boot
