#include "machine/MachineConfig.h"

#include "boot/ImageLoader.h"
#include "common/Error.h"
#include "common/InputFile.h"
#include "devices/BochsDispi.h"
#include "devices/Framebuffer.h"
#include "machine/GuestMemory.h"
#include "storage/DiskImage.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <iterator>
#include <limits>

namespace kvmscope {

namespace {

// The dispi's limits (devices/BochsDispi.h): what a guest could set itself.
void checkFramebufferMode(const MachineConfig::Framebuffer& mode, const std::string& what) {
    if (mode.width < 1 || mode.width > BochsDispi::kMaxXres || mode.height < 1 ||
        mode.height > BochsDispi::kMaxYres)
        throw InputError(fmt::format("{}: the size must be between 1x1 and {}x{}", what,
                                     BochsDispi::kMaxXres, BochsDispi::kMaxYres));
    if (!isSupportedDepth(mode.bitsPerPixel))
        throw InputError(
            fmt::format("{}: the depth must be 15, 16, 24 or 32 bits per pixel", what));
}

// "1 TiB", "1023 GiB", "256 MiB", or the hexadecimal byte count when none fits exactly.
std::string describeSize(uint64_t bytes) {
    constexpr const char* kUnits[] = {"TiB", "GiB", "MiB", "KiB"};
    for (unsigned unit = 0; unit < std::size(kUnits); ++unit) {
        const unsigned shift = 40 - 10 * unit;
        if (bytes != 0 && bytes % (1ull << shift) == 0)
            return fmt::format("{} {}", bytes >> shift, kUnits[unit]);
    }
    return fmt::format("{:#x} bytes", bytes);
}

// The most RAM whose layout ends at or below `limit` (RAM skips the 32-bit hole).
uint64_t largestRamBelow(uint64_t limit) {
    if (limit <= GuestMemory::kMmioHoleEnd)
        return std::min(limit, GuestMemory::kMmioHoleStart);
    return limit - (GuestMemory::kMmioHoleEnd - GuestMemory::kMmioHoleStart);
}

} // namespace

void MachineConfig::validateForHost(const HostMemoryLimits& limits) const {
    const std::string option =
        fmt::format("--memory {} ({:#x})", describeSize(memorySize), memorySize);
    const auto placements = GuestMemory::layout(memorySize);
    const uint64_t end = placements.back().guestAddress + placements.back().size;
    const uint64_t addressLimit =
        limits.physicalAddressBits >= 64 ? UINT64_MAX : 1ull << limits.physicalAddressBits;
    if (end > addressLimit)
        throw InputError(fmt::format(
            "{}: guest RAM would end at {:#x} (RAM past 3 GiB is placed above the 32-bit MMIO "
            "hole, from 4 GiB), beyond this host's {}-bit guest-physical address space (KVM's "
            "CPUID 0x80000008 EAX[7:0]), which ends at {:#x}: at most {} of RAM fits",
            option, end, limits.physicalAddressBits, addressLimit,
            describeSize(largestRamBelow(addressLimit))));
    for (const auto& placement : placements)
        if (placement.size > limits.maxSlotSize)
            throw InputError(fmt::format("{}: the RAM at {:#x} would take one KVM memory slot of "
                                         "{}, more than the {} KVM maps in one slot",
                                         option, placement.guestAddress,
                                         describeSize(placement.size),
                                         describeSize(limits.maxSlotSize)));
    const bool withFirmware = firmware.kind != firmware::FirmwareKind::None;
    const uint64_t slots =
        placements.size() + (framebuffer.enabled ? 1 : 0) + (withFirmware ? 1 : 0);
    if (slots > limits.memorySlots)
        throw InputError(fmt::format("{}: needs {} KVM memory slots (RAM below and above the "
                                     "32-bit hole{}{}), but this host's KVM offers {} "
                                     "(KVM_CAP_NR_MEMSLOTS)",
                                     option, slots, framebuffer.enabled ? ", the framebuffer" : "",
                                     withFirmware ? ", the firmware" : "", limits.memorySlots));
}

void MachineConfig::checkInputFiles() const {
    if (!boot.imagePath.empty())
        boot::checkImageFile(boot.imagePath, "image");
    if (!boot.initrdPath.empty())
        boot::checkImageFile(boot.initrdPath, "initrd");
    if (!symbolsPath.empty()) {
        const InputFile symbols(symbolsPath, "symbol file");
    }
    if (firmware.kind == firmware::FirmwareKind::Bios)
        firmware::checkFirmwareFile(firmware);
    // The firmware runs the VGA BIOS for the VGA function, which only a framebuffer brings.
    if (firmware.kind == firmware::FirmwareKind::Bios && framebuffer.enabled)
        (void)firmware::readVgaBios();
    // Opened, checked and locked as the machine will, then let go: a missing, truncated,
    // unwritable or busy image stops the start here, before /dev/kvm.
    for (const storage::DiskSpec& disk : disks) {
        const storage::DiskImage image(disk);
    }
}

void MachineConfig::validate() const {
    if (memorySize < GuestMemory::kMinRamSize || memorySize > GuestMemory::kMaxRamSize)
        throw InputError(
            fmt::format("--memory {:#x}: must be between 1 MiB and 1 TiB", memorySize));
    if (memorySize % 4096 != 0)
        throw InputError(fmt::format("--memory {:#x}: must be a multiple of 4 KiB", memorySize));
    if (cpus < 1 || cpus > kMaxCpus)
        throw InputError(fmt::format("--cpus {}: must be between 1 and {}", cpus, kMaxCpus));
    if (firmware.kind == firmware::FirmwareKind::Bios && !boot.imagePath.empty())
        throw InputError(fmt::format("--firmware bios: the firmware boots from --disk and --cdrom, "
                                     "not from an image file; give the image ('{}') as "
                                     "--disk or --cdrom, or --firmware none to load it directly",
                                     boot.imagePath));
    size_t ideDrives = 0;
    size_t virtioDisks = 0;
    for (const storage::DiskSpec& disk : disks)
        ++(disk.interface == storage::DiskInterface::Ide ? ideDrives : virtioDisks);
    if (ideDrives > kMaxIdeDrives)
        throw InputError(fmt::format("--disk ...,if=ide and --cdrom: {} drives given, the IDE "
                                     "controller's two channels take at most {}",
                                     ideDrives, kMaxIdeDrives));
    if (virtioDisks > kMaxVirtioDisks)
        throw InputError(
            fmt::format("--disk: {} virtio disks given, at most {}", virtioDisks, kMaxVirtioDisks));
    if (framebuffer.enabled)
        checkFramebufferMode(framebuffer,
                             fmt::format("--framebuffer {}x{}x{}", framebuffer.width,
                                         framebuffer.height, framebuffer.bitsPerPixel));
}

void parseFramebufferMode(const std::string& text, MachineConfig::Framebuffer& framebuffer,
                          const std::string& what) {
    const std::string where = fmt::format("{} '{}'", what, text);
    uint32_t fields[3] = {};
    size_t position = 0;
    for (int field = 0; field < 3; ++field) {
        if (field > 0) {
            if (position >= text.size() || (text[position] != 'x' && text[position] != 'X'))
                throw InputError(
                    fmt::format("{}: expected WIDTHxHEIGHTxBPP such as 1024x768x32", where));
            ++position;
        }
        const size_t digitsStart = position;
        uint64_t value = 0;
        while (position < text.size() && std::isdigit(static_cast<unsigned char>(text[position]))) {
            value = value * 10 + static_cast<uint64_t>(text[position] - '0');
            if (value > 0xFFFF)
                throw InputError(fmt::format("{}: {} is too large", where,
                                             text.substr(digitsStart, position - digitsStart + 1)));
            ++position;
        }
        if (position == digitsStart)
            throw InputError(
                fmt::format("{}: expected WIDTHxHEIGHTxBPP such as 1024x768x32", where));
        fields[field] = static_cast<uint32_t>(value);
    }
    if (position != text.size())
        throw InputError(fmt::format("{}: expected WIDTHxHEIGHTxBPP such as 1024x768x32", where));
    MachineConfig::Framebuffer mode = framebuffer;
    mode.width = fields[0];
    mode.height = fields[1];
    mode.bitsPerPixel = fields[2];
    checkFramebufferMode(mode, where);
    framebuffer = mode;
}

uint64_t parseSize(const std::string& text, const std::string& what) {
    auto fail = [&] {
        return InputError(
            fmt::format("{} '{}': expected a size such as 256M, 2G or 1048576", what, text));
    };
    if (text.empty() || !std::isdigit(static_cast<unsigned char>(text.front())))
        throw fail();
    size_t digits = 0;
    uint64_t value = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
        const uint64_t digit = static_cast<uint64_t>(text[digits] - '0');
        if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10)
            throw fail();
        value = value * 10 + digit;
        ++digits;
    }
    std::string suffix = text.substr(digits);
    if (!suffix.empty() && (suffix.back() == 'B' || suffix.back() == 'b'))
        suffix.pop_back();
    if (suffix == "iB" || suffix == "i") // "MiB" after popping 'B' leaves "Mi"
        throw fail();
    if (suffix.size() == 2 && (suffix[1] == 'i' || suffix[1] == 'I'))
        suffix.pop_back();
    unsigned shift = 0;
    if (suffix.empty())
        shift = 0;
    else if (suffix == "K" || suffix == "k")
        shift = 10;
    else if (suffix == "M" || suffix == "m")
        shift = 20;
    else if (suffix == "G" || suffix == "g")
        shift = 30;
    else if (suffix == "T" || suffix == "t")
        shift = 40;
    else
        throw fail();
    if (shift && value > (std::numeric_limits<uint64_t>::max() >> shift))
        throw fail();
    return value << shift;
}

} // namespace kvmscope
