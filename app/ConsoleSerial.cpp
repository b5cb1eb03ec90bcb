#include "ConsoleSerial.h"

#include <cerrno>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <vector>

namespace kvmscope::app {
namespace {

constexpr uint8_t kEscape = 0x01; // Ctrl-A
constexpr uint8_t kQuit = 'x';

} // namespace

void FdSerialSink::serialOutput(std::span<const uint8_t> bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t written = ::write(fd_, bytes.data() + done, bytes.size() - done);
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
