#pragma once
// How a device lets time pass without knowing the host: the machine hands it a factory of timers
// whose expiries run a handler on the machine's device-timer thread (a timerfd each,
// machine/DeviceTimerThread.h); unit tests and fuzzers hand it a fake that they fire by hand.
//
// Times are the host's CLOCK_REALTIME in nanoseconds since the epoch, the clock the RTC shows.
//
// Threads: arm() and disarm() may be called from any thread, with the device's lock held and from
// the handler itself: they never wait for the handler. The handler runs on one thread, never twice
// at once. Destroying the timer disarms it and waits until the handler is not running and will not
// run again, so it must not happen with a lock the handler takes.
#include <chrono>
#include <functional>
#include <memory>

namespace kvmscope {

class DeviceTimer {
public:
    virtual ~DeviceTimer() = default;
    // Expires at `first`, then every `period` after it (zero: once); replaces any earlier arming.
    // An expiry the handler has not run for yet is merged into the next: one call, however many
    // periods passed (the device reads its clock to see what happened).
    virtual void arm(std::chrono::nanoseconds first, std::chrono::nanoseconds period) = 0;
    virtual void disarm() = 0;
};

// Makes a disarmed timer that calls `onExpiry` on each expiry.
using DeviceTimerFactory =
    std::function<std::unique_ptr<DeviceTimer>(std::function<void()> onExpiry)>;

} // namespace kvmscope
