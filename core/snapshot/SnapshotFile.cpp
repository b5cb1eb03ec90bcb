#include "snapshot/SnapshotFile.h"

#include "common/Error.h"
#include "common/InputFile.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <type_traits>
#include <unistd.h>
#include <zlib.h>

namespace kvmscope::snapshot {
namespace {

constexpr std::string_view kEndSection = "end";
constexpr size_t kHeaderSize = sizeof kMagic + 4 + 4;

unsigned long crcOf(unsigned long crc, std::span<const uint8_t> bytes) {
    // zlib's crc32 takes at most UINT_MAX bytes a call.
    while (!bytes.empty()) {
        const size_t chunk = std::min<size_t>(bytes.size(), 1u << 30);
        crc = ::crc32(crc, bytes.data(), static_cast<uInt>(chunk));
        bytes = bytes.subspan(chunk);
    }
    return crc;
}

std::span<const uint8_t> textBytes(std::string_view text) {
    return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// A scalar's own bytes (never a container's: textBytes takes text).
template <typename T>
requires std::is_arithmetic_v<T> std::span<const uint8_t> bytesOf(const T& value) {
    return {reinterpret_cast<const uint8_t*>(&value), sizeof value};
}

std::string errnoText() {
    return std::strerror(errno);
}

} // namespace

// --- writing ------------------------------------------------------------------------------

SnapshotWriter::SnapshotWriter(std::string path) : path_(std::move(path)) {
    temporaryPath_ = path_ + ".partial-XXXXXX";
    fd_ = ::mkostemp(temporaryPath_.data(), O_CLOEXEC);
    if (fd_ < 0)
        throw Error(
            fmt::format("{}: cannot create the snapshot beside it: {}", path_, errnoText()));
    uint8_t header[kHeaderSize] = {};
    std::memcpy(header, kMagic, sizeof kMagic);
    const uint32_t version = kFormatVersion;
    std::memcpy(header + sizeof kMagic, &version, sizeof version);
    writeAll(header);
}

SnapshotWriter::~SnapshotWriter() {
    if (fd_ >= 0) {
        ::close(fd_);
        ::unlink(temporaryPath_.c_str());
    }
}

void SnapshotWriter::fail(const std::string& what) {
    const std::string message = fmt::format("{}: cannot save the snapshot: {}", path_, what);
    if (fd_ >= 0) {
        ::close(fd_);
        ::unlink(temporaryPath_.c_str());
        fd_ = -1;
    }
    throw Error(message);
}

void SnapshotWriter::writeAll(std::span<const uint8_t> bytes) {
    if (fd_ < 0)
        throw Error(fmt::format("{}: the snapshot was already finished or failed", path_));
    while (!bytes.empty()) {
        const ssize_t written = ::pwrite(fd_, bytes.data(), bytes.size(), off_t(offset_));
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            fail(fmt::format("writing {} failed: {}", temporaryPath_,
                             written < 0 ? errnoText() : "no space written"));
        offset_ += static_cast<uint64_t>(written);
        bytes = bytes.subspan(static_cast<size_t>(written));
    }
}

void SnapshotWriter::beginSection(std::string_view name) {
    if (open_)
        throw Error(fmt::format("{}: section '{}' begun inside another", path_, name));
    if (name.empty() || name.size() > kMaxNameLength || name == kEndSection ||
        std::find(names_.begin(), names_.end(), name) != names_.end())
        throw Error(fmt::format("{}: '{}' cannot name a section (empty, longer than {}, 'end', "
                                "or taken)",
                                path_, name, kMaxNameLength));
    names_.emplace_back(name);
    const auto nameLength = static_cast<uint32_t>(name.size());
    writeAll(bytesOf(nameLength));
    writeAll(textBytes(name));
    lengthOffset_ = offset_;
    const uint64_t placeholderLength = 0;
    const uint32_t placeholderCrc = 0;
    writeAll(bytesOf(placeholderLength));
    writeAll(bytesOf(placeholderCrc));
    payloadLength_ = 0;
    crc_ = crcOf(::crc32(0, nullptr, 0), textBytes(name));
    open_ = true;
}

void SnapshotWriter::append(std::span<const uint8_t> bytes) {
    if (!open_)
        throw Error(fmt::format("{}: bytes appended outside a section", path_));
    writeAll(bytes);
    payloadLength_ += bytes.size();
    crc_ = crcOf(crc_, bytes);
}

void SnapshotWriter::endSection() {
    if (!open_)
        throw Error(fmt::format("{}: a section ended that was not begun", path_));
    open_ = false;
    const uint32_t crc = static_cast<uint32_t>(crc_);
    uint8_t fields[12];
    std::memcpy(fields, &payloadLength_, 8);
    std::memcpy(fields + 8, &crc, 4);
    const uint64_t end = offset_;
    offset_ = lengthOffset_;
    writeAll(fields);
    offset_ = end;
    ++sections_;
}

void SnapshotWriter::section(std::string_view name, std::span<const uint8_t> payload) {
    beginSection(name);
    append(payload);
    endSection();
}

void SnapshotWriter::finish() {
    if (open_)
        fail(fmt::format("section '{}' was not ended", names_.back()));
    const uint64_t count = sections_;
    const auto nameLength = static_cast<uint32_t>(kEndSection.size());
    writeAll(bytesOf(nameLength));
    writeAll(textBytes(kEndSection));
    const uint64_t length = sizeof count;
    const auto crc = static_cast<uint32_t>(
        crcOf(crcOf(::crc32(0, nullptr, 0), textBytes(kEndSection)), bytesOf(count)));
    writeAll(bytesOf(length));
    writeAll(bytesOf(crc));
    writeAll(bytesOf(count));
    if (::fsync(fd_) != 0)
        fail(fmt::format("fsync of {} failed: {}", temporaryPath_, errnoText()));
    if (::rename(temporaryPath_.c_str(), path_.c_str()) != 0)
        fail(fmt::format("renaming {} to it failed: {}", temporaryPath_, errnoText()));
    ::close(fd_);
    fd_ = -1;
}

// --- reading ------------------------------------------------------------------------------

SnapshotReader::SnapshotReader(const std::string& path) : path_(path) {
    const InputFile input(path, "snapshot");
    if (input.size() < kHeaderSize)
        throw LoadError(path, fmt::format("the snapshot is {} bytes, shorter than its {}-byte "
                                          "header",
                                          input.size(), kHeaderSize));
    file_ = MappedFile(input.fd(), input.size(), path);
    const std::span<const uint8_t> bytes = file_.bytes();
    if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
        throw LoadError(path, "not a kvmscope snapshot (its first 8 bytes are not KVMSSNAP)");
    std::memcpy(&version_, bytes.data() + sizeof kMagic, sizeof version_);
    if (version_ != kFormatVersion)
        throw LoadError(path, fmt::format("snapshot format version {} is not one this kvmscope "
                                          "reads ({})",
                                          version_, kFormatVersion));
    uint32_t flags = 0;
    std::memcpy(&flags, bytes.data() + sizeof kMagic + 4, sizeof flags);
    if (flags != 0)
        throw LoadError(path, fmt::format("snapshot flags {:#x}: this kvmscope knows none", flags));

    uint64_t at = kHeaderSize;
    auto need = [&](uint64_t count, const std::string& what) {
        if (count > bytes.size() - at)
            throw LoadError(
                path, fmt::format("the file ends inside {} at offset {} (truncated)", what, at));
    };
    for (;;) {
        if (at == bytes.size())
            throw LoadError(path, "the file ends without its 'end' section (truncated)");
        uint32_t nameLength = 0;
        need(sizeof nameLength, "a section's name length");
        std::memcpy(&nameLength, bytes.data() + at, sizeof nameLength);
        at += sizeof nameLength;
        if (nameLength == 0 || nameLength > kMaxNameLength)
            throw LoadError(path, fmt::format("a section at offset {} has a name of {} bytes "
                                              "(1 to {})",
                                              at - sizeof nameLength, nameLength, kMaxNameLength));
        need(nameLength, "a section's name");
        const std::string name(reinterpret_cast<const char*>(bytes.data() + at), nameLength);
        at += nameLength;
        uint64_t length = 0;
        uint32_t crc = 0;
        need(sizeof length + sizeof crc,
             fmt::format("the length and checksum of section '{}'", name));
        std::memcpy(&length, bytes.data() + at, sizeof length);
        std::memcpy(&crc, bytes.data() + at + sizeof length, sizeof crc);
        at += sizeof length + sizeof crc;
        need(length, fmt::format("section '{}' ({} bytes)", name, length));
        const std::span<const uint8_t> payload = bytes.subspan(at, length);
        at += length;
        const auto actual =
            static_cast<uint32_t>(crcOf(crcOf(::crc32(0, nullptr, 0), textBytes(name)), payload));
        if (actual != crc)
            throw LoadError(path, fmt::format("section '{}' is corrupt: its CRC-32 is {:#010x}, "
                                              "its bytes give {:#010x}",
                                              name, crc, actual));
        if (name == kEndSection) {
            uint64_t count = 0;
            if (payload.size() != sizeof count)
                throw LoadError(
                    path, fmt::format("the 'end' section holds {} bytes, not 8", payload.size()));
            std::memcpy(&count, payload.data(), sizeof count);
            if (count != sections_.size())
                throw LoadError(path, fmt::format("the 'end' section counts {} sections; the "
                                                  "file has {}",
                                                  count, sections_.size()));
            if (at != bytes.size())
                throw LoadError(
                    path, fmt::format("{} bytes follow the 'end' section", bytes.size() - at));
            break;
        }
        if (has(name))
            throw LoadError(path, fmt::format("section '{}' appears twice", name));
        sections_.push_back({name, payload});
    }
    if (file_.shrank())
        throw LoadError(path, "the snapshot shrank while it was read");
}

bool SnapshotReader::has(std::string_view name) const {
    return std::any_of(sections_.begin(), sections_.end(),
                       [name](const Section& section) { return section.name == name; });
}

std::span<const uint8_t> SnapshotReader::section(std::string_view name) const {
    for (const Section& section : sections_)
        if (section.name == name)
            return section.payload;
    throw LoadError(path_, fmt::format("the snapshot has no section '{}'", name));
}

std::vector<std::string> SnapshotReader::names() const {
    std::vector<std::string> names;
    for (const Section& section : sections_)
        names.push_back(section.name);
    return names;
}

} // namespace kvmscope::snapshot
