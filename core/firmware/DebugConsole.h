#pragma once
// Port 0x402: QEMU's "debugcon" (isa-debugcon), the console PC firmware built for QEMU writes its
// log to. SeaBIOS writes every character of its debug output here (src/hw/serialio.c,
// qemu_debug_putc) once a read of the port has returned 0xe9, the value by which QEMU's device
// says it is there (src/fw/paravirt.h, QEMU_DEBUGCON_READBACK). Not a PC device: there is no
// datasheet, only that convention.
//
// kvmscope logs each complete line under the "firmware" logger (info level: `--log-level info`
// shows the firmware's log on stderr) and keeps the last lines as an attribute.
//
// Locking: the mutex guards the line buffer, the kept lines and the counters; logging happens
// after it is released.
#include "devices/EmulatedDevice.h"
#include "machine/BusDevice.h"

#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace kvmscope::firmware {

class DebugConsole : public BusDevice, public EmulatedDevice {
public:
    static constexpr uint32_t kRegistersGroup = 0;
    static constexpr uint32_t kStatisticsGroup = 1;
    static constexpr uint16_t kPortCount = 1;
    static constexpr uint8_t kReadback = 0xe9;     // what a read returns: "a debug console is here"
    static constexpr size_t kKeptLines = 64;       // lines the "log" attribute holds
    static constexpr size_t kMaxLineLength = 1024; // longer lines are broken here

    DebugConsole() = default;

    // A read returns kReadback in every byte; a write appends its bytes to the log.
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

    // The kept lines, oldest first, and the unfinished one if it is not empty.
    std::vector<std::string> lines() const;

    std::string name() const override { return "debug console"; }

protected:
    void describeState(StateVisitor& state) override;
    std::mutex& stateMutex() const override { return mutex_; }

private:
    // Under mutex_: ends the current line, keeps it and returns it for logging.
    std::string finishLine();

    mutable std::mutex mutex_;
    std::string current_;          // the line being written (no newline yet)
    std::deque<std::string> kept_; // the last kKeptLines complete lines
    uint64_t bytesWritten_ = 0;
    uint64_t lines_ = 0;
};

} // namespace kvmscope::firmware
