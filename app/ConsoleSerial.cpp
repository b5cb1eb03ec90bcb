#include "ConsoleSerial.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <vector>

namespace kvmscope::app {
namespace {

constexpr uint8_t kEscape = 0x01; // Ctrl-A
constexpr uint8_t kQuit = 'x';

} // namespace

FdSerialSink::FdSerialSink(int fd) : fd_(fd) {
    struct stat status {};
    if (::fstat(fd_, &status) == 0)
        mayBlock_ = !S_ISREG(status.st_mode) && !(S_ISCHR(status.st_mode) && ::isatty(fd_) == 0 &&
                                                  status.st_rdev == makedev(1, 3)); // /dev/null
    wakeFd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

FdSerialSink::~FdSerialSink() {
    if (wakeFd_ >= 0)
        ::close(wakeFd_);
}

void FdSerialSink::abandon() {
    const uint64_t one = 1;
    if (wakeFd_ >= 0)
        (void)!::write(wakeFd_, &one, sizeof one);
}

void FdSerialSink::resume() {
    uint64_t count = 0;
    if (wakeFd_ >= 0)
        (void)!::read(wakeFd_, &count, sizeof count);
}

void FdSerialSink::serialOutput(std::span<const uint8_t> bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        size_t chunk = bytes.size() - done;
        if (mayBlock_ && wakeFd_ >= 0) {
            // Wait until the reader has room, or until kvmscope gives up on it. Once poll says
            // POLLOUT, a pipe takes up to PIPE_BUF bytes without blocking (pipe(7)).
            pollfd fds[2] = {{fd_, POLLOUT, 0}, {wakeFd_, POLLIN, 0}};
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR)
                    continue;
                return;
            }
            if (fds[1].revents & POLLIN)
                return; // abandoned: the rest of the guest's output is dropped
            if (fds[0].revents & (POLLERR | POLLNVAL))
                return;
            chunk = std::min<size_t>(chunk, PIPE_BUF);
        }
        const ssize_t written = ::write(fd_, bytes.data() + done, chunk);
        if (written < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return; // the reader went away (EPIPE): the guest's output is dropped, not fatal
        }
        done += static_cast<size_t>(written);
    }
}

TerminalInput::TerminalInput(int fd, Uart16550& uart, std::function<void()> onQuit)
    : fd_(fd), uart_(uart), onQuit_(std::move(onQuit)) {
    wakeFd_ = ::eventfd(0, EFD_CLOEXEC);
    if (::isatty(fd_) && ::tcgetattr(fd_, &savedTerminal_) == 0) {
        termios raw = savedTerminal_;
        // Raw mode: keys go to the guest as typed (Ctrl-C included); output processing stays on.
        raw.c_iflag &= ~static_cast<tcflag_t>(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
                                              ICRNL | IXON);
        raw.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
        raw.c_cflag |= CS8;
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        restoreTerminal_ = ::tcsetattr(fd_, TCSANOW, &raw) == 0;
    }
    thread_ = std::thread([this] { readLoop(); });
}

TerminalInput::~TerminalInput() {
    const uint64_t one = 1;
    if (wakeFd_ >= 0)
        (void)!::write(wakeFd_, &one, sizeof one);
    if (thread_.joinable())
        thread_.join();
    if (restoreTerminal_)
        ::tcsetattr(fd_, TCSANOW, &savedTerminal_);
    if (wakeFd_ >= 0)
        ::close(wakeFd_);
}

void TerminalInput::readLoop() {
    bool escaped = false;
    std::vector<uint8_t> forward;
    uint8_t buffer[256];
    for (;;) {
        pollfd fds[2] = {{fd_, POLLIN, 0}, {wakeFd_, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (fds[1].revents)
            return;
        if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        const ssize_t count = ::read(fd_, buffer, sizeof buffer);
        if (count < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (count <= 0)
            return; // end of input: the guest simply gets no more keys
        forward.clear();
        for (ssize_t i = 0; i < count; ++i) {
            const uint8_t byte = buffer[i];
            if (escaped) {
                escaped = false;
                if (byte == kQuit) {
                    onQuit_();
                    return;
                }
                if (byte != kEscape)
                    continue; // unknown escape: swallow it
            } else if (byte == kEscape && restoreTerminal_) {
                escaped = true;
                continue;
            }
            forward.push_back(byte);
        }
        if (!forward.empty())
            uart_.receive(forward);
    }
}

} // namespace kvmscope::app
