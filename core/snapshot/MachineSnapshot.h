#pragma once
// Saving a whole paused machine to a snapshot file and building it again from one
// (docs/snapshots.md): the configuration and file identities ("machine"), the VM's in-kernel
// chips and clock ("vm"), each vcpu ("vcpu.N"), each user-space device's saved state
// ("device:NAME") and RAM ("ram").
//
// A restore is two steps, so that a bad file is refused before anything is created: reading a
// MachineImage checks the whole file without KVM (every section decoded, the RAM size and vcpu
// count agreeing with the configuration, the disk and firmware images unchanged); then a Machine
// is created from image.config() (no image loaded: RAM holds everything) and restoreMachine
// checks the host's CPUID and puts the state in before any vcpu runs.
#include "devices/DeviceState.h"
#include "snapshot/KvmState.h"
#include "snapshot/MachineRecord.h"
#include "snapshot/SnapshotFile.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kvmscope {
class Machine;
namespace kvm {
class System;
}
} // namespace kvmscope

namespace kvmscope::snapshot {

inline constexpr const char* kRamSection = "ram";
inline constexpr const char* kDevicePrefix = "device:";

class MachineImage {
public:
    // Maps and checks `path`; throws LoadError naming the file, the section and the value.
    explicit MachineImage(const std::string& path);

    const std::string& path() const { return reader_.path(); }
    const MachineConfig& config() const { return record_.config; }
    const MachineRecord& record() const { return record_; }
    const SnapshotReader& reader() const { return reader_; }
    const VmState& vm() const { return vm_; }
    const std::vector<VcpuState>& vcpus() const { return vcpus_; }
    // By section name ("device:COM1 (16550A UART)").
    const std::map<std::string, SavedDeviceState>& devices() const { return devices_; }

private:
    SnapshotReader reader_;
    MachineRecord record_;
    VmState vm_;
    std::vector<VcpuState> vcpus_;
    std::map<std::string, SavedDeviceState> devices_;
};

struct SaveStats {
    uint64_t ramPagesStored = 0;
    uint64_t ramPagesZero = 0;
    size_t devices = 0;
};
// Saves `machine` to `path` (a temporary file beside it, renamed when complete). The machine must
// be paused (Machine::pause and waitUntilPaused): each vcpu's state is read on its own thread.
// The virtio devices' requests are held meanwhile (Machine::holdDeviceRequests): those taken
// before complete first, the disk images are flushed, and the queues are served again at the
// end (a caller that stops the machine after the save holds them itself first, so that nothing
// reaches the disks after the snapshot recorded them). Throws Error when a request does not
// complete in time, a disk cannot be flushed or the file cannot be written (`path` is then
// untouched), kvm::KvmError when KVM refuses a read.
SaveStats saveMachine(Machine& machine, const std::string& path);

// Puts `image`'s state into `machine`, freshly created from image.config() and not booted, before
// any of its vcpus runs. Throws LoadError naming the file, the section and the value (a CPUID
// feature this host lacks, a device whose state does not fit), kvm::KvmError when KVM refuses.
void restoreMachine(Machine& machine, const MachineImage& image, kvm::System& system);

} // namespace kvmscope::snapshot
