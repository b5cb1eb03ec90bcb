#pragma once
// Port 0xf4: the debug-exit port, compatible with QEMU's isa-debug-exit device. A guest that
// writes V (1, 2 or 4 bytes, little endian) asks to stop; the machine turns V into the process
// exit status (V << 1) | 1, so a test guest can report success or a failure code without a
// console. Not a real PC device: there is no datasheet, only that convention.
//
// Locking: the mutex guards the counters only; onExit runs after it is released, since the
// machine's stop request kicks every vcpu and may end up back in this device.
#include "devices/EmulatedDevice.h"
#include "machine/BusDevice.h"

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

namespace kvmscope {

class DebugExitPort : public BusDevice, public EmulatedDevice {
public:
    static constexpr uint32_t kRegistersGroup = 0;
    static constexpr uint32_t kStatisticsGroup = 1;

    // `onExit(V)` runs on the writing vcpu's thread for every write.
    explicit DebugExitPort(std::function<void(uint32_t)> onExit);

    // Reads return all ones (nothing drives the bus); a write of 1-4 bytes is the value V, the
    // bytes of a wider access beyond the fourth are ignored.
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

    std::string name() const override { return "debug-exit port"; }

protected:
    void describeState(StateVisitor& state) override;
    std::mutex& stateMutex() const override { return mutex_; }

private:
    std::function<void(uint32_t)> onExit_;
    mutable std::mutex mutex_;
    uint32_t lastValue_ = 0;
    uint64_t writes_ = 0;
};

} // namespace kvmscope
