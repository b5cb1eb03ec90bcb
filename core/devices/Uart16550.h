#pragma once
// COM1: a 16550A UART as described by the TI/National PC16550D datasheet ("PC16550D Universal
// Asynchronous Receiver/Transmitter with FIFOs", section 8 "Registers"). Transmission is
// instantaneous: a byte written to THR goes to the SerialSink at once, so THR and the transmitter
// are always empty. Received bytes wait in a queue of kReceiveQueueCapacity bytes, of which the
// first 16 play the part of the receiver FIFO; the rest stands for bytes still on the wire, held
// back as if by flow control, so that a pasted page of text is not lost.
//
// Threads and locking: read()/write() run on vcpu threads (several at once with SMP), receive()
// on the host's input thread, getAttr()/setAttr() on the GUI thread. All device state sits behind
// one mutex whose critical sections only touch that state and the IrqLine (a KVM_IRQ_LINE ioctl
// that never calls back into the device, so it is called with the lock held to keep the line's
// level changes in the order the state changed). The SerialSink is called WITHOUT that lock, so a
// sink may call receive() (an echoing test sink does) without deadlocking; a second mutex keeps
// sink calls one at a time and in transmit order. Rule: nothing the lock guards calls out to code
// that may re-enter the UART.
#include "devices/EmulatedDevice.h"
#include "devices/IrqLine.h"
#include "devices/SerialSink.h"
#include "machine/BusDevice.h"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>

namespace kvmscope {

class Uart16550 : public BusDevice, public EmulatedDevice {
public:
    static constexpr uint64_t kPortCount = 8;
    static constexpr size_t kFifoSize = 16;
    // Bytes received from the host and not yet read by the guest; beyond it bytes are dropped
    // and counted as overruns (LSR.OE).
    static constexpr size_t kReceiveQueueCapacity = 4096;
    // The divisor latch divides the PC's 1.8432 MHz crystal by 16 * divisor.
    static constexpr uint32_t kBaudBase = 115200;

    // Register offsets from the base port (datasheet Table II, "Register Addresses"); offsets 0
    // and 1 are the divisor latch while LCR.DLAB is set.
    enum Offset : uint64_t {
        kRbrThr = 0, // DLL when DLAB = 1
        kIer = 1,    // DLM when DLAB = 1
        kIirFcr = 2, // IIR on read, FCR on write
        kLcr = 3,
        kMcr = 4,
        kLsr = 5,
        kMsr = 6,
        kScr = 7,
    };

    static constexpr uint32_t kRegistersGroup = 0;
    static constexpr uint32_t kStatisticsGroup = 1;
    // `irq` is the ISA IRQ line (IRQ 4 for COM1); `sink` takes every transmitted byte. Both
    // must outlive the UART.
    Uart16550(IrqLine& irq, SerialSink& sink);

    // Bytes from the host (keyboard, paste) for the guest to read; any thread.
    void receive(std::span<const uint8_t> bytes);

    // BusDevice: `offset` 0-7 from the base port. Every register is a byte: a wider access acts
    // on the byte at `offset` and a read returns it zero-extended.
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

    // Device
    std::string name() const override { return "COM1 (16550A UART)"; }

protected:
    void describeState(StateVisitor& state) override;
    std::mutex& stateMutex() const override { return mutex_; }
    void afterRestore() override;

private:
    // Everything below is guarded by mutex_ and only touched through these helpers.
    uint8_t readRegister(uint64_t offset);
    // Returns true when `value` must go to the sink (a THR write outside loopback).
    bool writeRegister(uint64_t offset, uint8_t value);
    void writeInterruptEnable(uint8_t value);
    void writeFifoControl(uint8_t value);
    void writeModemControl(uint8_t value);
    void pushReceived(uint8_t byte);
    uint8_t interruptIdentification() const;
    uint8_t lineStatus() const;
    uint8_t modemStatus() const;
    bool dlab() const;
    void updateIrq();

    IrqLine& irq_;
    SerialSink& sink_;
    std::mutex outputMutex_; // taken before mutex_, never the other way round
    mutable std::mutex mutex_;

    std::deque<uint8_t> receiveQueue_;
    uint8_t rbr_ = 0;
    uint8_t thr_ = 0;
    uint8_t ier_ = 0;
    uint8_t fcr_ = 0;
    uint8_t lcr_ = 0;
    uint8_t mcr_ = 0;
    uint8_t lineErrors_ = 0;  // LSR.OE until the guest reads LSR
    uint8_t modemDeltas_ = 0; // MSR bits 0-3 until the guest reads MSR
    uint8_t scr_ = 0;
    uint8_t dll_ = 1; // 115200 baud until the guest programs the divisor
    uint8_t dlm_ = 0;
    bool thrEmptyInterrupt_ = false; // the THRE interrupt source, see writeRegister()
    bool irqLevel_ = false;

    uint64_t bytesTransmitted_ = 0;
    uint64_t bytesReceived_ = 0;
    uint64_t overruns_ = 0;
    uint64_t interruptsRaised_ = 0;
};

} // namespace kvmscope
