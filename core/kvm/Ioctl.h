#pragma once
// The only place kvmscope calls ioctl(2): every KVM request goes through these helpers, which
// retry on EINTR where the call is not KVM_RUN and throw KvmError naming the request.
#include "kvm/KvmError.h"

#include <cstdint>

namespace kvmscope::kvm {

// ioctl(fd, request, arg); returns the (non-negative) result or throws KvmError(name, errno).
int checkedIoctl(int fd, unsigned long request, const char* name, void* arg);
int checkedIoctl(int fd, unsigned long request, const char* name, unsigned long arg = 0);
// Same, but returns -errno instead of throwing (for calls whose failure is an answer).
int tryIoctl(int fd, unsigned long request, void* arg);
int tryIoctl(int fd, unsigned long request, unsigned long arg = 0);

// KVM_HAS/GET/SET_DEVICE_ATTR are the same on a system, VM, vcpu or device fd (api.rst 4.80).
bool hasDeviceAttr(int fd, uint32_t group, uint64_t attr);
// Reads `size` bytes (the attribute's own size) of attribute (group, attr) into `value`.
void getDeviceAttr(int fd, uint32_t group, uint64_t attr, void* value, const char* what);
void setDeviceAttr(int fd, uint32_t group, uint64_t attr, const void* value, const char* what);

} // namespace kvmscope::kvm

// Calls checkedIoctl with the request's own name in the error message.
#define KVM_IOCTL(fd, request, ...)                                                                \
    ::kvmscope::kvm::checkedIoctl((fd), (request), #request __VA_OPT__(, ) __VA_ARGS__)
