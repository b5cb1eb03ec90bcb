#pragma once
// Port 0xcf9: the Reset Control Register (RST_CNT) of Intel's PCH, and of its ICH and PIIX
// ancestors (Intel PCH datasheets, "Reset Control Register (RST_CNT) - I/O port CF9h"):
//
//   bit 3 FULL_RST  with SYS_RST, a full power cycle rather than a warm reset
//   bit 2 RST_CPU   a 0->1 transition starts the reset that SYS_RST selects
//   bit 1 SYS_RST   1: hard (platform) reset, 0: soft (CPU-only, INIT) reset
//
// kvmscope does not distinguish the kinds: any write with RST_CPU set asks the machine to reset.
// Bits 1 and 3 are kept and read back; RST_CPU itself reads as 0 (it is self-clearing: the
// reset takes place instead). Linux's "reboot=pci" and most firmware use this port.
//
// Locking: the mutex guards the register only; onReset runs after it is released, since the
// machine's stop request kicks every vcpu.
#include "devices/EmulatedDevice.h"
#include "machine/BusDevice.h"

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

namespace kvmscope {

class ResetControlPort : public BusDevice, public EmulatedDevice {
public:
    static constexpr uint8_t kSystemReset = 0x02; // SYS_RST
    static constexpr uint8_t kResetCpu = 0x04;    // RST_CPU
    static constexpr uint8_t kFullReset = 0x08;   // FULL_RST
    static constexpr uint8_t kStoredBits = kSystemReset | kFullReset;

    static constexpr uint32_t kRegistersGroup = 0;
    static constexpr uint32_t kStatisticsGroup = 1;

    // `onReset` runs on the writing vcpu's thread.
    explicit ResetControlPort(std::function<void()> onReset);

    // A byte-wide port: a wider access uses its first byte, a read returns it zero-extended.
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

    std::string name() const override { return "reset control (port 0xcf9)"; }

protected:
    void describeState(StateVisitor& state) override;
    std::mutex& stateMutex() const override { return mutex_; }

private:
    std::function<void()> onReset_;
    mutable std::mutex mutex_;
    uint8_t control_ = 0;
    uint64_t resetRequests_ = 0;
};

} // namespace kvmscope
