#include "kvm/Ioctl.h"

#include "kvm/FileDescriptor.h"
#include "kvm/compat.h"

#include <cerrno>
#include <sys/ioctl.h>
#include <unistd.h>

namespace kvmscope::kvm {

void FileDescriptor::reset() {
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

// EINTR is retried for every ioctl but KVM_RUN: there it is the answer to a kick (a signal or
// immediate_exit, api.rst 5 "immediate_exit"), and retrying would run the guest again for ever.
int tryIoctl(int fd, unsigned long request, void* arg) {
    int result;
    do {
        result = ::ioctl(fd, request, arg);
    } while (result < 0 && errno == EINTR && request != KVM_RUN);
    return result < 0 ? -errno : result;
}

int tryIoctl(int fd, unsigned long request, unsigned long arg) {
    int result;
    do {
        result = ::ioctl(fd, request, arg);
    } while (result < 0 && errno == EINTR && request != KVM_RUN);
    return result < 0 ? -errno : result;
}

int checkedIoctl(int fd, unsigned long request, const char* name, void* arg) {
    const int result = tryIoctl(fd, request, arg);
    if (result < 0)
        throw KvmError(name, -result);
    return result;
}

int checkedIoctl(int fd, unsigned long request, const char* name, unsigned long arg) {
    const int result = tryIoctl(fd, request, arg);
    if (result < 0)
        throw KvmError(name, -result);
    return result;
}

bool hasDeviceAttr(int fd, uint32_t group, uint64_t attr) {
    kvm_device_attr request{};
    request.group = group;
    request.attr = attr;
    return tryIoctl(fd, KVM_HAS_DEVICE_ATTR, &request) == 0;
}

void getDeviceAttr(int fd, uint32_t group, uint64_t attr, void* value, const char* what) {
    kvm_device_attr request{};
    request.group = group;
    request.attr = attr;
    request.addr = reinterpret_cast<uint64_t>(value);
    const int result = tryIoctl(fd, KVM_GET_DEVICE_ATTR, &request);
    if (result < 0)
        throw KvmError("KVM_GET_DEVICE_ATTR", -result, what);
}

void setDeviceAttr(int fd, uint32_t group, uint64_t attr, const void* value, const char* what) {
    kvm_device_attr request{};
    request.group = group;
    request.attr = attr;
    request.addr = reinterpret_cast<uint64_t>(value);
    const int result = tryIoctl(fd, KVM_SET_DEVICE_ATTR, &request);
    if (result < 0)
        throw KvmError("KVM_SET_DEVICE_ATTR", -result, what);
}

} // namespace kvmscope::kvm
