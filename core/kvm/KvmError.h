#pragma once
#include "common/Error.h"

#include <string>

namespace kvmscope::kvm {

// A failed ioctl (or open/mmap) on a KVM file descriptor: names the call and the errno.
class KvmError : public Error {
public:
    KvmError(std::string call, int errorNumber, const std::string& context = {});
    const std::string& call() const { return call_; }
    int errorNumber() const { return errno_; }

protected:
    struct FullMessage {
        std::string text;
    };
    KvmError(std::string call, int errorNumber, FullMessage message);

private:
    std::string call_;
    int errno_;
};

// /dev/kvm is missing or not accessible; the message tells the user what to do.
class KvmUnavailable : public KvmError {
public:
    KvmUnavailable(const std::string& path, int errorNumber);
};

} // namespace kvmscope::kvm
