#include "common/IoThread.h"

#include "common/Error.h"

#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fmt/format.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace kvmscope {
namespace {

void signal(int eventFd) {
    const uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(eventFd, &one, sizeof one);
}

void drain(int eventFd) {
    uint64_t count = 0;
    [[maybe_unused]] const auto got = ::read(eventFd, &count, sizeof count);
}

} // namespace

IoThread::IoThread(std::string name)
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      name_(std::move(name)) {
    if (!epoll_.valid() || !wake_.valid())
        throw Error(fmt::format("I/O thread {}: {} failed: {}", name_,
                                epoll_.valid() ? "eventfd" : "epoll_create1",
                                std::strerror(errno)));
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = wake_.get();
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &event) != 0)
        throw Error(
            fmt::format("I/O thread {}: epoll_ctl failed: {}", name_, std::strerror(errno)));
    thread_ = std::thread([this] { run(); });
    ::pthread_setname_np(thread_.native_handle(), name_.substr(0, 15).c_str());
}

IoThread::~IoThread() {
    {
        std::lock_guard lock(mutex_);
        quit_ = true;
    }
    signal(wake_.get());
    thread_.join();
}

void IoThread::watch(int fd, std::function<void()> handler) {
    {
        std::lock_guard lock(mutex_);
        if (!handlers_.emplace(fd, std::move(handler)).second)
            throw Error(fmt::format("I/O thread {}: fd {} is watched already", name_, fd));
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
        const int error = errno;
        std::lock_guard lock(mutex_);
        handlers_.erase(fd);
        throw Error(fmt::format("I/O thread {}: cannot watch fd {}: epoll_ctl: {}", name_, fd,
                                std::strerror(error)));
    }
}

void IoThread::unwatch(int fd) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    // On the thread, between handlers: once this has run, the handler cannot be running.
    call([this, fd] { handlers_.erase(fd); });
}

void IoThread::call(const std::function<void()>& task) {
    if (onThread()) {
        task();
        return;
    }
    std::mutex doneMutex;
    std::condition_variable doneChanged;
    bool done = false;
    {
        std::lock_guard lock(mutex_);
        tasks_.push_back([&] {
            task();
            std::lock_guard doneLock(doneMutex);
            done = true;
            doneChanged.notify_one();
        });
    }
    signal(wake_.get());
    std::unique_lock doneLock(doneMutex);
    doneChanged.wait(doneLock, [&] { return done; });
}

void IoThread::run() {
    std::array<epoll_event, 16> events{};
    for (;;) {
        const int ready = ::epoll_wait(epoll_.get(), events.data(), int(events.size()), -1);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            return; // only a bad epoll fd fails; nothing can be served then
        for (int i = 0; i < ready; ++i) {
            const int fd = events[size_t(i)].data.fd;
            if (fd == wake_.get()) {
                drain(fd);
                std::vector<std::function<void()>> tasks;
                bool quit = false;
                {
                    std::lock_guard lock(mutex_);
                    quit = quit_;
                    tasks.swap(tasks_);
                }
                for (auto& task : tasks) // even when quitting: their callers wait for them
                    task();
                if (quit)
                    return;
                continue;
            }
            std::function<void()>* handler = nullptr;
            {
                std::lock_guard lock(mutex_);
                // Erased only on this thread (unwatch), so the pointer stays valid below.
                if (const auto found = handlers_.find(fd); found != handlers_.end())
                    handler = &found->second;
            }
            if (handler)
                (*handler)();
        }
    }
}

} // namespace kvmscope
