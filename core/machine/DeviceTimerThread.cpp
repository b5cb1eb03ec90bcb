#include "machine/DeviceTimerThread.h"

#include "common/IoThread.h"
#include "kvm/FileDescriptor.h"
#include "log/Log.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <pthread.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace kvmscope {
namespace {

timespec toTimespec(std::chrono::nanoseconds value) {
    const int64_t ns = value.count();
    return {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

} // namespace

class DeviceTimerThread::Timer final : public DeviceTimer {
public:
    Timer(DeviceTimerThread& owner, std::function<void()> onExpiry)
        : owner_(owner), onExpiry_(std::move(onExpiry)) {}

    ~Timer() override {
        {
            std::lock_guard lock(mutex_);
            if (!fd_.valid())
                return;
            disarmLocked();
        }
        // Waits for a running handler, so without mutex_ (a handler may arm the timer again);
        // the caller holds no lock the handler takes (the contract in DeviceTimer.h).
        owner_.thread().unwatch(fd_.get());
    } // fd_ closes

    void arm(std::chrono::nanoseconds first, std::chrono::nanoseconds period) override {
        std::lock_guard lock(mutex_);
        if (!fd_.valid() && !open())
            return;
        itimerspec spec{};
        // An it_value of zero would disarm: a time at or before the epoch is "now" anyway.
        spec.it_value = toTimespec(std::max(first, std::chrono::nanoseconds(1)));
        spec.it_interval = toTimespec(std::max(period, std::chrono::nanoseconds(0)));
        if (::timerfd_settime(fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) != 0)
            log::get("devices")->warn("device timer: timerfd_settime failed: {}",
                                      std::strerror(errno));
    }

    void disarm() override {
        std::lock_guard lock(mutex_);
        if (fd_.valid())
            disarmLocked();
    }

private:
    // Creates the timerfd and watches it, starting the thread if it is the first. On failure the
    // device goes without timed interrupts (its flags still follow the clock when read).
    bool open() {
        kvm::FileDescriptor fd(::timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC));
        if (!fd.valid()) {
            log::get("devices")->warn("device timer: timerfd_create failed: {}",
                                      std::strerror(errno));
            return false;
        }
        try {
            owner_.thread().watch(fd.get(), [this, raw = fd.get()] { expired(raw); });
        } catch (const std::exception& error) {
            log::get("devices")->warn("device timer: {}", error.what());
            return false;
        }
        fd_ = std::move(fd);
        return true;
    }

    void disarmLocked() {
        const itimerspec off{};
        ::timerfd_settime(fd_.get(), 0, &off, nullptr);
    }

    // On the thread. A read that finds nothing (EAGAIN: re-armed or disarmed since epoll saw it
    // readable) ends the wake-up without calling the device.
    void expired(int fd) {
        uint64_t expirations = 0;
        if (::read(fd, &expirations, sizeof expirations) == sizeof expirations && expirations)
            onExpiry_();
    }

    DeviceTimerThread& owner_;
    std::function<void()> onExpiry_;
    std::mutex mutex_;       // fd_'s creation and the timerfd_settime calls
    kvm::FileDescriptor fd_; // set once, by the first arm()
};

DeviceTimerThread::DeviceTimerThread(std::string threadName) : name_(std::move(threadName)) {}

DeviceTimerThread::~DeviceTimerThread() = default;

std::unique_ptr<DeviceTimer> DeviceTimerThread::createTimer(std::function<void()> onExpiry) {
    return std::make_unique<Timer>(*this, std::move(onExpiry));
}

DeviceTimerFactory DeviceTimerThread::factory() {
    return [this](std::function<void()> onExpiry) { return createTimer(std::move(onExpiry)); };
}

bool DeviceTimerThread::started() const {
    std::lock_guard lock(mutex_);
    return thread_ != nullptr;
}

IoThread& DeviceTimerThread::thread() {
    std::lock_guard lock(mutex_);
    if (!thread_) {
        // Started from whichever thread arms the first timer (a vcpu's): with every signal
        // blocked, so that it never takes a process-directed one (SIGINT, SIGTERM) meant for the
        // threads that handle them.
        sigset_t all;
        sigset_t previous;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &previous);
        try {
            thread_ = std::make_unique<IoThread>(name_);
        } catch (...) {
            pthread_sigmask(SIG_SETMASK, &previous, nullptr);
            throw;
        }
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
        log::get("devices")->debug("device timer thread {} started", name_);
    }
    return *thread_;
}

} // namespace kvmscope
