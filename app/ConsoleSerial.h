#pragma once
// The headless serial console: COM1's output to a file descriptor (stdout or a log file), and
// the terminal's keys to COM1's input, with Ctrl-A x to quit as in other VMMs' consoles.
#include "devices/Uart16550.h"

#include <atomic>
#include <functional>
#include <termios.h>
#include <thread>

namespace kvmscope::app {

// Writes every byte the guest transmits, unbuffered, retrying short writes. A slow reader of a
// pipe, FIFO or terminal slows the guest down (its vcpu waits, as a UART waits for its line); a
// reader that stops reading altogether must not keep kvmscope from stopping: abandon() makes a
// waiting write give up, and drops every later byte, until resume().
class FdSerialSink : public SerialSink {
public:
    explicit FdSerialSink(int fd);
    ~FdSerialSink() override;
    FdSerialSink(const FdSerialSink&) = delete;
    FdSerialSink& operator=(const FdSerialSink&) = delete;

    void serialOutput(std::span<const uint8_t> bytes) override;
    void abandon(); // thread-safe
    void resume();  // before the next machine starts writing

private:
    int fd_;
    bool mayBlock_ = true; // a pipe, FIFO, socket or terminal (not a regular file or /dev/null)
    int wakeFd_ = -1;      // eventfd, readable once abandoned
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
