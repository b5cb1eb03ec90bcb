#pragma once
// An eventfd(2) owned for its life: a counter the kernel and threads signal each other through.
// KVM writes one when the guest rings a doorbell (KVM_IOEVENTFD) and reads one to inject an
// interrupt (KVM_IRQFD); the I/O thread waits on them. Non-blocking and close-on-exec.
#include "kvm/FileDescriptor.h"

#include <cstdint>

namespace kvmscope {

class EventFd {
public:
    // Throws Error naming eventfd and the errno when the kernel refuses one (out of fds).
    EventFd();

    int fd() const { return fd_.get(); }
    // Adds 1 to the counter, waking a reader.
    void signal();
    // Takes the counter (0 when nothing was signalled since the last drain).
    uint64_t drain();

private:
    kvm::FileDescriptor fd_;
};

} // namespace kvmscope
