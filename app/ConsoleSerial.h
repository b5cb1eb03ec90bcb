#pragma once
// The headless serial console: COM1's output to a file descriptor (stdout or a log file), and
// the terminal's keys to COM1's input, with Ctrl-A x to quit as in other VMMs' consoles.
#include "devices/Uart16550.h"

#include <atomic>
#include <functional>
#include <termios.h>
#include <thread>

namespace kvmscope::app {

// Writes every byte the guest transmits, unbuffered, retrying short writes.
class FdSerialSink : public SerialSink {
public:
    explicit FdSerialSink(int fd) : fd_(fd) {}
    void serialOutput(std::span<const uint8_t> bytes) override;

private:
    int fd_;
};

class TerminalInput {
public:
    // Starts reading `fd` (raw mode when it is a terminal) into `uart`; `onQuit` runs on the
    // reader thread when the user types Ctrl-A x.
    TerminalInput(int fd, Uart16550& uart, std::function<void()> onQuit);
    ~TerminalInput(); // stops the thread and restores the terminal
    TerminalInput(const TerminalInput&) = delete;
    TerminalInput& operator=(const TerminalInput&) = delete;

private:
    void readLoop();

    int fd_;
    Uart16550& uart_;
    std::function<void()> onQuit_;
    int wakeFd_ = -1; // eventfd that ends the reader
    bool restoreTerminal_ = false;
    termios savedTerminal_{};
    std::thread thread_;
};

} // namespace kvmscope::app
