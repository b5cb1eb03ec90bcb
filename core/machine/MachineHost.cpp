#include "machine/MachineHost.h"

#include "common/Error.h"
#include "cpu/VcpuRunner.h"
#include "debug/Debugger.h"
#include "debug/gdb/MachineGdbTarget.h"
#include "devices/kernel/KernelDevice.h"
#include "kvm/System.h"
#include "kvm/Vm.h"
#include "log/Log.h"
#include "machine/Machine.h"
#include "snapshot/MachineSnapshot.h"
#include "storage/DiskImage.h"

#include <fmt/format.h>

namespace kvmscope {

MachineHost::MachineHost(const MachineConfig& config, kvm::System& system, SerialSink& sink,
                         const Options& options)
    : config_(config), system_(system), sink_(sink), options_(options) {
    machine_ = bootMachine();
    boots_ = 1;
}

MachineHost::~MachineHost() {
    gdbServer_.reset(); // joins its thread: no call reaches the target after this
    gdbTarget_.reset();
    addedDevices_.clear();
    machine_.reset();
}

std::unique_ptr<Machine> MachineHost::bootMachine() {
    // A reboot's machine takes over the disk images, which stay open and locked throughout.
    auto machine = std::make_unique<Machine>(
        config_, system_, sink_,
        machine_ ? machine_->diskImages() : std::vector<std::shared_ptr<storage::DiskImage>>{});
    if (options_.restore && !machine_) {
        // The snapshot's RAM holds the guest: no image is loaded. Taken once: a reboot boots.
        snapshot::restoreMachine(*machine, *options_.restore, system_);
        options_.restore.reset();
    } else {
        machine->boot();
    }
    // Only a named file, or also the image's own symbols: reading a vmlinux's .symtab costs
    // start-up time that a terminal, which shows no symbols, need not pay.
    if (options_.symbols == Symbols::NamedOrImage)
        machine->debugger().guest().loadSymbols(config_.symbolsPath, config_.boot.imagePath);
    else if (!config_.symbolsPath.empty())
        machine->debugger().guest().loadSymbols(config_.symbolsPath, config_.boot.imagePath);
    return machine;
}

bool MachineHost::rebootsAfter(const MachineStop& stop) const {
    return stop.kind == StopKind::Reset && options_.rebootOnGuestReset;
}

void MachineHost::reboot() {
    std::unique_ptr<Machine> fresh = bootMachine(); // throws with the old machine untouched
    machineAboutToBeReplaced.emit();
    const bool serving = gdbServing();
    // The client gets the old machine's exit (its stop reached the target), then the
    // connection closes with the server; the new server listens at the same port.
    const debug::gdb::GdbEndpoint endpoint{gdbEndpoint_.host, gdbPort()};
    gdbServer_.reset();
    gdbTarget_.reset();
    const ExitCounts old = exitCountsOfThisBoot();
    for (size_t reason = 0; reason < old.size(); ++reason)
        earlierBootsExits_[reason] += old[reason];
    addedDevices_.clear();       // their fds close before the old VM's
    machine_ = std::move(fresh); // the old machine stops and joins its vcpu threads
    ++boots_;
    log::get("kvm")->info("{}: boot {}", config_.name, boots_);
    if (serving) {
        try {
            serveGdb(endpoint);
        } catch (const Error& error) {
            // Someone took the port in the moment it was free: the machine runs undebugged
            // rather than not at all, and the log says why.
            log::get("gdb")->warn("after the reboot: {}", error.what());
        }
    }
    machineReplaced.emit();
}

std::vector<Device*> MachineHost::devices() const {
    std::vector<Device*> all = machine_->devices();
    for (const auto& device : addedDevices_)
        all.push_back(device.get());
    return all;
}

Device& MachineHost::addKernelDevice(uint32_t type) {
    auto device = std::make_unique<KernelDevice>(machine_->vm().createDevice(type));
    unsigned sameType = 0;
    for (Device* existing : devices())
        if (auto* kernel = dynamic_cast<KernelDevice*>(existing); kernel && kernel->type() == type)
            ++sameType;
    device->setInstance(sameType + 1);
    Device& added = *device;
    addedDevices_.push_back(std::move(device));
    return added;
}

std::vector<MachineHost::KernelDeviceOffer> MachineHost::kernelDeviceOffers() const {
    std::vector<KernelDeviceOffer> offers;
    const kvm::Vm& vm = machine_->vm();
    // Type 0 is no device; the others are enum kvm_device_type.
    for (uint32_t type = 1; type < KVM_DEV_TYPE_MAX; ++type) {
        if (!vm.canCreateDevice(type))
            continue;
        KernelDeviceOffer offer{type, kernelDeviceTypeName(type), 0, type == KVM_DEV_TYPE_VFIO};
        for (Device* device : devices())
            if (auto* kernel = dynamic_cast<KernelDevice*>(device);
                kernel && kernel->type() == type)
                ++offer.added;
        offers.push_back(std::move(offer));
    }
    return offers;
}

std::string MachineHost::kernelDeviceTypeName(uint32_t type) {
    return kvm::DeviceFd::typeName(type);
}

MachineHost::ExitCounts MachineHost::exitCountsOfThisBoot() const {
    ExitCounts counts{};
    for (size_t index = 0; index < machine_->vcpuCount(); ++index) {
        const auto vcpuCounts = machine_->vcpu(index).trace().counts();
        for (size_t reason = 0; reason < counts.size(); ++reason)
            counts[reason] += vcpuCounts[reason];
    }
    return counts;
}

void MachineHost::serveGdb(const debug::gdb::GdbEndpoint& endpoint, uint16_t ports) {
    if (gdbServer_)
        throw Error(fmt::format("gdb: already serving on {}", gdbServer_->address()));
    auto target = std::make_unique<debug::gdb::MachineGdbTarget>(*machine_);
    std::string lastError;
    const uint32_t end = uint32_t{endpoint.port} + (endpoint.port == 0 ? 1 : ports);
    for (uint32_t port = endpoint.port; port < end && port <= 0xffff; ++port) {
        try {
            gdbServer_ = std::make_unique<debug::gdb::GdbServer>(
                *target, debug::gdb::GdbEndpoint{endpoint.host, static_cast<uint16_t>(port)});
            break;
        } catch (const Error& error) {
            lastError = error.what();
        }
    }
    if (!gdbServer_)
        throw Error(ports > 1 ? fmt::format("gdb: no free port in {}:{}-{} ({})", endpoint.host,
                                            endpoint.port, end - 1, lastError)
                              : lastError);
    gdbTarget_ = std::move(target);
    gdbEndpoint_ = endpoint;
}

void MachineHost::stopGdb() {
    gdbServer_.reset();
    gdbTarget_.reset();
}

std::string MachineHost::gdbAddress() const {
    return gdbServer_ ? gdbServer_->address() : std::string();
}

uint16_t MachineHost::gdbPort() const {
    return gdbServer_ ? gdbServer_->port() : 0;
}

bool MachineHost::gdbClientConnected() const {
    return gdbServer_ && gdbServer_->clientConnected();
}

} // namespace kvmscope
