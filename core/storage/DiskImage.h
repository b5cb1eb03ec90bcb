#pragma once
// A raw disk image as a block device's backing store: opened and checked before the guest starts,
// locked so that two machines cannot write one image, read and written at byte offsets with
// scatter-gather lists straight from and into guest RAM, and flushed to the disk (fdatasync)
// before a device reports a flush done.
#include "common/InputFile.h"
#include "storage/DiskSpec.h"

#include <cstdint>
#include <string>
#include <sys/uio.h>

namespace kvmscope::storage {

class DiskImage {
public:
    static constexpr uint32_t kSectorSize = 512;

    // Opens `spec.path` read-write (read-only with `spec.readOnly`) and takes an open file
    // description lock on it: a write lock, or a read lock for a read-only disk, so writers
    // exclude every other user and readers only writers (QEMU's images lock the same way, so the
    // two also exclude each other). Throws LoadError naming the file for a missing, unreadable or
    // unwritable file, one in use, an empty one, one that is not a whole number of sectors, or
    // one whose content is another format's (qcow2, VMDK, VDI, VHDX) when no format was given.
    explicit DiskImage(const DiskSpec& spec);

    const std::string& path() const { return file_.path(); }
    uint64_t size() const { return file_.size(); } // bytes, a multiple of kSectorSize
    uint64_t sectors() const { return size() / kSectorSize; }
    bool readOnly() const { return readOnly_; }

    // Each returns 0 or an errno value. The whole range must lie inside size(); a read or write
    // that the file ends before (it shrank meanwhile) fails with EIO.
    int read(const iovec* vectors, int count, uint64_t offset);
    int write(const iovec* vectors, int count, uint64_t offset);
    int flush();
    // Frees the range (a hole, reading as zeroes); EOPNOTSUPP where the file system cannot.
    int discard(uint64_t offset, uint64_t length);
    // Makes the range read as zeroes: a hole when `mayUnmap`, else zeroes written or allocated.
    int writeZeroes(uint64_t offset, uint64_t length, bool mayUnmap);

private:
    int transfer(const iovec* vectors, int count, uint64_t offset, bool writing);

    InputFile file_;
    bool readOnly_;
};

} // namespace kvmscope::storage
