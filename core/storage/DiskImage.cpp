#include "storage/DiskImage.h"

#include "common/Error.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/falloc.h>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace kvmscope::storage {
namespace {

// Images of other formats, recognised by their first bytes, so that a guest is never handed a
// qcow2 header as its disk (each format's specification, "header" / "magic").
struct ForeignFormat {
    std::string_view magic;
    const char* name;
};
constexpr std::array kForeignFormats{
    ForeignFormat{std::string_view("QFI\xfb", 4), "qcow2"},
    ForeignFormat{std::string_view("KDMV", 4), "VMDK"},
    ForeignFormat{std::string_view("vhdxfile", 8), "VHDX"},
    ForeignFormat{std::string_view("conectix", 8), "VHD"},
};
constexpr uint64_t kVdiMagicOffset = 0x40;
constexpr uint32_t kVdiMagic = 0xbeda107f;

const char* foreignFormatOf(int fd) {
    std::array<char, kVdiMagicOffset + 4> head{};
    const ssize_t got = ::pread(fd, head.data(), head.size(), 0);
    if (got <= 0)
        return nullptr;
    const std::string_view bytes(head.data(), static_cast<size_t>(got));
    for (const ForeignFormat& format : kForeignFormats)
        if (bytes.starts_with(format.magic))
            return format.name;
    uint32_t vdi = 0;
    if (bytes.size() >= kVdiMagicOffset + 4) {
        std::memcpy(&vdi, head.data() + kVdiMagicOffset, sizeof vdi);
        if (vdi == kVdiMagic)
            return "VDI";
    }
    return nullptr;
}

} // namespace

DiskImage::DiskImage(const DiskSpec& spec)
    : file_(spec.path, "disk image",
            spec.readOnly ? InputFile::Access::ReadOnly : InputFile::Access::ReadWrite),
      readOnly_(spec.readOnly) {
    struct flock lock {};
    lock.l_type = spec.readOnly ? F_RDLCK : F_WRLCK;
    lock.l_whence = SEEK_SET; // l_start = l_len = 0: the whole file, however it grows
    if (::fcntl(file_.fd(), F_OFD_SETLK, &lock) != 0) {
        if (errno == EAGAIN || errno == EACCES)
            throw LoadError(path(), fmt::format("the disk image is in use: another process holds "
                                                "a lock on it, so kvmscope cannot {} it",
                                                spec.readOnly ? "read" : "write"));
        throw LoadError(path(),
                        fmt::format("cannot lock the disk image: {}", std::strerror(errno)));
    }
    if (size() == 0)
        throw LoadError(path(), "the disk image is empty (0 bytes)");
    if (size() % kSectorSize != 0)
        throw LoadError(path(), fmt::format("the disk image is {} bytes, not a whole number of "
                                            "{}-byte sectors (truncated?)",
                                            size(), kSectorSize));
    if (!spec.formatGiven)
        if (const char* format = foreignFormatOf(file_.fd()))
            throw LoadError(path(), fmt::format("the disk image is a {} image; kvmscope reads raw "
                                                "images (qemu-img convert -O raw makes one; "
                                                "format=raw takes the bytes as they are)",
                                                format));
}

int DiskImage::transfer(const iovec* vectors, int count, uint64_t offset, bool writing) {
    uint64_t total = 0;
    for (int i = 0; i < count; ++i)
        total += vectors[i].iov_len;
    if (offset > size() || total > size() - offset)
        return EINVAL;
    // Short transfers continue where they stopped: the list is copied so it can be advanced.
    std::vector<iovec> rest(vectors, vectors + count);
    size_t first = 0;
    while (first < rest.size()) {
        const int pieces = static_cast<int>(std::min<size_t>(rest.size() - first, IOV_MAX));
        const ssize_t done = writing ? ::pwritev(file_.fd(), &rest[first], pieces, off_t(offset))
                                     : ::preadv(file_.fd(), &rest[first], pieces, off_t(offset));
        if (done < 0 && errno == EINTR)
            continue;
        if (done < 0)
            return errno;
        if (done == 0)
            return EIO; // the file ended early: it shrank since it was opened
        offset += static_cast<uint64_t>(done);
        size_t left = static_cast<size_t>(done);
        while (first < rest.size() && left >= rest[first].iov_len)
            left -= rest[first++].iov_len;
        if (left > 0) {
            rest[first].iov_base = static_cast<uint8_t*>(rest[first].iov_base) + left;
            rest[first].iov_len -= left;
        }
        while (first < rest.size() && rest[first].iov_len == 0)
            ++first;
    }
    return 0;
}

int DiskImage::read(const iovec* vectors, int count, uint64_t offset) {
    return transfer(vectors, count, offset, false);
}

int DiskImage::write(const iovec* vectors, int count, uint64_t offset) {
    if (readOnly_)
        return EROFS;
    return transfer(vectors, count, offset, true);
}

int DiskImage::flush() {
    while (::fdatasync(file_.fd()) != 0)
        if (errno != EINTR)
            return errno;
    return 0;
}

int DiskImage::discard(uint64_t offset, uint64_t length) {
    if (readOnly_)
        return EROFS;
    if (offset > size() || length > size() - offset)
        return EINVAL;
    if (::fallocate(file_.fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(offset),
                    off_t(length)) != 0)
        return errno;
    return 0;
}

int DiskImage::writeZeroes(uint64_t offset, uint64_t length, bool mayUnmap) {
    if (readOnly_)
        return EROFS;
    if (offset > size() || length > size() - offset)
        return EINVAL;
    const int mode = mayUnmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
                              : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
    if (::fallocate(file_.fd(), mode, off_t(offset), off_t(length)) == 0)
        return 0;
    if (errno != EOPNOTSUPP)
        return errno;
    // The file system has neither: write the zeroes.
    static const std::vector<uint8_t> kZeroes(1 << 16);
    while (length > 0) {
        const size_t chunk = static_cast<size_t>(std::min<uint64_t>(length, kZeroes.size()));
        iovec vector{const_cast<uint8_t*>(kZeroes.data()), chunk};
        if (const int error = transfer(&vector, 1, offset, true))
            return error;
        offset += chunk;
        length -= chunk;
    }
    return 0;
}

} // namespace kvmscope::storage
