#pragma once
// One configured guest across its boots, for every front end (the headless runner, the window's
// MachineSession, tests): the configuration, the current Machine, boot and symbol loading, the
// reboot policy and the boot count, the kernel devices a user added, the exit counts of earlier
// boots, and the optional gdb server. Front ends keep only what is theirs: signals, deadline and
// exit status (app/Headless.cpp), Qt signals and state texts (ui/session/MachineSession).
//
// A reboot is a new Machine: fresh RAM, devices and vcpus, the image loaded again, as a PC's
// reset. The gdb server stays at its address across it: the client is told that the old machine
// exited (gdb's `W` reply) and can attach again to the new one (docs/debugger.md).
//
// Not thread-safe: one thread (the front end's) calls everything here; the machine's own threads
// only reach the host through the machine's signals, which the front end handles.
#include "common/Signal.h"
#include "debug/gdb/GdbServer.h"
#include "kvm/System.h" // every front end opens /dev/kvm to hand it to a host
#include "machine/MachineConfig.h"
#include "machine/MachineStop.h"
#include "trace/ExitTrace.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kvmscope {

class Device;
class Machine;
class SerialSink;
namespace debug::gdb {
class MachineGdbTarget;
}
namespace snapshot {
class MachineImage;
}

class MachineHost {
public:
    // Which symbols a boot gives the debugger.
    enum class Symbols {
        Named,        // only a file named by the configuration (a bad one is bad input)
        NamedOrImage, // that, else the image's own ELF .symtab when it has one
    };
    struct Options {
        // A guest that resets itself (i8042 pulse, port 0xCF9; a triple fault is a crash) boots
        // again, as a PC does; off: its reset ends the run (--no-reboot).
        bool rebootOnGuestReset = true;
        Symbols symbols = Symbols::NamedOrImage;
        // The first machine is this snapshot's, built from its configuration (which must be the
        // host's `config`) and restored instead of booted (snapshot/MachineSnapshot.h); a
        // reboot boots the configuration as usual. Null: boot.
        std::shared_ptr<const snapshot::MachineImage> restore;
    };
    using ExitCounts = std::array<uint64_t, trace::ExitTrace::kReasonCount>;

    // Boots the first machine, or restores it (Options::restore), not running yet. Throws
    // InputError (LoadError for the image or the snapshot) and kvm::KvmError as Machine does.
    // `sink` outlives the host.
    MachineHost(const MachineConfig& config, kvm::System& system, SerialSink& sink,
                const Options& options);
    // The gdb server first, then the added devices (their fds close before the VM's), then the
    // machine, which joins its vcpu threads.
    ~MachineHost();
    MachineHost(const MachineHost&) = delete;
    MachineHost& operator=(const MachineHost&) = delete;

    const MachineConfig& config() const { return config_; }
    kvm::System& system() { return system_; }
    Machine& machine() { return *machine_; }
    const Machine& machine() const { return *machine_; }
    // Machines booted so far, this one included (1 after construction). Notifications queued by
    // an earlier machine's threads carry its number and can be told stale by it.
    unsigned boots() const { return boots_; }

    // The reboot policy: whether `stop` boots the guest again (a guest reset while
    // rebootOnGuestReset holds).
    bool rebootsAfter(const MachineStop& stop) const;
    bool rebootOnGuestReset() const { return options_.rebootOnGuestReset; }
    void setRebootOnGuestReset(bool reboot) { options_.rebootOnGuestReset = reboot; }

    // Replaces the machine by a fresh one booted from the configuration, not running. The new one
    // is booted first: when that throws (the image changed on disk), the old machine stays as it
    // was. The exit counts of the old machine join exitCountsOfEarlierBoots(); the kernel devices
    // added to it are gone with its VM; a gdb server moves to the new machine.
    void reboot();
    // Emitted by reboot() on its caller's thread: drop every pointer into the old machine ...
    Signal<> machineAboutToBeReplaced;
    // ... and bind to machine() again.
    Signal<> machineReplaced;

    // The machine's devices followed by the kernel devices added to it.
    std::vector<Device*> devices() const;
    // KVM_CREATE_DEVICE of `type` on the machine's VM (a VM ioctl: no vcpu is touched), numbered
    // after the devices of the same type. Throws kvm::KvmError when the kernel refuses.
    Device& addKernelDevice(uint32_t type);
    // A kernel device type the machine's VM accepts, as a front end offers it.
    struct KernelDeviceOffer {
        uint32_t type = 0;
        std::string name;   // "KVM_DEV_TYPE_VFIO", or "type N" for types newer than the headers
        unsigned added = 0; // devices of this type added so far
        // KVM allows one per VM (virt/kvm/vfio.c answers a second KVM_CREATE_DEVICE with EBUSY).
        bool onePerVm = false;
    };
    // Every type KVM_CREATE_DEVICE_TEST accepts on the machine's VM (the test creates nothing),
    // in type order.
    std::vector<KernelDeviceOffer> kernelDeviceOffers() const;
    // The name of kernel device `type` (kvm::DeviceFd::typeName).
    static std::string kernelDeviceTypeName(uint32_t type);

    // Exits per reason (index KVM_EXIT_*) of the machines that earlier boots ran, summed.
    const ExitCounts& exitCountsOfEarlierBoots() const { return earlierBootsExits_; }
    // The current machine's, summed over its vcpus.
    ExitCounts exitCountsOfThisBoot() const;

    // Serves the machine to gdb at `endpoint`, or at the first free port of `ports` from
    // endpoint.port on. Throws Error naming the address when none can be bound, and when a
    // server already runs.
    void serveGdb(const debug::gdb::GdbEndpoint& endpoint, uint16_t ports = 1);
    void stopGdb();
    bool gdbServing() const { return gdbServer_ != nullptr; }
    // "HOST:PORT" of the server; empty when none serves.
    std::string gdbAddress() const;
    uint16_t gdbPort() const;
    bool gdbClientConnected() const;

private:
    std::unique_ptr<Machine> bootMachine();

    MachineConfig config_;
    kvm::System& system_;
    SerialSink& sink_;
    Options options_;
    std::unique_ptr<Machine> machine_;
    unsigned boots_ = 0;
    ExitCounts earlierBootsExits_{};
    // Declared after machine_, so destroyed first: their fds close before the VM's.
    std::vector<std::unique_ptr<Device>> addedDevices_;
    // The server's address, kept across reboots; the target is the current machine's.
    debug::gdb::GdbEndpoint gdbEndpoint_;
    std::unique_ptr<debug::gdb::MachineGdbTarget> gdbTarget_;
    std::unique_ptr<debug::gdb::GdbServer> gdbServer_; // last: it calls gdbTarget_
};

} // namespace kvmscope
