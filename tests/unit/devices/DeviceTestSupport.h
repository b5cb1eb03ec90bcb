#pragma once
// Stand-ins for the machine's side of a user-space device: an IRQ line that records its levels,
// a serial sink that keeps what it got, a PS/2 port that keeps what a keyboard or mouse sent, and
// in/out helpers that access a BusDevice the way a vcpu's port exit does.
#include "devices/IrqLine.h"
#include "devices/Ps2Device.h"
#include "devices/SerialSink.h"
#include "machine/BusDevice.h"

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace kvmscope::testing {

class RecordingIrqLine : public IrqLine {
public:
    void setLevel(bool high) override {
        std::lock_guard lock(mutex_);
        levels_.push_back(high);
    }
    bool level() const {
        std::lock_guard lock(mutex_);
        return !levels_.empty() && levels_.back();
    }
    // Every level the device set, in order; the device only reports changes.
    std::vector<bool> levels() const {
        std::lock_guard lock(mutex_);
        return levels_;
    }
    int risingEdges() const {
        std::lock_guard lock(mutex_);
        int edges = 0;
        bool previous = false;
        for (bool high : levels_) {
            edges += high && !previous;
            previous = high;
        }
        return edges;
    }

private:
    mutable std::mutex mutex_;
    std::vector<bool> levels_;
};

class CollectingSerialSink : public SerialSink {
public:
    void serialOutput(std::span<const uint8_t> bytes) override {
        std::lock_guard lock(mutex_);
        text_.append(bytes.begin(), bytes.end());
        ++calls_;
    }
    std::string text() const {
        std::lock_guard lock(mutex_);
        return text_;
    }
    int calls() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }

private:
    mutable std::mutex mutex_;
    std::string text_;
    int calls_ = 0;
};

// The controller's end of a PS/2 link with no controller: it keeps every byte the device sent
// until the test takes them, without bound. Like a controller, it forgets the bytes not yet
// taken when the device empties its buffer.
class RecordingPs2Port : public Ps2Port {
public:
    void send(std::span<const uint8_t> bytes) override {
        unsent_.insert(unsent_.end(), bytes.begin(), bytes.end());
    }
    void sendPacket(std::span<const uint8_t> packet) override {
        ++packets_;
        send(packet);
    }
    void discardUnsent() override {
        unsent_.clear();
        ++discards_;
    }
    // The bytes sent since the last take(), as the guest would read them.
    std::vector<uint8_t> take() { return std::exchange(unsent_, {}); }
    int packets() const { return packets_; }   // sendPacket calls
    int discards() const { return discards_; } // discardUnsent calls

private:
    std::vector<uint8_t> unsent_;
    int packets_ = 0;
    int discards_ = 0;
};

inline uint8_t inb(BusDevice& device, uint64_t offset) {
    uint8_t value = 0x5a; // a value the device must overwrite
    device.read(offset, std::span<uint8_t>(&value, 1));
    return value;
}

inline uint16_t inw(BusDevice& device, uint64_t offset) {
    uint8_t bytes[2] = {0x5a, 0x5a};
    device.read(offset, bytes);
    return static_cast<uint16_t>(bytes[0] | bytes[1] << 8);
}

inline uint32_t inl(BusDevice& device, uint64_t offset) {
    uint8_t bytes[4] = {0x5a, 0x5a, 0x5a, 0x5a};
    device.read(offset, bytes);
    return static_cast<uint32_t>(bytes[0]) | static_cast<uint32_t>(bytes[1]) << 8 |
           static_cast<uint32_t>(bytes[2]) << 16 | static_cast<uint32_t>(bytes[3]) << 24;
}

inline void outb(BusDevice& device, uint64_t offset, uint8_t value) {
    device.write(offset, std::span<const uint8_t>(&value, 1));
}

inline void outw(BusDevice& device, uint64_t offset, uint16_t value) {
    const uint8_t bytes[2] = {static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8)};
    device.write(offset, bytes);
}

inline void outl(BusDevice& device, uint64_t offset, uint32_t value) {
    const uint8_t bytes[4] = {static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8),
                              static_cast<uint8_t>(value >> 16), static_cast<uint8_t>(value >> 24)};
    device.write(offset, bytes);
}

} // namespace kvmscope::testing
