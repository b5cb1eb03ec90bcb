#include "common/EventFd.h"

#include "common/Error.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace kvmscope {

EventFd::EventFd() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!fd_.valid())
        throw Error(fmt::format("eventfd failed: {}", std::strerror(errno)));
}

void EventFd::signal() {
    const uint64_t one = 1;
    // Only a counter at its maximum refuses (EAGAIN): the reader has a wake-up pending anyway.
    [[maybe_unused]] const auto written = ::write(fd_.get(), &one, sizeof one);
}

uint64_t EventFd::drain() {
    uint64_t count = 0;
    if (::read(fd_.get(), &count, sizeof count) != sizeof count)
        return 0; // EAGAIN: nothing signalled
    return count;
}

} // namespace kvmscope
