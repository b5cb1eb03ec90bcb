#pragma once
// Ports 0x60-0x64: the PC/AT keyboard controller, an Intel 8042 with a PS/2 keyboard on its first
// port and a PS/2 mouse on its second (IBM "Personal System/2 Hardware Interface Technical
// Reference", chapter "Keyboard/Auxiliary Device Controller" (8042)). This file is the
// controller: its registers, its own commands, the output buffer and the two IRQs. The devices
// are devices/Ps2Keyboard.h and devices/Ps2Mouse.h; the link between them, devices/Ps2Device.h.
//
// One registered range covers both of the controller's ports, so that the machine registers
// a single BusDevice of kPortCount ports at 0x60:
//
//   offset 0  port 0x60  data: the output buffer on read; a command's argument or a byte for
//                        the keyboard on write
//   offset 1  port 0x61  not this device's: KVM's in-kernel PIT answers it (system control port
//                        B, KVM_PIT_SPEAKER_DUMMY), so no access reaches user space
//   offset 2  port 0x62  unclaimed: reads 0xff, writes ignored
//   offset 3  port 0x63  unclaimed: reads 0xff, writes ignored
//   offset 4  port 0x64  status on read, controller command on write
//
// Every command completes at once, so the input buffer is never full (status IBF is always 0).
// Bytes for the guest (controller replies, keyboard and mouse bytes) wait in one queue in the
// order they were produced, at most kQueueCapacity from the keyboard side and kQueueCapacity
// from the mouse; the controller moves one at a time into the output buffer, where status OBF
// (and AUXB for a mouse byte) shows it and IRQ 1 (keyboard) or IRQ 12 (mouse) is raised when
// the command byte enables it. Reading port 0x60 empties the output buffer (the line drops) and
// the next byte comes in at once (the line rises again: a new edge for the edge-triggered 8259).
// Keyboard bytes wait while the keyboard interface is disabled, mouse bytes while the auxiliary
// interface is, as they would wait in the devices themselves: the queue stands in for the
// devices' buffers too, so that the guest gets every byte in the order it was produced, whatever
// its source (a Ps2Port hands a device's bytes to it, tagged with the port).
//
// The keyboard sends scan code set 2 bytes; with the command byte's translate bit on, the
// controller translates each to set 1 as it moves it into the output buffer (the standard 8042
// translation, devices/ScancodeTranslation.h).
//
// Locking: one mutex guards all state, the devices' included; the IrqLines are set with it held
// (KVM_IRQ_LINE never calls back). onResetRequest runs after it is released.
#include "devices/EmulatedDevice.h"
#include "devices/IrqLine.h"
#include "devices/Ps2Device.h"
#include "devices/Ps2Keyboard.h"
#include "devices/Ps2Mouse.h"
#include "machine/BusDevice.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>

namespace kvmscope {

class I8042Controller : public BusDevice, public EmulatedDevice {
public:
    static constexpr uint64_t kBasePort = 0x60;
    static constexpr uint64_t kPortCount = 5; // 0x60-0x64
    enum Offset : uint64_t {
        kDataOffset = 0,    // port 0x60
        kCommandOffset = 4, // port 0x64
    };

    // Bytes waiting for the guest, for each side (keyboard with the controller's own replies,
    // and mouse); beyond it a byte is dropped and counted.
    static constexpr size_t kQueueCapacity = 64;

    // Status register (port 0x64 read).
    static constexpr uint8_t kStatusOutputFull = 0x01;   // OBF
    static constexpr uint8_t kStatusInputFull = 0x02;    // IBF, never set here
    static constexpr uint8_t kStatusSystemFlag = 0x04;   // SYS, copied from the command byte
    static constexpr uint8_t kStatusCommand = 0x08;      // A2: the last write went to port 0x64
    static constexpr uint8_t kStatusNotInhibited = 0x10; // keyboard lock switch: unlocked
    static constexpr uint8_t kStatusAuxData = 0x20;      // AUXB: the output byte is the mouse's

    // Command byte (controller RAM byte 0).
    static constexpr uint8_t kCommandKeyboardInterrupt = 0x01;
    static constexpr uint8_t kCommandAuxInterrupt = 0x02;
    static constexpr uint8_t kCommandSystemFlag = 0x04;
    static constexpr uint8_t kCommandKeyboardDisabled = 0x10;
    static constexpr uint8_t kCommandAuxDisabled = 0x20;
    static constexpr uint8_t kCommandTranslate = 0x40;
    // What a PC BIOS leaves: keyboard interrupt, system flag (POST passed), translation; the
    // mouse interrupt is off until a driver turns it on, both interfaces enabled.
    static constexpr uint8_t kDefaultCommandByte = 0x45;

    // Output port (commands 0xd0 / 0xd1).
    static constexpr uint8_t kOutputPortReset = 0x01; // 0 holds the CPU in reset
    static constexpr uint8_t kOutputPortA20 = 0x02;
    static constexpr uint8_t kDefaultOutputPort = kOutputPortReset | kOutputPortA20;

    static constexpr uint32_t kControllerGroup = 0;
    static constexpr uint32_t kKeyboardGroup = 1;
    static constexpr uint32_t kMouseGroup = 2;
    static constexpr uint32_t kStatisticsGroup = 3;
    // `keyboardIrq` is ISA IRQ 1, `mouseIrq` ISA IRQ 12; both must outlive the controller.
    // `onResetRequest` runs on the writing vcpu's thread when the guest pulses the reset line.
    I8042Controller(IrqLine& keyboardIrq, IrqLine& mouseIrq, std::function<void()> onResetRequest);

    // Host input, any thread: handed to the keyboard (Ps2Keyboard::keyInput: scan code set 2
    // bytes) and the mouse (Ps2Mouse::movement: dx to the right, dy upwards, buttons bit 0 left,
    // 1 right, 2 middle), whose bytes then wait for the guest.
    void keyboardInput(std::span<const uint8_t> setTwoScancodes);
    void mouseInput(int dx, int dy, uint8_t buttons);

    // BusDevice: `offset` 0-4 from port 0x60. Every register is a byte: a wider access acts on
    // the byte at `offset` and a read returns it zero-extended.
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

    // Device
    std::string name() const override { return "i8042 keyboard controller (ports 0x60-0x64)"; }

protected:
    void describeState(StateVisitor& state) override;
    std::mutex& stateMutex() const override { return mutex_; }
    void afterRestore() override;
    void afterAttributeWrite() override;

private:
    struct QueuedByte {
        uint8_t value;
        bool aux;        // goes out with AUXB and IRQ 12
        bool fromDevice; // from the keyboard or mouse (waits while its interface is disabled)
    };

    // The controller's end of one PS/2 link: the device's bytes join the queue tagged with the
    // port they came in on.
    class Port final : public Ps2Port {
    public:
        Port(I8042Controller& controller, bool aux) : controller_(controller), aux_(aux) {}
        void send(std::span<const uint8_t> bytes) override;
        void sendPacket(std::span<const uint8_t> packet) override;
        void discardUnsent() override;

    private:
        I8042Controller& controller_;
        const bool aux_; // the second (auxiliary) port: the mouse's
    };

    // Everything below is guarded by mutex_. The bool results say whether to request a reset.
    uint8_t readData();
    bool writeData(uint8_t value);
    bool writeCommand(uint8_t command);
    bool writeOutputPort(uint8_t value);
    void writeCommandByte(uint8_t value);
    void push(uint8_t value, bool aux, bool fromDevice);
    void dropDeviceBytes(bool aux);
    size_t queued(bool aux) const;
    void fillOutputBuffer();
    uint8_t status() const;
    void updateIrqs();

    IrqLine& keyboardIrq_;
    IrqLine& mouseIrq_;
    std::function<void()> onResetRequest_;
    mutable std::mutex mutex_;

    std::array<uint8_t, 32> ram_{}; // controller RAM; byte 0 is the command byte
    std::deque<QueuedByte> queue_;  // behind the output buffer, in the order produced
    bool outputFull_ = false;
    bool outputAux_ = false;
    uint8_t output_ = 0;
    uint8_t lastRead_ = 0;            // an empty output buffer reads as the last byte again
    bool breakPrefixPending_ = false; // translation swallowed an F0 and waits for its code
    uint8_t pendingCommand_ = 0;      // controller command waiting for its data byte (0: none)
    uint8_t lastCommand_ = 0;
    bool lastWriteWasCommand_ = false;
    uint8_t outputPort_ = kDefaultOutputPort;
    bool keyboardIrqLevel_ = false;
    bool mouseIrqLevel_ = false;

    // The two links and the devices on them (the ports before the devices that hold them).
    Port keyboardPort_{*this, false};
    Port mousePort_{*this, true};
    Ps2Keyboard keyboard_{keyboardPort_};
    Ps2Mouse mouse_{mousePort_};

    uint64_t bytesRead_ = 0;
    uint64_t resetsRequested_ = 0;
    uint64_t bytesDropped_ = 0;

    // An output port write through the attributes that pulsed the reset line: the request is
    // made once the lock is released (afterAttributeWrite).
    bool resetFromAttribute_ = false;
};

} // namespace kvmscope
