#pragma once
// One VM: its memory, buses, devices and vcpu runners, assembled from a MachineConfig.
// This is the one place where the machine is put together: where each device sits comes from the
// platform table (machine/PcPlatform.h), how it is wired to the VM and its neighbours from here.
#include "boot/Smbios.h"
#include "common/Signal.h"
#include "cpu/VcpuRunner.h"
#include "debug/ExitBreakpoints.h"
#include "kvm/Vm.h"
#include "machine/AddressBus.h"
#include "machine/GuestMemory.h"
#include "machine/KvmIrqLine.h"
#include "machine/MachineConfig.h"
#include "machine/MachineStop.h"

#include <array>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace kvmscope {

namespace kvm {
class System;
}
class Device;
class BusDevice;
class IrqLine;
class DeviceTimerThread;
class SerialSink;
class Uart16550;
class Framebuffer;
class FramebufferSlot;
class MemorySlots;
class BochsDispi;
class VgaText;
namespace display {
class DisplaySource;
}
namespace boot {
struct BootPlan;
}
namespace debug {
class Debugger;
}
namespace pci {
class PciBus;
class PciIntxRouter;
} // namespace pci
namespace pci {
class Piix3Ide;
}
namespace storage {
class DiskImage;
}
namespace firmware {
class FwCfg;
class FirmwareImage;
} // namespace firmware

class Machine : private cpu::VcpuHost {
public:
    // Creates the VM, its memory slots, the in-kernel irqchip and PIT, the devices and the vcpus
    // (their threads start parked). `serialSink` receives COM1's output; it must outlive the
    // machine. Throws InputError for a bad config, kvm::KvmError when KVM refuses.
    // `diskImages`: the open images of config.disks (by index), as diskImages() of the machine
    // this one replaces hands them over; empty: the machine opens and locks them itself.
    Machine(const MachineConfig& config, kvm::System& system, SerialSink& serialSink,
            std::vector<std::shared_ptr<storage::DiskImage>> diskImages = {});
    ~Machine() override;

    // Loads the image into guest memory and sets the boot processor's registers.
    // Throws LoadError naming the file, field and value.
    const boot::BootPlan& boot();
    // Instead of boot() for a machine a snapshot restores (snapshot/MachineSnapshot.h): what
    // boot() leaves outside RAM that no device declares, i.e. fw_cfg's copies of the ACPI and
    // SMBIOS tables. The tables' RAM copies it writes are then overwritten by the saved RAM.
    // Defined in MachineRestore.cpp.
    void prepareForRestore();

    // For a snapshot of the paused machine (snapshot/MachineSnapshot.h): the virtio devices
    // take no more requests from their queues, and every request already taken completes (its
    // data in RAM or on the disk, its chain in the used ring). Throws Error naming the device
    // when one is still being served after `timeoutMs`. Holds nest; each one that returned is
    // released by releaseDeviceRequests (MachineVirtio.cpp).
    void holdDeviceRequests(int timeoutMs);
    // Ends a hold; after the last, every queue is looked at again for what the guest offered
    // meanwhile.
    void releaseDeviceRequests();

    void run();   // resume every vcpu
    void pause(); // pause every vcpu (returns at once; see waitUntilPaused)
    bool waitUntilPaused(int timeoutMs);
    // Stops the VM with `stop` unless it already stopped; callable from any thread.
    void requestStop(const MachineStop& stop);
    // Waits for the VM to stop; nullopt when `timeoutMs` passed first (-1: forever).
    std::optional<MachineStop> waitForStop(int timeoutMs = -1);
    std::optional<MachineStop> stopState() const;

    const MachineConfig& config() const { return config_; }
    GuestMemory& memory() { return *memory_; }
    const AddressBus& ioBus() const { return ioBus_; }
    const AddressBus& mmioBus() const { return mmioBus_; }
    kvm::Vm& vm() { return vm_; }
    cpu::VcpuRunner& vcpu(size_t index) { return *runners_.at(index); }
    size_t vcpuCount() const { return runners_.size(); }
    // Every device, user-space and kernel, in display order.
    std::vector<Device*> devices() const;
    // Every interrupt line a user-space device drives, as it is now (machine/KvmIrqLine.h), in
    // the order they were wired; several may share a GSI.
    std::vector<IrqLineRecord> irqLines() const;
    Uart16550& serial() { return *uart_; }
    // The screen (graphics on the framebuffer, or VGA text); its one consumer is the display view
    // (display/DisplaySource.h).
    display::DisplaySource& display() { return *display_; }
    // Null when the machine has no framebuffer (MachineConfig::framebuffer.enabled false).
    Framebuffer* framebuffer() { return framebuffer_; }
    BochsDispi* dispi() { return dispi_; }
    // PCI bus 0 with the i440FX host bridge and the PIIX3 ISA bridge (docs/devices.md, "PCI").
    pci::PciBus& pciBus() { return *pciBus_; }
    // The open images of config().disks, by index, for the machine that replaces this one.
    const std::vector<std::shared_ptr<storage::DiskImage>>& diskImages() const {
        return diskImages_;
    }
    const boot::BootPlan* bootPlan() const { return bootPlan_.get(); }
    // The debug engine (docs/debugger.md): breakpoints, stepping, all-stop.
    debug::Debugger& debugger() { return *debugger_; }

    // Emitted once, on the thread that stopped the VM (a vcpu thread, or the caller of
    // requestStop), after waitForStop() can see the stop.
    Signal<MachineStop> stopped;

private:
    void vcpuStopped(const cpu::VcpuStop& stop) override;
    bool machineStopping() const override;

    void createMemory();
    void createDevices(kvm::System& system, SerialSink& serialSink);
    // The framebuffer's memslot, before the irqchip; the device joins devices_ later.
    void createFramebufferMemory();
    void createDisplayDevices();
    // PCI bus 0, its configuration ports and ECAM window, the chipset functions, INTx routing.
    void createPciDevices();
    // MachineStorage.cpp: the images of config_.disks, by index: `images` when given (a reboot
    // hands over the last boot's), else opened and locked here.
    void openDiskImages(std::vector<std::shared_ptr<storage::DiskImage>> images);
    // The PIIX3 IDE function at 00:01.1 with both channels and the IDE drives of config_.disks.
    void createIdeDevices();
    // Which entry of config_.disks sits at each IDE position (primary master, primary slave,
    // secondary master, secondary slave); -1: none.
    static constexpr size_t kIdeDrivePositions = 4;
    std::array<int, kIdeDrivePositions> ideDrivePositions() const;
    // --disk with the virtio interface: a virtio-blk function per disk (MachineVirtio.cpp).
    void createVirtioDevices();
    // --firmware bios: the image's read-only memslot below 4 GiB (firmware/Firmware.h).
    void createFirmwareMemory();
    // fw_cfg (port 0x510) and the firmware's debug console (port 0x402).
    void createFirmwareDevices();
    // The ACPI and SMBIOS tables at their direct-boot places, and the same as fw_cfg files.
    void writePlatformTables();
    // The ACPI and SMBIOS tables a direct boot got, at `rsdp` and `smbiosEntry`, as fw_cfg files.
    void fillFwCfgTables(uint64_t rsdp, uint64_t smbiosEntry);
    // boot() with --firmware bios: the tables for fw_cfg, the shadow BIOS, the reset vector.
    const boot::BootPlan& bootFirmware();
    void createVcpus(kvm::System& system, const std::vector<kvm_cpuid_entry2>& supported);
    // A new line to GSI `gsi` for the device named `owner`, kept in irqLines_ (`standby`:
    // KvmIrqLine's).
    KvmIrqLine& makeIrqLine(uint32_t gsi, std::string owner, bool standby = false);
    // Puts a legacy device's ports where the platform table says (machine/PcPlatform.h).
    void addLegacyDevice(const pc::LegacyDevice& place, BusDevice& busDevice, Device& device);

    MachineConfig config_;
    kvm::Vm vm_;
    std::unique_ptr<GuestMemory> memory_;
    AddressBus ioBus_{"I/O port"};
    AddressBus mmioBus_{"MMIO"};
    std::vector<std::unique_ptr<KvmIrqLine>> irqLines_;
    // The devices' timers (the RTC's): a thread started by the first timer armed. Declared before
    // devices_ so that it outlives them: a device's timer unwatches itself when the device dies.
    std::unique_ptr<DeviceTimerThread> deviceTimers_;
    std::vector<std::shared_ptr<storage::DiskImage>> diskImages_; // outlive the devices using them
    std::vector<std::unique_ptr<Device>> devices_;
    Uart16550* uart_ = nullptr;
    // Checked by every vcpu thread on each exit; declared before runners_ so it outlives them.
    debug::ExitBreakpoints exitBreakpoints_;
    std::unique_ptr<Framebuffer> unattachedFramebuffer_; // until createDisplayDevices
    Framebuffer* framebuffer_ = nullptr;       // in devices_; its memory is framebufferSlot_'s
    std::unique_ptr<MemorySlots> memorySlots_; // the VM's memslot calls, for framebufferSlot_
    std::unique_ptr<FramebufferSlot> framebufferSlot_; // follows the VGA function's BAR0
    BochsDispi* dispi_ = nullptr;
    VgaText* vgaText_ = nullptr;
    std::unique_ptr<pci::PciIntxRouter> pciIrqRouter_;
    pci::PciBus* pciBus_ = nullptr;          // in devices_
    pci::Piix3Ide* ideController_ = nullptr; // in devices_
    // The virtio devices' I/O thread and KVM wiring (MachineVirtio.cpp). Declared after the PCI
    // bus and router so that it goes first: it disconnects the virtio functions (in devices_)
    // and stops the thread, so no request completes into a bus that is gone.
    struct Virtio;
    struct VirtioDeleter {
        void operator()(Virtio* virtio) const;
    };
    std::unique_ptr<Virtio, VirtioDeleter> virtio_;
    std::unique_ptr<display::DisplaySource> display_;
    firmware::FwCfg* fwCfg_ = nullptr;                       // in devices_
    std::unique_ptr<firmware::FirmwareImage> firmwareImage_; // --firmware bios; memslot's memory
    std::vector<std::unique_ptr<cpu::VcpuRunner>> runners_;
    std::unique_ptr<boot::BootPlan> bootPlan_;
    boot::SmbiosProcessor smbiosProcessor_; // from vcpu 0's CPUID, for the SMBIOS tables

    mutable std::mutex stopMutex_;
    std::condition_variable stopChanged_;
    std::optional<MachineStop> stop_; // guarded by stopMutex_
    std::atomic<bool> stopping_{false};
    std::unique_ptr<debug::Debugger> debugger_;
};

} // namespace kvmscope
