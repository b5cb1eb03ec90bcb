#include "common/InputFile.h"

#include "common/Error.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kvmscope {
namespace {

bool readable(mode_t mode) {
    return S_ISREG(mode) || S_ISBLK(mode);
}

LoadError wrongType(const std::string& path, const char* what, mode_t mode) {
    return LoadError(path, fmt::format("the {} is {}, not a regular file or block device", what,
                                       describeFileType(mode)));
}

} // namespace

std::string describeFileType(mode_t mode) {
    if (S_ISREG(mode))
        return "a regular file";
    if (S_ISFIFO(mode))
        return "a FIFO (named pipe)";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return fmt::format("a file of unknown type (st_mode {:#o})", mode);
}

InputFile::InputFile(const std::string& path, const char* what, Access access)
    : path_(path), what_(what) {
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0)
        throw LoadError(path, fmt::format("cannot open the {}: {}", what, std::strerror(errno)));
    if (!readable(status.st_mode))
        throw wrongType(path, what, status.st_mode);
    const int mode = access == Access::ReadWrite ? O_RDWR : O_RDONLY;
    fd_ = kvm::FileDescriptor(::open(path.c_str(), mode | O_CLOEXEC | O_NONBLOCK));
    if (!fd_.valid())
        throw LoadError(path, fmt::format("cannot open the {}{}: {}", what,
                                          access == Access::ReadWrite ? " for writing" : "",
                                          std::strerror(errno)));
    if (::fstat(fd(), &status) != 0)
        throw LoadError(path, fmt::format("cannot stat the {}: {}", what, std::strerror(errno)));
    if (!readable(status.st_mode))
        throw wrongType(path, what, status.st_mode);
    if (S_ISREG(status.st_mode)) {
        size_ = static_cast<uint64_t>(status.st_size);
    } else {
        const off_t end = ::lseek(fd(), 0, SEEK_END);
        if (end < 0 || ::lseek(fd(), 0, SEEK_SET) != 0)
            throw LoadError(path, fmt::format("cannot find the size of the {}: {}", what,
                                              std::strerror(errno)));
        size_ = static_cast<uint64_t>(end);
    }
    // Reads block from here on, as they would have without O_NONBLOCK: regular files and block
    // devices never make a reader wait for another process.
    ::fcntl(fd(), F_SETFL, ::fcntl(fd(), F_GETFL) & ~O_NONBLOCK);
}

std::vector<uint8_t> InputFile::readAll() const {
    std::vector<uint8_t> bytes(size_);
    uint64_t done = 0;
    while (done < size_) {
        const ssize_t count = ::pread(fd(), bytes.data() + done, size_ - done, off_t(done));
        if (count < 0 && errno == EINTR)
            continue;
        if (count < 0)
            throw LoadError(path_,
                            fmt::format("cannot read the {}: {}", what_, std::strerror(errno)));
        if (count == 0)
            throw LoadError(path_, fmt::format("the {} shrank while being read: {:#x} of {:#x} "
                                               "bytes",
                                               what_, done, size_));
        done += static_cast<uint64_t>(count);
    }
    return bytes;
}

} // namespace kvmscope
