#pragma once
// The machine's device timers (devices/DeviceTimer.h): each one a timerfd on CLOCK_REALTIME,
// watched by one I/O thread (common/IoThread.h) that runs their handlers. Nothing runs until a
// device arms its first timer: the timerfd is created and the thread started then, so a guest
// that never enables a timed interrupt costs no thread and no wake-up. A disarmed timerfd is
// never readable: the thread sleeps in epoll_wait.
//
// Why not the virtio I/O thread: it serves disk requests with blocking preadv/pwritev, so a
// periodic interrupt would wait behind a disk read, and it exists only with a virtio disk.
//
// Teardown: every timer must be destroyed before this (Machine declares it before its devices,
// so it is destroyed after them); a timer's destructor unwatches and closes its timerfd.
#include "devices/DeviceTimer.h"

#include <memory>
#include <mutex>
#include <string>

namespace kvmscope {

class IoThread;

class DeviceTimerThread {
public:
    // `threadName` shows in ps and gdb once the thread runs (15 characters at most).
    explicit DeviceTimerThread(std::string threadName);
    ~DeviceTimerThread();
    DeviceTimerThread(const DeviceTimerThread&) = delete;
    DeviceTimerThread& operator=(const DeviceTimerThread&) = delete;

    // A disarmed timer; `onExpiry` runs on this thread. Creates no fd and starts nothing yet.
    std::unique_ptr<DeviceTimer> createTimer(std::function<void()> onExpiry);
    // As a DeviceTimerFactory for a device's constructor.
    DeviceTimerFactory factory();
    // Whether the thread has been started (by the first timer armed).
    bool started() const;

private:
    class Timer;
    IoThread& thread(); // starts it on first use

    std::string name_;
    mutable std::mutex mutex_;
    std::unique_ptr<IoThread> thread_; // under mutex_
};

} // namespace kvmscope
