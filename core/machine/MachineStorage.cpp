// Machine's disks: the images of --disk and --cdrom, and the IDE controller they sit on
// (docs/devices.md, "Disks"). Where everything goes is PcPlatform.h's.
#include "common/Error.h"
#include "devices/ide/IdeChannel.h"
#include "machine/KvmIrqLine.h"
#include "machine/Machine.h"
#include "machine/PcPlatform.h"
#include "pci/PciBus.h"
#include "pci/Piix3Ide.h"
#include "storage/DiskImage.h"

#include <filesystem>
#include <fmt/format.h>

namespace kvmscope {
namespace {

// ATA's serial number field holds 20 characters (ATA/ATAPI-6, 8.15.8 word 10-19): the image's
// file name, cut to fit, tells the guest which image a drive is.
std::string driveSerial(const std::string& path) {
    return std::filesystem::path(path).filename().string().substr(0, 20);
}

} // namespace

std::array<int, Machine::kIdeDrivePositions> Machine::ideDrivePositions() const {
    // As a PC's setup has them: CD-ROMs from the secondary master on, disks from the primary
    // master on, each in the other's leftover places (QEMU's -hda/-hdb/-cdrom/-hdd order).
    std::array<int, kIdeDrivePositions> byPosition;
    byPosition.fill(-1);
    static constexpr unsigned kDiskOrder[] = {0, 1, 3, 2};
    static constexpr unsigned kCdromOrder[] = {2, 3, 1, 0};
    for (size_t i = 0; i < config_.disks.size(); ++i) {
        const storage::DiskSpec& spec = config_.disks[i];
        if (spec.interface != storage::DiskInterface::Ide)
            continue;
        const auto& order = spec.media == storage::DiskMedia::Cdrom ? kCdromOrder : kDiskOrder;
        for (unsigned position : order) {
            if (byPosition[position] < 0) {
                byPosition[position] = static_cast<int>(i);
                break;
            }
        }
    }
    return byPosition;
}

void Machine::openDiskImages(std::vector<std::shared_ptr<storage::DiskImage>> images) {
    // A reboot's machine takes over the images the last boot opened: they stay locked by this
    // process throughout (a second open would meet the first one's lock, storage/DiskImage.h).
    if (!images.empty()) {
        if (images.size() != config_.disks.size())
            throw Error(fmt::format("{} disk images handed over for {} disks", images.size(),
                                    config_.disks.size()));
        diskImages_ = std::move(images);
        return;
    }
    // MachineConfig::validate has counted them; each opens with its lock.
    for (const storage::DiskSpec& spec : config_.disks)
        diskImages_.push_back(std::make_shared<storage::DiskImage>(spec));
}

// The PIIX3's IDE function and its two channels, on every machine as on the board: a channel
// without drives reads status 0, and firmware finds nothing there.
void Machine::createIdeDevices() {
    const std::array<int, kIdeDrivePositions> positions = ideDrivePositions();
    auto driveAt = [&](unsigned position) {
        ide::DriveSpec drive;
        const int index = positions[position];
        if (index < 0)
            return drive;
        const storage::DiskSpec& spec = config_.disks[static_cast<size_t>(index)];
        drive.kind =
            spec.media == storage::DiskMedia::Cdrom ? ide::DriveKind::Cdrom : ide::DriveKind::Disk;
        drive.image = diskImages_[static_cast<size_t>(index)].get();
        drive.serial = driveSerial(spec.path);
        return drive;
    };
    struct ChannelPlace {
        const char* name;
        const pc::LegacyDevice& command;
        const pc::LegacyDevice& control;
    };
    const ChannelPlace places[pci::Piix3Ide::kChannels] = {
        {"IDE primary channel", pc::kIdePrimary, pc::kIdePrimaryControl},
        {"IDE secondary channel", pc::kIdeSecondary, pc::kIdeSecondaryControl}};
    std::array<std::unique_ptr<ide::IdeChannel>, pci::Piix3Ide::kChannels> channels;
    for (unsigned channel = 0; channel < pci::Piix3Ide::kChannels; ++channel) {
        IrqLine& line = makeIrqLine(places[channel].command.irq, places[channel].name);
        channels[channel] =
            std::make_unique<ide::IdeChannel>(places[channel].name, line, memory_.get(),
                                              driveAt(2 * channel), driveAt(2 * channel + 1));
    }
    auto controller = std::make_unique<pci::Piix3Ide>(*channels[0], *channels[1]);
    for (unsigned channel = 0; channel < pci::Piix3Ide::kChannels; ++channel) {
        addLegacyDevice(places[channel].command, controller->commandBlock(channel),
                        *channels[channel]);
        addLegacyDevice(places[channel].control, controller->controlBlock(channel),
                        *channels[channel]);
    }
    pciBus_->add(pc::kPciIsaBridgeSlot, pc::kPciIdeFunction, *controller);
    ideController_ = controller.get();
    for (auto& channel : channels)
        devices_.push_back(std::move(channel));
    devices_.push_back(std::move(controller));
}

} // namespace kvmscope
