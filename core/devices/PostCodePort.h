#pragma once
// Port 0x80: the POST diagnostic port. PC firmware writes a progress code here at each step of
// its power-on self test, for a debug card's two-digit display; nothing else listens. kvmscope
// keeps the last code and a count, logs each code at debug level, and reads back the last code.
//
// Locking: the mutex guards the two fields only; logging happens after it is released.
#include "devices/EmulatedDevice.h"
#include "machine/BusDevice.h"

#include <cstdint>
#include <mutex>
#include <span>

namespace kvmscope {

class PostCodePort : public BusDevice, public EmulatedDevice {
public:
    static constexpr uint32_t kRegistersGroup = 0;
    static constexpr uint32_t kStatisticsGroup = 1;

    PostCodePort() = default;

    // A byte-wide port: a wider access uses its first byte, a read returns it zero-extended.
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

    std::string name() const override { return "POST code port"; }

protected:
    void describeState(StateVisitor& state) override;
    std::mutex& stateMutex() const override { return mutex_; }

private:
    mutable std::mutex mutex_;
    uint8_t lastCode_ = 0;
    uint64_t writes_ = 0;
};

} // namespace kvmscope
