#pragma once
// A file kvmscope reads as input (an image, an initrd, a symbol file), opened in one place.
//
// open(2) of a FIFO waits until a writer opens it, which may be never, and a device file may do
// anything when read. So the path's type is checked before it is opened; it is opened with
// O_NONBLOCK, so that a FIFO put in its place meanwhile cannot hold the open either; and fstat(2)
// of the descriptor confirms that what was opened is a regular file or a block device.
#include "kvm/FileDescriptor.h"

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace kvmscope {

class InputFile {
public:
    enum class Access { ReadOnly, ReadWrite };

    // Opens `path` (read-only unless `access` says otherwise). `what` names the file in errors
    // ("image", "symbol file", "disk image"). Throws
    // LoadError naming the file when it cannot be opened, or when it is neither a regular file
    // nor a block device: the message names its type ("a FIFO (named pipe)", "a directory", ...).
    InputFile(const std::string& path, const char* what, Access access = Access::ReadOnly);

    int fd() const { return fd_.get(); }
    const std::string& path() const { return path_; }
    // The size fstat reported for a regular file; the device's size for a block device.
    uint64_t size() const { return size_; }

    // Reads the file's first size() bytes. Throws LoadError when a read fails or the file ends
    // early (it shrank while being read).
    std::vector<uint8_t> readAll() const;

private:
    std::string path_;
    const char* what_;
    kvm::FileDescriptor fd_; // the move-only owner every fd wrapper uses
    uint64_t size_ = 0;
};

// What kind of file `mode` (st_mode) says: "a regular file", "a FIFO (named pipe)", "a socket",
// "a directory", "a character device", "a block device", "a symbolic link".
std::string describeFileType(mode_t mode);

} // namespace kvmscope
