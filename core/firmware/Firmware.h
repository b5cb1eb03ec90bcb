#pragma once
// Booting through PC firmware (--firmware bios): SeaBIOS from Debian's `seabios` package, its
// image mapped read-only at the top of the 32-bit address space as the flash of a PC is, its
// last 128 KiB copied into RAM at 0xE0000-0xFFFFF (the shadow the BIOS runs from and keeps its
// data in), and the boot vcpu at the reset vector. What the firmware learns of the machine it
// reads through fw_cfg (firmware/FwCfg.h, firmware/FirmwareFiles.h). See docs/boot.md,
// "Firmware".
#include "kvm/compat.h"
#include "machine/PcPlatform.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace kvmscope::firmware {

enum class FirmwareKind {
    None, // kvmscope's own loaders enter the image directly (the default)
    Bios, // a legacy BIOS image (SeaBIOS) starts at the reset vector
};

const char* toString(FirmwareKind kind);
// Parses "none" and "bios"; returns false for anything else.
bool parseFirmwareKind(const std::string& text, FirmwareKind& kind);

// Debian 12's seabios package: the 256 KiB build that QEMU's PC machines use.
inline constexpr char kDefaultBiosPath[] = "/usr/share/seabios/bios-256k.bin";
inline constexpr char kBiosPackage[] = "seabios";

// The VGA BIOS for the machine's VGA function (devices/StdVgaFunction.h): Debian's seabios
// package ships SeaVGABIOS built for each adapter QEMU emulates; vgabios-stdvga is the build for
// the Bochs/QEMU standard VGA (its VBE modes go through the Bochs dispi). kvmscope hands it to
// SeaBIOS through fw_cfg (FirmwareFiles.h, pciOptionRomFile).
inline constexpr char kDefaultVgaBiosPath[] = "/usr/share/seabios/vgabios-stdvga.bin";
// PCI Firmware Specification 3.0, 5.1: an option ROM image starts with 0x55 0xAA and byte 2 is
// its length in 512-byte units, so an image is at most 255 * 512 bytes; SeaBIOS also wants it
// whole in the 128 KiB below the BIOS (0xC0000-0xDFFFF).
inline constexpr size_t kOptionRomUnit = 512;
inline constexpr size_t kMaxOptionRomSize = 255 * kOptionRomUnit;

// Reads the VGA BIOS at `path` and checks that it is an option ROM (signature, a length that the
// file holds). Throws LoadError naming the file and, for the default path, the Debian package.
std::vector<uint8_t> readVgaBios(const std::string& path = kDefaultVgaBiosPath);

// An option ROM the firmware finds as the fw_cfg file genroms/NAME and runs after the VGA BIOS
// (SeaBIOS: src/optionroms.c, run_file_roms); a PnP ROM with a boot entry vector becomes a boot
// option.
struct OptionRom {
    std::string name; // under genroms/
    std::vector<uint8_t> bytes;
};

struct FirmwareConfig {
    FirmwareKind kind = FirmwareKind::None;
    std::string path;                  // --firmware-file; empty: kDefaultBiosPath
    std::vector<OptionRom> optionRoms; // extra ROMs for the firmware (tests use one to boot)

    const std::string& biosPath() const;
};

// Where the image goes: flash ends at 4 GiB. SeaBIOS images are 128 or 256 KiB; kvmscope takes
// any multiple of 64 KiB up to 16 MiB, which ends just above KVM's TSS pages.
inline constexpr uint64_t kFlashEnd = 0x1'0000'0000;
inline constexpr uint64_t kImageGranule = 64 * 1024;
inline constexpr uint64_t kMaxImageSize = 16 * 1024 * 1024;
// The legacy BIOS area the image's last 128 KiB are copied to (the "isa-bios" of QEMU's PC).
inline constexpr uint64_t kShadowStart = 0xe0000;
inline constexpr uint64_t kShadowSize = 0x20000;
static_assert(kShadowStart + kShadowSize == 0x100000);

// The largest image lies above every fixed address of the platform: KVM's identity map and
// TSS pages, the APICs and the windows the PCI BARs (the framebuffer among them) may take.
static_assert(kFlashEnd - kMaxImageSize >= pc::kKvmTssAddress + pc::kKvmTssSize);
static_assert(pc::kKvmIdentityMapAddress + 4096 == pc::kKvmTssAddress);
static_assert(kFlashEnd - kMaxImageSize > pc::kLocalApicAddress);
static_assert(kFlashEnd - kMaxImageSize >= pc::kPciMmioWindows.back().end);
static_assert(kFlashEnd - kMaxImageSize >= pc::kMmioHoleStart);

// Checks the file `config` names, without reading more than its size: it exists, is a regular
// file, and its size is a non-zero multiple of 64 KiB of at most 16 MiB, at least the shadow's
// 128 KiB. Throws LoadError naming the file and, for the default path, the Debian package.
void checkFirmwareFile(const FirmwareConfig& config);

// The image, read into page-aligned memory that a KVM memory slot can map. Move-only.
class FirmwareImage {
public:
    // Reads and checks the file (as checkFirmwareFile); throws LoadError.
    explicit FirmwareImage(const FirmwareConfig& config);
    ~FirmwareImage();
    FirmwareImage(FirmwareImage&& other) noexcept;
    FirmwareImage& operator=(FirmwareImage&& other) noexcept;
    FirmwareImage(const FirmwareImage&) = delete;
    FirmwareImage& operator=(const FirmwareImage&) = delete;

    const std::string& path() const { return path_; }
    uint64_t size() const { return size_; }
    // Where the image is mapped: its last byte at 4 GiB - 1.
    uint64_t guestAddress() const { return kFlashEnd - size_; }
    uint8_t* data() { return data_; }
    std::span<const uint8_t> bytes() const { return {data_, size_}; }
    // The image's last 128 KiB, which go to kShadowStart.
    std::span<const uint8_t> shadow() const { return bytes().last(kShadowSize); }

private:
    std::string path_;
    uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
};

// The state the boot processor has after RESET (Intel SDM vol. 3A, 9.1.1 and table 9-1): real
// mode, CS selector 0xF000 with base 0xFFFF0000, IP 0xFFF0, so that the first instruction is
// fetched from 0xFFFFFFF0, 16 bytes below the end of the flash; CR0 = 0x60000010, the other
// segments 0 with 64 KiB limits, the IDT at 0 with limit 0x3FF. `sregs` comes from
// KVM_GET_SREGS: apic_base and the interrupt bitmap are kept.
void applyResetVector(kvm_regs& regs, kvm_sregs& sregs);
inline constexpr uint16_t kResetCodeSelector = 0xf000;
inline constexpr uint64_t kResetCodeBase = 0xffff'0000;
inline constexpr uint64_t kResetIp = 0xfff0;

} // namespace kvmscope::firmware
