#include "snapshot/MachineRecord.h"

#include "common/Error.h"
#include "snapshot/ByteCodec.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <sys/stat.h>

namespace kvmscope::snapshot {
namespace {

void putIdentity(ByteWriter& out, const FileIdentity& identity) {
    out.putText(identity.path);
    out.put(identity.size);
    out.put(identity.device);
    out.put(identity.inode);
    out.put(identity.modifiedNs);
}

FileIdentity takeIdentity(ByteReader& in) {
    FileIdentity identity;
    identity.path = in.text("file path");
    identity.size = in.take<uint64_t>("file size");
    identity.device = in.take<uint64_t>("file device");
    identity.inode = in.take<uint64_t>("file inode");
    identity.modifiedNs = in.take<int64_t>("file modification time");
    return identity;
}

template <typename Enum> Enum takeEnum(ByteReader& in, const char* what, Enum last) {
    const auto value = in.take<uint8_t>(what);
    if (value > static_cast<uint8_t>(last))
        in.fail(fmt::format("the {} is {}, which this kvmscope does not know", what, value));
    return static_cast<Enum>(value);
}

void checkOne(const FileIdentity& saved, const std::string& file, const char* what) {
    FileIdentity now;
    try {
        now = FileIdentity::of(saved.path);
    } catch (const LoadError& error) {
        throw LoadError(file, fmt::format("section '{}': the {} {} is gone ({})", kMachineSection,
                                          what, saved.path, error.what()));
    }
    auto refuse = [&](const char* field, auto then, auto current) {
        throw LoadError(file, fmt::format("section '{}': the {} {} changed since the save: {} {} "
                                          "then, {} now (restoring against it would hand the "
                                          "guest other bytes than it saw)",
                                          kMachineSection, what, saved.path, field, then, current));
    };
    if (now.size != saved.size)
        refuse("size", saved.size, now.size);
    if (now.device != saved.device || now.inode != saved.inode)
        refuse("device:inode", fmt::format("{}:{}", saved.device, saved.inode),
               fmt::format("{}:{}", now.device, now.inode));
    if (now.modifiedNs != saved.modifiedNs)
        refuse("modification time (ns)", saved.modifiedNs, now.modifiedNs);
}

} // namespace

FileIdentity FileIdentity::of(const std::string& path) {
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0)
        throw LoadError(path, fmt::format("cannot stat: {}", std::strerror(errno)));
    FileIdentity identity;
    identity.path = path;
    identity.size = static_cast<uint64_t>(status.st_size);
    identity.device = static_cast<uint64_t>(status.st_dev);
    identity.inode = static_cast<uint64_t>(status.st_ino);
    identity.modifiedNs =
        int64_t{status.st_mtim.tv_sec} * 1'000'000'000 + int64_t{status.st_mtim.tv_nsec};
    return identity;
}

MachineRecord recordMachine(const MachineConfig& config) {
    MachineRecord record;
    record.config = config;
    for (const storage::DiskSpec& disk : config.disks)
        record.disks.push_back(FileIdentity::of(disk.path));
    if (config.firmware.kind == firmware::FirmwareKind::Bios)
        record.firmware.push_back(FileIdentity::of(config.firmware.biosPath()));
    return record;
}

std::vector<uint8_t> encodeMachine(const MachineRecord& record) {
    const MachineConfig& config = record.config;
    ByteWriter out;
    out.put(kMachineRecordVersion);
    out.putText(config.name);
    out.put(config.memorySize);
    out.put(static_cast<uint32_t>(config.cpus));
    out.putText(config.boot.imagePath);
    out.put(static_cast<uint8_t>(config.boot.format));
    out.put(config.boot.loadAddress);
    out.putText(config.boot.commandLine);
    out.putText(config.boot.initrdPath);
    out.put(static_cast<uint8_t>(config.firmware.kind));
    out.putText(config.firmware.path);
    out.put(static_cast<uint32_t>(config.firmware.optionRoms.size()));
    for (const firmware::OptionRom& rom : config.firmware.optionRoms) {
        out.putText(rom.name);
        out.putBlock(rom.bytes);
    }
    out.put(static_cast<uint32_t>(config.disks.size()));
    for (size_t i = 0; i < config.disks.size(); ++i) {
        const storage::DiskSpec& disk = config.disks[i];
        out.putText(disk.format);
        out.putBool(disk.formatGiven);
        out.putBool(disk.readOnly);
        out.put(static_cast<uint8_t>(disk.interface));
        out.put(static_cast<uint8_t>(disk.media));
        putIdentity(out, record.disks.at(i));
    }
    out.put(static_cast<uint32_t>(record.firmware.size()));
    for (const FileIdentity& identity : record.firmware)
        putIdentity(out, identity);
    out.putBool(config.inspectKernelDevices);
    out.putBool(config.hostWorkarounds);
    out.putBool(config.framebuffer.enabled);
    out.put(config.framebuffer.width);
    out.put(config.framebuffer.height);
    out.put(config.framebuffer.bitsPerPixel);
    out.putText(config.symbolsPath);
    return out.take();
}

MachineRecord decodeMachine(std::span<const uint8_t> bytes, const std::string& file) {
    ByteReader in(bytes, file, kMachineSection);
    const auto version = in.take<uint32_t>("layout version");
    if (version != kMachineRecordVersion)
        in.fail(fmt::format("layout version {}, this kvmscope reads {}", version,
                            kMachineRecordVersion));
    MachineRecord record;
    MachineConfig& config = record.config;
    config.name = in.text("machine name");
    config.memorySize = in.take<uint64_t>("RAM size");
    config.cpus = in.take<uint32_t>("vcpu count");
    config.boot.cpus = config.cpus;
    config.boot.imagePath = in.text("image path");
    config.boot.format = takeEnum(in, "image format", boot::ImageFormat::Multiboot2);
    config.boot.loadAddress = in.take<uint64_t>("load address");
    config.boot.commandLine = in.text("command line");
    config.boot.initrdPath = in.text("initrd path");
    config.firmware.kind = takeEnum(in, "firmware kind", firmware::FirmwareKind::Bios);
    config.firmware.path = in.text("firmware path");
    const auto roms = in.take<uint32_t>("option ROM count");
    if (roms > in.left() / 8)
        in.fail(fmt::format("{} option ROMs cannot fit in {} bytes", roms, in.left()));
    for (uint32_t i = 0; i < roms; ++i) {
        firmware::OptionRom rom;
        rom.name = in.text("option ROM name");
        const auto romBytes = in.block("option ROM");
        rom.bytes.assign(romBytes.begin(), romBytes.end());
        config.firmware.optionRoms.push_back(std::move(rom));
    }
    const auto disks = in.take<uint32_t>("disk count");
    if (disks > in.left() / 40)
        in.fail(fmt::format("{} disks cannot fit in {} bytes", disks, in.left()));
    for (uint32_t i = 0; i < disks; ++i) {
        storage::DiskSpec disk;
        disk.format = in.text("disk format");
        disk.formatGiven = in.takeBool("disk's format-given flag");
        disk.readOnly = in.takeBool("disk's read-only flag");
        disk.interface = takeEnum(in, "disk interface", storage::DiskInterface::Ide);
        disk.media = takeEnum(in, "disk media", storage::DiskMedia::Cdrom);
        FileIdentity identity = takeIdentity(in);
        disk.path = identity.path;
        config.disks.push_back(std::move(disk));
        record.disks.push_back(std::move(identity));
    }
    const auto firmwareFiles = in.take<uint32_t>("firmware file count");
    if (firmwareFiles > 1)
        in.fail(fmt::format("{} firmware files, at most 1", firmwareFiles));
    for (uint32_t i = 0; i < firmwareFiles; ++i)
        record.firmware.push_back(takeIdentity(in));
    config.inspectKernelDevices = in.takeBool("kernel-devices flag");
    config.hostWorkarounds = in.takeBool("host-workarounds flag");
    config.framebuffer.enabled = in.takeBool("framebuffer flag");
    config.framebuffer.width = in.take<uint32_t>("framebuffer width");
    config.framebuffer.height = in.take<uint32_t>("framebuffer height");
    config.framebuffer.bitsPerPixel = in.take<uint32_t>("framebuffer depth");
    config.symbolsPath = in.text("symbols path");
    in.finish();
    if ((config.firmware.kind == firmware::FirmwareKind::Bios) != (record.firmware.size() == 1))
        in.fail("the firmware kind and the firmware file recorded disagree");
    try {
        config.validate();
    } catch (const InputError& error) {
        in.fail(fmt::format("the recorded configuration is refused: {}", error.what()));
    }
    return record;
}

void checkFiles(const MachineRecord& record, const std::string& file) {
    for (const FileIdentity& disk : record.disks)
        checkOne(disk, file, "disk image");
    for (const FileIdentity& image : record.firmware)
        checkOne(image, file, "firmware image");
}

} // namespace kvmscope::snapshot
