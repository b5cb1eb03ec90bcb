#pragma once
// The section "machine" of a snapshot: the MachineConfig a restore builds the same Machine from
// (RAM size, vcpu count, boot options, firmware, disks, framebuffer mode) and the identity of
// every file whose bytes the restored guest depends on beyond its RAM: each disk image and the
// firmware image. A file's identity is its size, device, inode and modification time (st_size,
// st_dev, st_ino, st_mtim): cheap to take, and any write through the file system changes the
// modification time, so a restore against an image that was written, replaced or resized since
// the save is refused instead of handing the guest a disk that does not match its caches.
#include "machine/MachineConfig.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace kvmscope::snapshot {

inline constexpr const char* kMachineSection = "machine";
// The machine section's own layout version, inside format version 1 of the file.
inline constexpr uint32_t kMachineRecordVersion = 1;

struct FileIdentity {
    std::string path;
    uint64_t size = 0;
    uint64_t device = 0;
    uint64_t inode = 0;
    int64_t modifiedNs = 0;

    // Throws LoadError naming `path` when it cannot be stat'ed.
    static FileIdentity of(const std::string& path);
    bool operator==(const FileIdentity&) const = default;
};

struct MachineRecord {
    MachineConfig config;
    std::vector<FileIdentity> disks;    // by index of config.disks
    std::vector<FileIdentity> firmware; // the firmware image, with --firmware bios
};

// Takes the identities of `config`'s files now.
MachineRecord recordMachine(const MachineConfig& config);

std::vector<uint8_t> encodeMachine(const MachineRecord& record);
// Throws LoadError naming the file, the section and the value for a cut-short or foreign
// section, and for a configuration MachineConfig::validate refuses.
MachineRecord decodeMachine(std::span<const uint8_t> bytes, const std::string& file);
// Throws LoadError naming the snapshot `file`, the image and what changed (size, inode, time)
// when a disk or firmware image is not the one the snapshot was saved with.
void checkFiles(const MachineRecord& record, const std::string& file);

} // namespace kvmscope::snapshot
