#pragma once
// Everything needed to assemble and boot one VM; filled by the CLI, the GUI's dialog or a test.
#include "boot/BootPlan.h"
#include "firmware/Firmware.h"
#include "storage/DiskSpec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kvmscope {

// What the host's KVM lets guest RAM use; Machine probes it through kvm::System.
struct HostMemoryLimits {
    unsigned physicalAddressBits = 0; // guest RAM must end at or below 2^bits
    uint64_t memorySlots = 0;         // KVM_CAP_NR_MEMSLOTS
    uint64_t maxSlotSize = 0;         // bytes one memory slot may map
};

struct MachineConfig {
    std::string name = "vm";
    uint64_t memorySize = 256ull << 20;
    unsigned cpus = 1;
    boot::BootOptions boot;
    // --firmware bios: SeaBIOS starts at the reset vector instead of a loader entering the image
    // (firmware/Firmware.h); --firmware-file names its image. No image is loaded then.
    firmware::FirmwareConfig firmware;
    // --disk and --cdrom, in the order given: virtio-blk disks, IDE disks and CD-ROMs
    // (storage/DiskSpec.h). The firmware boots from them; a direct boot's kernel sees them too.
    std::vector<storage::DiskSpec> disks;
    // Create one kernel device (KVM_CREATE_DEVICE) of every type the host offers, so that its
    // attributes can be inspected. It does nothing for the guest, and tearing a VFIO device down
    // costs ~10 ms at exit on some hosts, so the headless CLI leaves it off unless asked.
    bool inspectKernelDevices = true;
    // On a host whose KVM emulates guest ring-0 code, append to a Linux kernel's command line the
    // parameters that avoid instructions KVM's emulator cannot run
    // (boot/linux/EmulatedHostParameters.h), and hide the KVM features used through hypercalls
    // from every vcpu's CPUID (machine/Cpuid.h); --no-host-workarounds turns both off.
    bool hostWorkarounds = true;
    // The linear framebuffer (devices/Framebuffer.h) and the mode the Bochs dispi starts with,
    // which a Linux kernel is told about through screen_info (--framebuffer WxHxBPP,
    // --no-framebuffer). It costs nothing while nobody looks at the display.
    struct Framebuffer {
        bool enabled = true;
        uint32_t width = 1024;
        uint32_t height = 768;
        uint32_t bitsPerPixel = 32;
    } framebuffer;
    // --symbols: an ELF or System.map whose symbols the debugger shows as function+offset; when
    // empty, the image's own ELF .symtab is used if it has one (Debugger::loadSymbols).
    std::string symbolsPath;

    static constexpr unsigned kMaxCpus = 255;     // xAPIC ids (the MP table's limit)
    static constexpr size_t kMaxIdeDrives = 4;    // two channels, master and slave each
    static constexpr size_t kMaxVirtioDisks = 16; // one PCI slot each on bus 0

    // Throws InputError naming the field and the value when something is out of range.
    void validate() const;
    // Opens the files named (image, initrd, symbols, firmware, disks) as the loaders will, and
    // throws their LoadError when one cannot be read: missing, empty, or neither a regular file nor
    // a block device; a firmware image also of the wrong size. Needs no KVM: the command line
    // refuses a bad file before it opens /dev/kvm.
    void checkInputFiles() const;
    // Throws InputError naming --memory, its value and the limit when guest RAM, laid out as
    // GuestMemory::layout does, and the framebuffer's memory slot do not fit `limits`.
    void validateForHost(const HostMemoryLimits& limits) const;
};

// Parses a framebuffer mode "WxHxBPP" (e.g. 1024x768x32) into `framebuffer`'s size and depth and
// checks it against what the dispi offers; throws InputError naming `what` and the value.
void parseFramebufferMode(const std::string& text, MachineConfig::Framebuffer& framebuffer,
                          const std::string& what);

// Parses "256M", "2G", "1048576", "64K" (binary units); throws InputError naming `what`.
uint64_t parseSize(const std::string& text, const std::string& what);

} // namespace kvmscope
