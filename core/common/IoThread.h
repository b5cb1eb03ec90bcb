#pragma once
// A thread that waits on file descriptors and runs a handler for each one that becomes readable:
// where a device does its slow work (disk I/O) off the vcpu threads. A virtio device's queue
// notifications arrive as KVM_IOEVENTFD eventfds, so the vcpu that wrote the notify register goes
// on at once and the request is served here (docs/design.md, "Threads").
//
// Handlers run one at a time on the thread, in no promised order; `unwatch` returns only once the
// fd's handler is not running and will not run again, so a device can unwatch and then die.
#include "kvm/FileDescriptor.h"

#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace kvmscope {

class IoThread {
public:
    // Starts the thread; `name` shows in ps and gdb (15 characters at most).
    explicit IoThread(std::string name);
    ~IoThread(); // unwatches everything, stops and joins
    IoThread(const IoThread&) = delete;
    IoThread& operator=(const IoThread&) = delete;

    // Runs `handler` on the thread each time `fd` is readable (level-triggered: the handler
    // must read what made it so, e.g. the eventfd's counter, and must take a read that finds
    // nothing, which a non-blocking eventfd answers with EAGAIN). Throws Error naming the fd when
    // epoll refuses it, or when it is watched already.
    void watch(int fd, std::function<void()> handler);
    void unwatch(int fd);
    // Runs `task` on the thread and returns when it has run (for reads of state the thread owns).
    // From the thread itself, runs it at once.
    void call(const std::function<void()>& task);

    bool onThread() const { return std::this_thread::get_id() == thread_.get_id(); }

private:
    void run();

    kvm::FileDescriptor epoll_;
    kvm::FileDescriptor wake_; // an eventfd: quit, or tasks waiting
    std::mutex mutex_;
    std::unordered_map<int, std::function<void()>> handlers_; // under mutex_
    std::vector<std::function<void()>> tasks_;                // under mutex_
    bool quit_ = false;                                       // under mutex_
    std::string name_;
    std::thread thread_;
};

} // namespace kvmscope
