#include "devices/Uart16550.h"

#include <algorithm>
#include <fmt/format.h>
#include <iterator>

namespace kvmscope {
namespace {

// Register bits, PC16550D datasheet section 8 ("Registers").
constexpr uint8_t kIerReceivedData = 0x01; // ERBFI
constexpr uint8_t kIerThrEmpty = 0x02;     // ETBEI
constexpr uint8_t kIerLineStatus = 0x04;   // ELSI
constexpr uint8_t kIerModemStatus = 0x08;  // EDSSI
constexpr uint8_t kIerWritableBits = 0x0f; // bits 4-7 are always 0 on a 16550

// IIR (8.5, Table IV): bit 0 clear while an interrupt is pending, bits 1-3 name the source.
constexpr uint8_t kIirNoInterrupt = 0x01;
constexpr uint8_t kIirLineStatus = 0x06;       // priority 1
constexpr uint8_t kIirReceivedData = 0x04;     // priority 2
constexpr uint8_t kIirCharacterTimeout = 0x0c; // priority 2
constexpr uint8_t kIirThrEmpty = 0x02;         // priority 3
constexpr uint8_t kIirModemStatus = 0x00;      // priority 4
constexpr uint8_t kIirSourceMask = 0x0f;
constexpr uint8_t kIirFifosEnabled = 0xc0;

// FCR (8.4).
constexpr uint8_t kFcrEnable = 0x01;
constexpr uint8_t kFcrClearReceiver = 0x02;
constexpr uint8_t kFcrClearTransmitter = 0x04;
constexpr uint8_t kFcrTriggerShift = 6;

constexpr uint8_t kLcrDlab = 0x80;

// MCR (8.7).
constexpr uint8_t kMcrDtr = 0x01;
constexpr uint8_t kMcrRts = 0x02;
constexpr uint8_t kMcrOut1 = 0x04;
constexpr uint8_t kMcrOut2 = 0x08;
constexpr uint8_t kMcrLoop = 0x10;
constexpr uint8_t kMcrWritableBits = 0x1f; // bits 5-7 are always 0 on a 16550

// LSR (8.6).
constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrOverrun = 0x02;
constexpr uint8_t kLsrThrEmpty = 0x20;
constexpr uint8_t kLsrTransmitterEmpty = 0x40;

// MSR (8.8): deltas in bits 0-3, the modem inputs in bits 4-7.
constexpr uint8_t kMsrDeltaCts = 0x01;
constexpr uint8_t kMsrDeltaDsr = 0x02;
constexpr uint8_t kMsrTrailingEdgeRi = 0x04;
constexpr uint8_t kMsrDeltaDcd = 0x08;
constexpr uint8_t kMsrCts = 0x10;
constexpr uint8_t kMsrDsr = 0x20;
constexpr uint8_t kMsrRi = 0x40;
constexpr uint8_t kMsrDcd = 0x80;

// The receiver FIFO's interrupt trigger levels, FCR bits 7-6 (8.4, Table III note).
constexpr size_t kTriggerLevels[4] = {1, 4, 8, 14};

// The modem inputs as MCR leaves them. Outside loopback, kvmscope's virtual modem asserts CTS,
// DSR and DCD as a null-modem cable to a ready terminal would (Linux's 8250 driver waits for CTS
// with hardware flow control and reports DCD as carrier). In loopback (8.7, MCR bit 4) the inputs
// are wired to the outputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
uint8_t modemInputs(uint8_t mcr) {
    if (!(mcr & kMcrLoop))
        return kMsrCts | kMsrDsr | kMsrDcd;
    uint8_t inputs = 0;
    if (mcr & kMcrRts)
        inputs |= kMsrCts;
    if (mcr & kMcrDtr)
        inputs |= kMsrDsr;
    if (mcr & kMcrOut1)
        inputs |= kMsrRi;
    if (mcr & kMcrOut2)
        inputs |= kMsrDcd;
    return inputs;
}

void returnByte(std::span<uint8_t> data, uint8_t value) {
    std::fill(data.begin(), data.end(), uint8_t(0));
    if (!data.empty())
        data[0] = value;
}

} // namespace

Uart16550::Uart16550(IrqLine& irq, SerialSink& sink) : irq_(irq), sink_(sink) {}

void Uart16550::receive(std::span<const uint8_t> bytes) {
    std::lock_guard lock(mutex_);
    for (uint8_t byte : bytes)
        pushReceived(byte);
    updateIrq();
}

void Uart16550::read(uint64_t offset, std::span<uint8_t> data) {
    if (offset >= kPortCount) {
        std::fill(data.begin(), data.end(), uint8_t(0xff));
        return;
    }
    std::lock_guard lock(mutex_);
    returnByte(data, readRegister(offset));
}

void Uart16550::write(uint64_t offset, std::span<const uint8_t> data) {
    if (offset >= kPortCount || data.empty())
        return;
    const uint8_t value = data[0];
    // outputMutex_ keeps sink calls in the order their THR writes took the state lock.
    std::lock_guard outputLock(outputMutex_);
    bool transmit = false;
    {
        std::lock_guard lock(mutex_);
        transmit = writeRegister(offset, value);
    }
    if (transmit)
        sink_.serialOutput(std::span<const uint8_t>(&value, 1));
}

bool Uart16550::dlab() const {
    return (lcr_ & kLcrDlab) != 0;
}

uint8_t Uart16550::readRegister(uint64_t offset) {
    switch (offset) {
    case kRbrThr:
        if (dlab())
            return dll_;
        if (!receiveQueue_.empty()) {
            rbr_ = receiveQueue_.front();
            receiveQueue_.pop_front();
            updateIrq();
        }
        return rbr_; // an empty receiver still returns the last byte, as the hardware does
    case kIer:
        return dlab() ? dlm_ : ier_;
    case kIirFcr: {
        const uint8_t iir = interruptIdentification();
        // 8.5: reading IIR clears the THR-empty interrupt when it is the source shown.
        if ((iir & kIirSourceMask) == kIirThrEmpty) {
            thrEmptyInterrupt_ = false;
            updateIrq();
        }
        return iir;
    }
    case kLcr:
        return lcr_;
    case kMcr:
        return mcr_;
    case kLsr: {
        const uint8_t lsr = lineStatus();
        lineErrors_ = 0; // 8.6: reading LSR clears OE (and PE, FE, BI, which never occur here)
        updateIrq();
        return lsr;
    }
    case kMsr: {
        const uint8_t msr = modemStatus();
        modemDeltas_ = 0; // 8.8: reading MSR clears the delta bits
        updateIrq();
        return msr;
    }
    default: // kScr
        return scr_;
    }
}

bool Uart16550::writeRegister(uint64_t offset, uint8_t value) {
    switch (offset) {
    case kRbrThr:
        if (dlab()) {
            dll_ = value;
            return false;
        }
        thr_ = value;
        ++bytesTransmitted_;
        // 8.5: writing THR clears the THR-empty interrupt. The byte leaves at once, so THR is
        // empty again and the interrupt comes back: the line drops and rises, giving the
        // edge-triggered 8259 a new edge for the next byte.
        thrEmptyInterrupt_ = false;
        updateIrq();
        if (mcr_ & kMcrLoop)
            pushReceived(value); // 8.7: in loopback the transmitter feeds the receiver
        thrEmptyInterrupt_ = true;
        updateIrq();
        return !(mcr_ & kMcrLoop);
    case kIer:
        if (dlab())
            dlm_ = value;
        else
            writeInterruptEnable(value);
        return false;
    case kIirFcr:
        writeFifoControl(value);
        return false;
    case kLcr:
        lcr_ = value;
        return false;
    case kMcr:
        writeModemControl(value);
        return false;
    case kScr:
        scr_ = value;
        return false;
    default: // LSR and MSR: writes are for factory test only (8.6); ignored
        return false;
    }
}

void Uart16550::writeInterruptEnable(uint8_t value) {
    const uint8_t enabled = static_cast<uint8_t>(value & ~ier_);
    ier_ = value & kIerWritableBits;
    // Enabling ETBEI while THR is empty (always, here) raises the THR-empty interrupt at once;
    // drivers start transmitting this way (Linux's 8250 "start_tx").
    if (enabled & kIerThrEmpty)
        thrEmptyInterrupt_ = true;
    updateIrq();
}

void Uart16550::writeFifoControl(uint8_t value) {
    const bool wasEnabled = (fcr_ & kFcrEnable) != 0;
    const bool enable = (value & kFcrEnable) != 0;
    // 8.4: changing FCR0 clears both FIFOs; FCR1 clears the receiver FIFO. The other bits are
    // only programmed while FCR0 is set; FCR1 and FCR2 clear themselves.
    if (enable != wasEnabled || (enable && (value & kFcrClearReceiver)))
        receiveQueue_.clear();
    fcr_ = enable ? static_cast<uint8_t>(value & ~(kFcrClearReceiver | kFcrClearTransmitter)) : 0;
    updateIrq();
}

void Uart16550::writeModemControl(uint8_t value) {
    const uint8_t before = modemInputs(mcr_);
    mcr_ = value & kMcrWritableBits;
    const uint8_t after = modemInputs(mcr_);
    const uint8_t changed = before ^ after;
    if (changed & kMsrCts)
        modemDeltas_ |= kMsrDeltaCts;
    if (changed & kMsrDsr)
        modemDeltas_ |= kMsrDeltaDsr;
    if (changed & kMsrDcd)
        modemDeltas_ |= kMsrDeltaDcd;
    if ((before & kMsrRi) && !(after & kMsrRi))
        modemDeltas_ |= kMsrTrailingEdgeRi; // TERI: RI went from on to off
    updateIrq();
}

void Uart16550::pushReceived(uint8_t byte) {
    if (receiveQueue_.size() >= kReceiveQueueCapacity) {
        lineErrors_ |= kLsrOverrun; // 8.6: the byte is lost, the queued ones are kept
        ++overruns_;
        return;
    }
    receiveQueue_.push_back(byte);
    ++bytesReceived_;
}

uint8_t Uart16550::interruptIdentification() const {
    const uint8_t fifoBits = (fcr_ & kFcrEnable) ? kIirFifosEnabled : 0;
    // Table IV priorities: line status, received data, THR empty, modem status.
    if ((ier_ & kIerLineStatus) && lineErrors_)
        return fifoBits | kIirLineStatus;
    if ((ier_ & kIerReceivedData) && !receiveQueue_.empty()) {
        // With FIFOs, data below the trigger level is reported by the character timeout (4
        // character times without FIFO activity). kvmscope does not model time on the wire, so
        // that timeout has always expired by the time the guest looks.
        if (fifoBits) {
            const size_t level = std::min(receiveQueue_.size(), kFifoSize);
            if (level < kTriggerLevels[fcr_ >> kFcrTriggerShift])
                return fifoBits | kIirCharacterTimeout;
        }
        return fifoBits | kIirReceivedData;
    }
    if ((ier_ & kIerThrEmpty) && thrEmptyInterrupt_)
        return fifoBits | kIirThrEmpty;
    if ((ier_ & kIerModemStatus) && modemDeltas_)
        return fifoBits | kIirModemStatus;
    return fifoBits | kIirNoInterrupt;
}

uint8_t Uart16550::lineStatus() const {
    uint8_t lsr = kLsrThrEmpty | kLsrTransmitterEmpty | lineErrors_;
    if (!receiveQueue_.empty())
        lsr |= kLsrDataReady;
    return lsr;
}

uint8_t Uart16550::modemStatus() const {
    return modemInputs(mcr_) | modemDeltas_;
}

void Uart16550::updateIrq() {
    const bool pending = !(interruptIdentification() & kIirNoInterrupt);
    // PC wiring: the UART's INTR reaches the ISA IRQ only through a buffer enabled by OUT2. In
    // loopback the datasheet (8.7) forces the OUT pins inactive, which disables that buffer too.
    const bool level = pending && (mcr_ & kMcrOut2) && !(mcr_ & kMcrLoop);
    if (level == irqLevel_)
        return;
    irqLevel_ = level;
    if (level)
        ++interruptsRaised_;
    irq_.setLevel(level);
}

// The registers as the datasheet names them; IER, LCR, MCR, SCR and the divisor latch are written
// with the same effects as the guest's writes (an IER or MCR change may raise or drop the IRQ).
void Uart16550::describeState(StateVisitor& state) {
    state.group(kRegistersGroup, "registers");
    state.field("RBR", rbr_, AttrAccess::Read, "receiver buffer: the byte the guest read last");
    state.field("THR", thr_, AttrAccess::Read,
                "transmitter holding: the byte the guest wrote last");
    state.field("IER", ier_, AttrAccess::ReadWrite,
                "interrupt enable: 0 received data, 1 THR empty, 2 line status, 3 modem status",
                FieldHooks::writtenBy(
                    [this](uint64_t value) { writeInterruptEnable(static_cast<uint8_t>(value)); }));
    state.readOnly("IIR", AttrType::U8,
                   "interrupt identification as a read would return it (bit 0 clear: interrupt "
                   "pending)",
                   [this] { return interruptIdentification(); });
    state.field("FCR", fcr_, AttrAccess::Read,
                "FIFO control as last written: 0 enable, 3 DMA mode, 7-6 receiver trigger level");
    state.field("LCR", lcr_, AttrAccess::ReadWrite,
                "line control: 1-0 word length, 2 stop bits, 5-3 parity, 6 break, 7 DLAB");
    state.field("MCR", mcr_, AttrAccess::ReadWrite,
                "modem control: 0 DTR, 1 RTS, 2 OUT1, 3 OUT2 (gates the IRQ on a PC), 4 loopback",
                FieldHooks::writtenBy(
                    [this](uint64_t value) { writeModemControl(static_cast<uint8_t>(value)); }));
    state.readOnly("LSR", AttrType::U8,
                   "line status: 0 data ready, 1 overrun, 5 THR empty, 6 transmitter empty",
                   [this] { return lineStatus(); });
    state.readOnly("MSR", AttrType::U8, "modem status: 3-0 deltas, 4 CTS, 5 DSR, 6 RI, 7 DCD",
                   [this] { return modemStatus(); });
    state.field("SCR", scr_, AttrAccess::ReadWrite, "scratch register");
    state.field("DLL", dll_, AttrAccess::ReadWrite, "divisor latch, low byte");
    state.field("DLM", dlm_, AttrAccess::ReadWrite, "divisor latch, high byte");
    // What the registers above are computed from, and the FIFO behind RBR.
    state.hidden("receive queue", receiveQueue_);
    state.hidden("line errors", lineErrors_);
    state.hidden("modem deltas", modemDeltas_);
    state.hidden("THR empty interrupt", thrEmptyInterrupt_);
    state.hidden("IRQ level", irqLevel_);

    state.group(kStatisticsGroup, "statistics");
    state.statistic("bytes transmitted", bytesTransmitted_, "bytes the guest wrote to THR");
    state.statistic("bytes received", bytesReceived_,
                    "bytes accepted into the receiver (from the host, or looped back)");
    state.statistic("overruns", overruns_,
                    "received bytes dropped because the receive queue was full");
    state.statistic("interrupts raised", interruptsRaised_,
                    "rising edges of the IRQ output (interrupt pending and MCR.OUT2)");
    state.readOnly("receive queued", AttrType::U32,
                   "bytes waiting for the guest (the 16-byte FIFO and the host-side queue behind "
                   "it)",
                   [this] { return uint64_t(receiveQueue_.size()); });
    state.readOnly("baud rate", AttrType::U32, "115200 / divisor latch (0 while the divisor is 0)",
                   [this] {
                       const uint32_t divisor = static_cast<uint32_t>(dlm_) << 8 | dll_;
                       return uint64_t(divisor ? kBaudBase / divisor : 0);
                   });
}

// The restored IRQ level is what the line showed when the state was saved; drive the line to it
// (the interrupt controller's own state is restored with it).
void Uart16550::afterRestore() {
    irq_.setLevel(irqLevel_);
}

} // namespace kvmscope
