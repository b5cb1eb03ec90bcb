#include "firmware/Firmware.h"

#include "common/Error.h"
#include "common/InputFile.h"

#include <asm/processor-flags.h>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <sys/mman.h>
#include <utility>

namespace kvmscope::firmware {
namespace {

// Why the file cannot be the firmware; empty when its size is right.
std::string sizeProblem(uint64_t size) {
    if (size == 0 || size % kImageGranule != 0)
        return fmt::format("is {:#x} bytes, not a multiple of 64 KiB (SeaBIOS images are 128 "
                           "or 256 KiB)",
                           size);
    if (size < kShadowSize)
        return fmt::format("is {} KiB, less than the 128 KiB copied to {:#x}-{:#x}", size / 1024,
                           kShadowStart, kShadowStart + kShadowSize - 1);
    if (size > kMaxImageSize)
        return fmt::format("is {:#x} bytes, more than the 16 MiB of flash below 4 GiB", size);
    return {};
}

std::string packageHint(const FirmwareConfig& config) {
    if (config.path.empty())
        return fmt::format(" (the default BIOS: install Debian's package {}, or give "
                           "--firmware-file PATH)",
                           kBiosPackage);
    return fmt::format(" (Debian's package {} provides {})", kBiosPackage, kDefaultBiosPath);
}

InputFile openFirmware(const FirmwareConfig& config) {
    const std::string& path = config.biosPath();
    try {
        InputFile file(path, "firmware file");
        if (const std::string problem = sizeProblem(file.size()); !problem.empty())
            throw LoadError(path,
                            fmt::format("the firmware file {}{}", problem, packageHint(config)));
        return file;
    } catch (const LoadError& error) {
        if (std::string(error.what()).find(kBiosPackage) != std::string::npos)
            throw;
        throw LoadError(path,
                        std::string(error.what()).substr(path.size() + 2) + packageHint(config));
    }
}

kvm_segment realModeSegment(uint16_t selector, uint64_t base, uint8_t type) {
    kvm_segment segment{};
    segment.base = base;
    segment.limit = 0xffff;
    segment.selector = selector;
    segment.type = type;
    segment.present = 1;
    segment.s = 1;
    return segment;
}

} // namespace

const char* toString(FirmwareKind kind) {
    switch (kind) {
    case FirmwareKind::None:
        return "none";
    case FirmwareKind::Bios:
        return "bios";
    }
    return "?";
}

bool parseFirmwareKind(const std::string& text, FirmwareKind& kind) {
    if (text == "none")
        kind = FirmwareKind::None;
    else if (text == "bios")
        kind = FirmwareKind::Bios;
    else
        return false;
    return true;
}

const std::string& FirmwareConfig::biosPath() const {
    static const std::string defaultPath = kDefaultBiosPath;
    return path.empty() ? defaultPath : path;
}

std::vector<uint8_t> readVgaBios(const std::string& path) {
    const std::string hint =
        path == kDefaultVgaBiosPath
            ? fmt::format(" (the VGA BIOS SeaBIOS runs for the VGA function: install Debian's "
                          "package {}, or boot with --no-framebuffer)",
                          kBiosPackage)
            : fmt::format(" (Debian's package {} provides {})", kBiosPackage, kDefaultVgaBiosPath);
    std::vector<uint8_t> bytes;
    try {
        bytes = InputFile(path, "VGA BIOS").readAll();
    } catch (const LoadError& error) {
        throw LoadError(path, std::string(error.what()).substr(path.size() + 2) + hint);
    }
    if (bytes.size() < kOptionRomUnit || bytes[0] != 0x55 || bytes[1] != 0xaa)
        throw LoadError(path, "the VGA BIOS is not an option ROM (no 0x55 0xAA signature)" + hint);
    const size_t declared = size_t{bytes[2]} * kOptionRomUnit;
    if (declared == 0 || declared > bytes.size() || bytes.size() > kMaxOptionRomSize)
        throw LoadError(path, fmt::format("the VGA BIOS declares {} bytes in a file of {} (an "
                                          "option ROM is at most {} bytes){}",
                                          declared, bytes.size(), kMaxOptionRomSize, hint));
    return bytes;
}

void checkFirmwareFile(const FirmwareConfig& config) {
    (void)openFirmware(config);
}

FirmwareImage::FirmwareImage(const FirmwareConfig& config) : path_(config.biosPath()) {
    const InputFile file = openFirmware(config);
    std::vector<uint8_t> bytes = file.readAll();
    // Anonymous, page-aligned memory: a KVM memory slot needs page alignment, and the slot must
    // not see the file change under it.
    void* mapping =
        ::mmap(nullptr, bytes.size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED)
        throw Error(fmt::format("{}: cannot allocate {} bytes for the firmware: {}", path_,
                                bytes.size(), std::strerror(errno)));
    data_ = static_cast<uint8_t*>(mapping);
    size_ = bytes.size();
    std::memcpy(data_, bytes.data(), size_);
}

FirmwareImage::~FirmwareImage() {
    if (data_)
        ::munmap(data_, size_);
}

FirmwareImage::FirmwareImage(FirmwareImage&& other) noexcept
    : path_(std::move(other.path_)), data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

FirmwareImage& FirmwareImage::operator=(FirmwareImage&& other) noexcept {
    if (this != &other) {
        if (data_)
            ::munmap(data_, size_);
        path_ = std::move(other.path_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

void applyResetVector(kvm_regs& regs, kvm_sregs& sregs) {
    // SDM vol. 3A, table 9-1: segment types 0x3 (data, read/write, accessed) and 0xb (code,
    // execute/read, accessed).
    constexpr uint8_t kTypeData = 0x3;
    constexpr uint8_t kTypeCode = 0xb;
    constexpr uint8_t kTypeLdt = 0x2;
    constexpr uint8_t kTypeBusyTss16 = 0x3;
    regs = kvm_regs{};
    regs.rip = kResetIp;
    regs.rflags = X86_EFLAGS_FIXED;
    sregs.cs = realModeSegment(kResetCodeSelector, kResetCodeBase, kTypeCode);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = realModeSegment(0, 0, kTypeData);
    sregs.tr = realModeSegment(0, 0, kTypeBusyTss16);
    sregs.tr.s = 0;
    sregs.ldt = realModeSegment(0, 0, kTypeLdt);
    sregs.ldt.s = 0;
    sregs.gdt = {0, 0xffff, {}};
    sregs.idt = {0, 0x3ff, {}};
    sregs.cr0 = X86_CR0_CD | X86_CR0_NW | X86_CR0_ET; // 0x60000010
    sregs.cr2 = sregs.cr3 = sregs.cr4 = 0;
    sregs.efer = 0;
}

} // namespace kvmscope::firmware
