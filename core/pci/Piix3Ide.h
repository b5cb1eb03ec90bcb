#pragma once
// The IDE controller at 00:01.1: function 1 of the Intel 82371SB (PIIX3), in compatibility
// ("legacy") mode with bus-master DMA (82371FB/82371SB datasheet, 290550-002, 2.3 "PCI
// Configuration Registers - IDE Interface", 2.7 "Bus Master IDE I/O Registers").
//
// What it does:
//  * Identity 8086:7010, class 01 01 80: mass storage, IDE, programming interface 0x80 (bus
//    master capable; both channels in compatibility mode, fixed there): the channels decode the
//    ISA ports 0x1f0-0x1f7/0x3f6 (primary, IRQ 14) and 0x170-0x177/0x376 (secondary, IRQ 15),
//    which the platform table places (machine/PcPlatform.h). No INTx# pin: compatibility mode
//    interrupts on the ISA IRQs.
//  * IDETIM (0x40 primary, 0x42 secondary, 2.3.9): bit 15, IDE decode enable, gates that
//    channel's legacy ports: while it is clear they float (reads all ones, writes dropped) as on
//    the chip, whose reset value is 0. Firmware sets it (SeaBIOS's piix_ide_setup writes 0x8000);
//    for a direct boot kvmscope sets it as firmware would (enableDecodeAsFirmware). The timing
//    bits are stored and shown.
//  * SIDETIM (0x44, 2.3.10): stored and shown.
//  * BMIBA (BAR4, 2.3.8): 16 I/O ports, the bus master registers of the primary channel at +0
//    and of the secondary at +8 (devices/ide/IdeChannel.h runs them). Decoded where the guest
//    puts it while the command register's I/O space bit is set, like any BAR (pci/PciFunction).
#include "pci/PciFunction.h"

#include <array>
#include <atomic>

namespace kvmscope::ide {
class IdeChannel;
}

namespace kvmscope::pci {

class Piix3Ide final : public PciFunction {
public:
    static constexpr uint16_t kDevice82371SbIde = 0x7010;
    static constexpr uint32_t kClassIdeLegacyBusMaster = 0x01'01'80;
    static constexpr unsigned kBusMasterBar = 4;
    static constexpr uint64_t kBusMasterPorts = 16;
    static constexpr unsigned kIdeTiming = 0x40; // IDETIM primary; secondary at 0x42
    static constexpr unsigned kSlaveIdeTiming = 0x44;
    static constexpr uint16_t kIdeDecodeEnable = 0x8000;
    static constexpr uint16_t kIdeTimingWritable = 0xf3ff; // bits 11-10 reserved
    static constexpr uint16_t kStatusDefault = 0x0280;     // fast back-to-back, DEVSEL medium
    static constexpr unsigned kChannels = 2;

    // The channels must outlive the function.
    Piix3Ide(ide::IdeChannel& primary, ide::IdeChannel& secondary);

    // A channel's legacy command block (8 ports) and control block (1 port), gated by its
    // IDETIM decode enable: what the machine puts on the I/O bus at the platform's ports.
    BusDevice& commandBlock(unsigned channel) { return legacy_[channel].command; }
    BusDevice& controlBlock(unsigned channel) { return legacy_[channel].control; }
    bool decodes(unsigned channel) const { return decode_[channel].load(); }

    // What PC firmware does before it boots anything: both channels' decode enabled, I/O space
    // and bus mastering on. For a direct boot, whose kernel expects the firmware's work done.
    void enableDecodeAsFirmware();

protected:
    void barRead(unsigned index, uint64_t offset, std::span<uint8_t> data) override;
    void barWrite(unsigned index, uint64_t offset, std::span<const uint8_t> data) override;
    void afterConfigWrite(unsigned offset, unsigned size) override;
    void describeDeviceState(StateVisitor& state) override;

private:
    // One legacy port block of a channel behind its decode enable.
    struct GatedPorts final : BusDevice {
        Piix3Ide* ide = nullptr;
        unsigned channel = 0;
        BusDevice* target = nullptr;
        void read(uint64_t offset, std::span<uint8_t> data) override;
        void write(uint64_t offset, std::span<const uint8_t> data) override;
    };
    struct LegacyPorts {
        GatedPorts command;
        GatedPorts control;
    };

    std::array<ide::IdeChannel*, kChannels> channels_;
    std::array<LegacyPorts, kChannels> legacy_;
    std::array<std::atomic<bool>, kChannels> decode_{}; // IDETIM bit 15, read without the lock
    std::atomic<uint64_t> floatingAccesses_{0};         // to a channel whose decode is off
};

} // namespace kvmscope::pci
