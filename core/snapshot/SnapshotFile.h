#pragma once
// kvmscope's snapshot file: a header, then named sections, each with its length and a CRC-32 of
// its name and bytes, then an "end" section that counts them. A reader checks everything before
// anyone uses a byte: the magic, the format version, every section's bounds and checksum, unique
// names, and the end section exactly at the end of the file, so a truncated, corrupt or foreign
// file is refused with the file, the section and the value named (docs/snapshots.md).
//
// The writer writes to a temporary file beside the target and renames it over the target only
// when every section is in and the file is on the disk (fsync): a failed or interrupted save
// leaves the previous file as it was and no half-written one.
//
// Layout (all integers little-endian):
//   header:  "KVMSSNAP" (8 bytes), format version (u32), flags (u32, 0)
//   section: name length (u32, 1-255), name (UTF-8), payload length (u64), CRC-32 (u32, zlib's,
//            over the name and then the payload), payload
//   last:    the section "end", whose payload is the number of sections before it (u64)
#include "common/MappedFile.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvmscope::snapshot {

inline constexpr char kMagic[8] = {'K', 'V', 'M', 'S', 'S', 'N', 'A', 'P'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kMaxNameLength = 255;

class SnapshotWriter {
public:
    // Creates the temporary file beside `path`. Throws Error naming `path` when it cannot.
    explicit SnapshotWriter(std::string path);
    ~SnapshotWriter(); // without finish(): the temporary file goes, `path` is untouched
    SnapshotWriter(const SnapshotWriter&) = delete;
    SnapshotWriter& operator=(const SnapshotWriter&) = delete;

    // A whole section at once.
    void section(std::string_view name, std::span<const uint8_t> payload);
    // A section written in pieces (guest RAM, page run by page run).
    void beginSection(std::string_view name);
    void append(std::span<const uint8_t> bytes);
    void endSection();

    // Writes the end section, flushes the file to the disk and renames it to `path`.
    void finish();

private:
    void writeAll(std::span<const uint8_t> bytes);
    [[noreturn]] void fail(const std::string& what);

    std::string path_;
    std::string temporaryPath_;
    int fd_ = -1;
    uint64_t offset_ = 0;
    uint64_t sections_ = 0;
    std::vector<std::string> names_;
    // The open section: where its length and CRC go, its CRC and length so far.
    bool open_ = false;
    uint64_t lengthOffset_ = 0;
    uint64_t payloadLength_ = 0;
    unsigned long crc_ = 0;
};

class SnapshotReader {
public:
    // Maps and checks `path` (see above). Throws LoadError naming the file, and the section and
    // value where one is at fault.
    explicit SnapshotReader(const std::string& path);

    const std::string& path() const { return path_; }
    uint32_t formatVersion() const { return version_; }
    bool has(std::string_view name) const;
    // The section's payload; throws LoadError naming the file and the section when it is absent.
    std::span<const uint8_t> section(std::string_view name) const;
    // Every section's name, in file order (the end section not among them).
    std::vector<std::string> names() const;

private:
    struct Section {
        std::string name;
        std::span<const uint8_t> payload;
    };
    std::string path_;
    MappedFile file_;
    uint32_t version_ = 0;
    std::vector<Section> sections_;
};

} // namespace kvmscope::snapshot
