#include "snapshot/MachineSnapshot.h"

#include "common/Error.h"
#include "cpu/VcpuRunner.h"
#include "devices/EmulatedDevice.h"
#include "kvm/System.h"
#include "log/Log.h"
#include "machine/Machine.h"
#include "snapshot/ByteCodec.h"
#include "snapshot/CpuidCheck.h"
#include "snapshot/DeviceStateCodec.h"
#include "snapshot/RamImage.h"
#include "storage/DiskImage.h"

#include <cstring>
#include <fmt/format.h>
#include <set>

namespace kvmscope::snapshot {
namespace {

// A vcpu that does not run a call within this time is reported, not waited for forever.
constexpr int kVcpuCallTimeoutMs = 5000;
// A virtio request taken before the pause that has not completed within this time (a disk that
// hangs) makes the save fail rather than wait forever.
constexpr int kRequestDrainTimeoutMs = 10000;

// Each user-space device's section, by the device's name (the one the device tree shows); a name
// that repeats gets " #2", " #3" in machine order, which a machine of the same configuration
// repeats.
std::vector<std::pair<std::string, EmulatedDevice*>> savedDevices(const Machine& machine) {
    std::vector<std::pair<std::string, EmulatedDevice*>> devices;
    std::map<std::string, unsigned> seen;
    for (Device* device : machine.devices()) {
        auto* emulated = dynamic_cast<EmulatedDevice*>(device);
        if (!emulated)
            continue; // a kernel device: its state is the VM's and the vcpus' sections
        std::string name = kDevicePrefix + device->name();
        if (const unsigned count = ++seen[name]; count > 1)
            name += fmt::format(" #{}", count);
        if (name.size() > kMaxNameLength)
            name.resize(kMaxNameLength);
        devices.emplace_back(std::move(name), emulated);
    }
    return devices;
}

// What the guest wrote before the save reaches the disk before the snapshot that depends on it
// is complete (fdatasync, as a guest's flush request has it).
void flushDisks(const Machine& machine) {
    for (const auto& image : machine.diskImages()) {
        if (!image || image->readOnly())
            continue;
        if (const int error = image->flush(); error != 0)
            throw Error(fmt::format("disk image {}: fdatasync failed: {}", image->path(),
                                    std::strerror(error)));
    }
}

uint64_t savedRamSize(const SnapshotReader& reader) {
    ByteReader in(reader.section(kRamSection), reader.path(), kRamSection);
    return in.take<uint64_t>("RAM size");
}

} // namespace

MachineImage::MachineImage(const std::string& path) : reader_(path) {
    record_ = decodeMachine(reader_.section(kMachineSection), path);
    const MachineConfig& config = record_.config;
    if (const uint64_t ramSize = savedRamSize(reader_); ramSize != config.memorySize)
        throw LoadError(path,
                        fmt::format("section '{}': RAM of {} bytes, where section '{}' "
                                    "says the machine has {}",
                                    kRamSection, ramSize, kMachineSection, config.memorySize));
    vm_ = decodeVm(reader_.section(kVmSection), path, kVmSection);
    std::set<std::string> known = {kMachineSection, kVmSection, kRamSection};
    for (unsigned index = 0; index < config.cpus; ++index) {
        const std::string section = vcpuSectionName(index);
        if (!reader_.has(section))
            throw LoadError(path, fmt::format("section '{}' is missing: section '{}' says the "
                                              "machine has {} vcpus",
                                              section, kMachineSection, config.cpus));
        vcpus_.push_back(decodeVcpu(reader_.section(section), path, section));
        known.insert(section);
    }
    for (const std::string& name : reader_.names()) {
        if (name.rfind(kDevicePrefix, 0) == 0) {
            devices_.emplace(name, decodeDeviceState(reader_.section(name), path, name));
        } else if (!known.count(name)) {
            throw LoadError(path,
                            fmt::format("section '{}' is not one this kvmscope knows{}", name,
                                        name.rfind("vcpu.", 0) == 0
                                            ? fmt::format(" (section '{}' says the machine has "
                                                          "{} vcpus)",
                                                          kMachineSection, config.cpus)
                                            : ""));
        }
    }
    checkFiles(record_, path);
}

SaveStats saveMachine(Machine& machine, const std::string& path) {
    // First the requests the virtio devices took before the pause complete, and they take no
    // more: RAM, the queues' indices and the disk then agree. Then the disks are flushed and
    // their identities taken, after the last write that changes them.
    machine.holdDeviceRequests(kRequestDrainTimeoutMs);
    struct Release {
        Machine& machine;
        ~Release() { machine.releaseDeviceRequests(); }
    } release{machine};
    flushDisks(machine);
    const MachineRecord record = recordMachine(machine.config());
    SnapshotWriter writer(path);
    writer.section(kMachineSection, encodeMachine(record));
    writer.section(kVmSection, encodeVm(captureVm(machine.vm())));
    const size_t xsaveSize = machine.vm().xsaveSize();
    for (size_t index = 0; index < machine.vcpuCount(); ++index) {
        cpu::VcpuRunner& runner = machine.vcpu(index);
        const VcpuState state = runner.call(
            [&](kvm::Vcpu& vcpu) { return captureVcpu(vcpu, xsaveSize, runner.msrIndices()); },
            kVcpuCallTimeoutMs);
        writer.section(vcpuSectionName(index), encodeVcpu(state));
    }
    SaveStats stats;
    for (const auto& [name, device] : savedDevices(machine)) {
        writer.section(name, encodeDeviceState(device->saveState()));
        ++stats.devices;
    }
    const RamImageStats ram = writeRam(writer, machine.memory());
    writer.finish();
    stats.ramPagesStored = ram.pagesStored;
    stats.ramPagesZero = ram.pagesZero;
    log::get("snapshot")
        ->info("{}: saved {} vcpus, {} devices, {} of {} RAM pages", path, machine.vcpuCount(),
               stats.devices, ram.pagesStored, ram.pagesStored + ram.pagesZero);
    return stats;
}

void restoreMachine(Machine& machine, const MachineImage& image, kvm::System& system) {
    const std::string& file = image.path();
    if (machine.vcpuCount() != image.vcpus().size())
        throw LoadError(file,
                        fmt::format("section '{}': {} vcpus, the machine has {}", kMachineSection,
                                    image.vcpus().size(), machine.vcpuCount()));
    // Everything that can be refused is checked before anything changes.
    const auto supported = system.supportedCpuid();
    for (size_t index = 0; index < image.vcpus().size(); ++index) {
        const auto current = machine.vcpu(index).call([](kvm::Vcpu& vcpu) { return vcpu.cpuid(); },
                                                      kVcpuCallTimeoutMs);
        checkCpuidSubset(image.vcpus()[index].cpuid, supported, file, vcpuSectionName(index),
                         current);
    }
    const auto devices = savedDevices(machine);
    for (const auto& [name, device] : devices)
        if (!image.devices().count(name))
            throw LoadError(file, fmt::format("section '{}' is missing: the machine has that "
                                              "device",
                                              name));
    for (const auto& saved : image.devices()) {
        const std::string& name = saved.first; // a plain name: clang 14 captures no bindings
        if (std::none_of(devices.begin(), devices.end(),
                         [&](const auto& device) { return device.first == name; }))
            throw LoadError(file,
                            fmt::format("section '{}': the machine has no such device", name));
    }

    // No virtio request is served until the whole machine is back: an interrupt sent before the
    // vcpus' LAPICs and the IOAPIC are restored would be overwritten by them. A machine that is
    // not restored is discarded, hold and all.
    machine.holdDeviceRequests(kRequestDrainTimeoutMs);
    // What boot() puts outside RAM and no device declares: fw_cfg's copies of the ACPI and SMBIOS
    // tables (their RAM copies are overwritten by the saved RAM next).
    machine.prepareForRestore();
    readRam(image.reader(), machine.memory());
    for (const auto& [name, device] : devices) {
        try {
            device->restoreState(image.devices().at(name));
        } catch (const AttributeError& error) {
            throw LoadError(file, fmt::format("section '{}': {}", name, error.what()));
        }
    }
    // The in-kernel chips after the devices, whose restore may drive their IRQ lines: the saved
    // PIC and IOAPIC state is what counts.
    applyVm(machine.vm(), image.vm());
    const size_t xsaveSize = machine.vm().xsaveSize();
    for (size_t index = 0; index < machine.vcpuCount(); ++index)
        machine.vcpu(index).call(
            [&](kvm::Vcpu& vcpu) { applyVcpu(vcpu, image.vcpus()[index], xsaveSize, file); },
            kVcpuCallTimeoutMs);
    // Now the queues are looked at: a doorbell the guest rang before the save may have found
    // the requests held, and its chains are still in the available ring.
    machine.releaseDeviceRequests();
    log::get("snapshot")
        ->info("{}: restored {} vcpus and {} devices", file, machine.vcpuCount(), devices.size());
}

} // namespace kvmscope::snapshot
