#include "devices/I8042Controller.h"

#include "devices/ScancodeTranslation.h"
#include "log/Log.h"

#include <algorithm>
#include <fmt/format.h>
#include <utility>
#include <vector>

namespace kvmscope {
namespace {

// Controller commands written to port 0x64 (IBM PS/2 Hardware Interface Technical Reference,
// 8042 keyboard/auxiliary controller, "Commands (I/O Address Hex 64)").
constexpr uint8_t kCmdReadRamFirst = 0x20; // 0x20-0x3f: read RAM byte (0x20: the command byte)
constexpr uint8_t kCmdReadRamLast = 0x3f;
constexpr uint8_t kCmdWriteRamFirst = 0x60; // 0x60-0x7f: write RAM byte (0x60: command byte)
constexpr uint8_t kCmdWriteRamLast = 0x7f;
constexpr uint8_t kCmdDisableAux = 0xa7;
constexpr uint8_t kCmdEnableAux = 0xa8;
constexpr uint8_t kCmdAuxInterfaceTest = 0xa9;
constexpr uint8_t kCmdSelfTest = 0xaa;
constexpr uint8_t kCmdKeyboardInterfaceTest = 0xab;
constexpr uint8_t kCmdDisableKeyboard = 0xad;
constexpr uint8_t kCmdEnableKeyboard = 0xae;
constexpr uint8_t kCmdReadOutputPort = 0xd0;
constexpr uint8_t kCmdWriteOutputPort = 0xd1;
constexpr uint8_t kCmdWriteKeyboardOutput = 0xd2;
constexpr uint8_t kCmdWriteAuxOutput = 0xd3;
constexpr uint8_t kCmdWriteAux = 0xd4;
constexpr uint8_t kCmdPulseFirst = 0xf0; // 0xf0-0xff: pulse output port bits 0-3 where clear

constexpr uint8_t kSelfTestPassed = 0x55;
constexpr uint8_t kInterfaceTestPassed = 0x00;
constexpr uint8_t kCommandByteBits = 0x7f; // bit 7 is reserved, reads 0

void returnByte(std::span<uint8_t> data, uint8_t value) {
    std::fill(data.begin(), data.end(), uint8_t(0));
    if (!data.empty())
        data[0] = value;
}

} // namespace

I8042Controller::I8042Controller(IrqLine& keyboardIrq, IrqLine& mouseIrq,
                                 std::function<void()> onResetRequest)
    : keyboardIrq_(keyboardIrq), mouseIrq_(mouseIrq), onResetRequest_(std::move(onResetRequest)) {
    ram_[0] = kDefaultCommandByte;
}

void I8042Controller::keyboardInput(std::span<const uint8_t> setTwoScancodes) {
    std::lock_guard lock(mutex_);
    keyboard_.keyInput(setTwoScancodes);
    fillOutputBuffer();
}

void I8042Controller::mouseInput(int dx, int dy, uint8_t buttons) {
    std::lock_guard lock(mutex_);
    mouse_.movement(dx, dy, buttons);
    fillOutputBuffer();
}

void I8042Controller::read(uint64_t offset, std::span<uint8_t> data) {
    std::lock_guard lock(mutex_);
    switch (offset) {
    case kDataOffset:
        returnByte(data, readData());
        return;
    case kCommandOffset:
        returnByte(data, status());
        return;
    default: // 0x61 (the in-kernel PIT's, never seen here), 0x62, 0x63: nothing answers
        std::fill(data.begin(), data.end(), uint8_t(0xff));
        return;
    }
}

void I8042Controller::write(uint64_t offset, std::span<const uint8_t> data) {
    if (data.empty())
        return;
    const uint8_t value = data[0];
    bool reset = false;
    {
        std::lock_guard lock(mutex_);
        switch (offset) {
        case kDataOffset:
            lastWriteWasCommand_ = false;
            reset = writeData(value);
            break;
        case kCommandOffset:
            lastWriteWasCommand_ = true;
            reset = writeCommand(value);
            break;
        default:
            return;
        }
        fillOutputBuffer();
        updateIrqs();
    }
    if (reset && onResetRequest_)
        onResetRequest_();
}

uint8_t I8042Controller::readData() {
    if (!outputFull_)
        return lastRead_; // an empty output buffer still holds its last byte
    lastRead_ = output_;
    outputFull_ = false;
    ++bytesRead_;
    updateIrqs();       // the line drops with the read...
    fillOutputBuffer(); // ...and rises again for the next byte, a new edge
    return lastRead_;
}

bool I8042Controller::writeData(uint8_t value) {
    const uint8_t command = pendingCommand_;
    pendingCommand_ = 0;
    if (command >= kCmdWriteRamFirst && command <= kCmdWriteRamLast) {
        if (command == kCmdWriteRamFirst)
            writeCommandByte(value);
        else
            ram_[command - kCmdWriteRamFirst] = value;
        return false;
    }
    switch (command) {
    case kCmdWriteOutputPort:
        return writeOutputPort(value);
    case kCmdWriteKeyboardOutput: // loopback: as if the keyboard had sent it, untranslated
        push(value, false, false);
        return false;
    case kCmdWriteAuxOutput: // loopback: as if the mouse had sent it
        push(value, true, false);
        return false;
    case kCmdWriteAux:
        mouse_.receive(value);
        return false;
    default: // no command pending: the byte is for the keyboard
        keyboard_.receive(value);
        return false;
    }
}

bool I8042Controller::writeCommand(uint8_t command) {
    lastCommand_ = command;
    pendingCommand_ = 0;
    if (command >= kCmdReadRamFirst && command <= kCmdReadRamLast) {
        push(ram_[command - kCmdReadRamFirst], false, false);
        return false;
    }
    if ((command >= kCmdWriteRamFirst && command <= kCmdWriteRamLast) ||
        (command >= kCmdWriteOutputPort && command <= kCmdWriteAux)) {
        pendingCommand_ = command; // the next port 0x60 write is its data byte
        return false;
    }
    if (command >= kCmdPulseFirst) {
        // Bits 0-3 clear pulse output port bits 0-3 low for 6 us. Only bit 0, the CPU reset
        // line, is wired to anything; 0xfe is the reset every OS knows.
        if (command & kOutputPortReset)
            return false;
        ++resetsRequested_;
        return true;
    }
    switch (command) {
    case kCmdDisableAux:
        writeCommandByte(ram_[0] | kCommandAuxDisabled);
        break;
    case kCmdEnableAux:
        writeCommandByte(ram_[0] & ~kCommandAuxDisabled);
        break;
    case kCmdAuxInterfaceTest:
    case kCmdKeyboardInterfaceTest:
        push(kInterfaceTestPassed, false, false);
        break;
    case kCmdSelfTest:
        push(kSelfTestPassed, false, false);
        break;
    case kCmdDisableKeyboard:
        writeCommandByte(ram_[0] | kCommandKeyboardDisabled);
        break;
    case kCmdEnableKeyboard:
        writeCommandByte(ram_[0] & ~kCommandKeyboardDisabled);
        break;
    case kCmdReadOutputPort: {
        // Bits 4 and 5 show the output buffer's owner, as the 8042's firmware reports them.
        uint8_t port = outputPort_;
        if (outputFull_)
            port |= outputAux_ ? 0x20 : 0x10;
        push(port, false, false);
        break;
    }
    default:
        log::get("devices")->debug("i8042: unsupported controller command {:#04x}", command);
        break;
    }
    return false;
}

bool I8042Controller::writeOutputPort(uint8_t value) {
    // Bit 0 low holds the CPU in reset: the machine resets, and comes back with it high.
    const bool reset = !(value & kOutputPortReset);
    outputPort_ = value | kOutputPortReset;
    if (reset)
        ++resetsRequested_;
    return reset;
}

void I8042Controller::writeCommandByte(uint8_t value) {
    const bool translate = (value & kCommandTranslate) != 0;
    if (!translate)
        breakPrefixPending_ = false;
    ram_[0] = value & kCommandByteBits;
    fillOutputBuffer(); // an interface enabled again lets its waiting bytes through
    updateIrqs();
}

void I8042Controller::push(uint8_t value, bool aux, bool fromDevice) {
    if (queued(aux) >= kQueueCapacity) {
        ++bytesDropped_;
        return;
    }
    queue_.push_back({value, aux, fromDevice});
}

void I8042Controller::Port::send(std::span<const uint8_t> bytes) {
    for (uint8_t byte : bytes)
        controller_.push(byte, aux_, true);
}

void I8042Controller::Port::sendPacket(std::span<const uint8_t> packet) {
    if (controller_.queued(aux_) + packet.size() > kQueueCapacity) {
        controller_.bytesDropped_ += packet.size();
        return;
    }
    send(packet);
}

void I8042Controller::Port::discardUnsent() {
    controller_.dropDeviceBytes(aux_);
}

void I8042Controller::dropDeviceBytes(bool aux) {
    std::erase_if(queue_, [aux](const QueuedByte& q) { return q.fromDevice && q.aux == aux; });
    if (!aux)
        breakPrefixPending_ = false;
}

size_t I8042Controller::queued(bool aux) const {
    const auto inQueue = std::count_if(queue_.begin(), queue_.end(),
                                       [aux](const QueuedByte& q) { return q.aux == aux; });
    return static_cast<size_t>(inQueue) + (outputFull_ && outputAux_ == aux ? 1 : 0);
}

void I8042Controller::fillOutputBuffer() {
    if (outputFull_)
        return;
    const uint8_t command = ram_[0];
    for (auto it = queue_.begin(); it != queue_.end();) {
        const QueuedByte byte = *it;
        if (byte.fromDevice) {
            const uint8_t disabledBit = byte.aux ? kCommandAuxDisabled : kCommandKeyboardDisabled;
            if (command & disabledBit) { // waits in the device while its clock is held
                ++it;
                continue;
            }
        }
        it = queue_.erase(it);
        uint8_t value = byte.value;
        if (byte.fromDevice && !byte.aux && (command & kCommandTranslate)) {
            // The translation folds a break prefix into the next code's bit 7.
            if (value == scancodes::kSetTwoBreakPrefix) {
                breakPrefixPending_ = true;
                continue;
            }
            value = static_cast<uint8_t>(scancodes::translate(value) |
                                         (breakPrefixPending_ ? 0x80 : 0));
            breakPrefixPending_ = false;
        }
        output_ = value;
        outputAux_ = byte.aux;
        outputFull_ = true;
        break;
    }
    updateIrqs();
}

uint8_t I8042Controller::status() const {
    uint8_t value = kStatusNotInhibited;
    if (outputFull_)
        value |= kStatusOutputFull | (outputAux_ ? kStatusAuxData : 0);
    if (ram_[0] & kCommandSystemFlag)
        value |= kStatusSystemFlag;
    if (lastWriteWasCommand_)
        value |= kStatusCommand;
    return value;
}

void I8042Controller::updateIrqs() {
    const bool keyboard = outputFull_ && !outputAux_ && (ram_[0] & kCommandKeyboardInterrupt);
    const bool mouse = outputFull_ && outputAux_ && (ram_[0] & kCommandAuxInterrupt);
    if (keyboard != keyboardIrqLevel_) {
        keyboardIrqLevel_ = keyboard;
        keyboardIrq_.setLevel(keyboard);
    }
    if (mouse != mouseIrqLevel_) {
        mouseIrqLevel_ = mouse;
        mouseIrq_.setLevel(mouse);
    }
}

void I8042Controller::describeState(StateVisitor& state) {
    state.group(kControllerGroup, "controller");
    state.readOnly("status", AttrType::U8,
                   "status register read: 0 OBF, 1 IBF (never), 2 SYS, 3 A2 (last write was a "
                   "command), 4 not inhibited, 5 AUXB (mouse byte)",
                   [this] { return uint64_t(status()); });
    // The command byte and the output port take the effects of the guest's 0x60 and 0xd1
    // commands.
    state.readWrite(
        "command byte", AttrType::U8,
        "0 keyboard IRQ, 1 mouse IRQ, 2 system flag, 4 keyboard disabled, 5 mouse disabled, "
        "6 translate to set 1",
        [this] { return uint64_t(ram_[0]); },
        [this](uint64_t value) {
            if (value & ~uint64_t(kCommandByteBits))
                throw AttributeError(
                    fmt::format("{}: command byte {:#04x} sets reserved bit 7", name(), value));
            writeCommandByte(static_cast<uint8_t>(value));
        });
    state.field("output port", outputPort_, AttrAccess::ReadWrite,
                "0 reset line (writing 0 resets the machine), 1 A20 gate",
                FieldHooks::writtenBy([this](uint64_t value) {
                    resetFromAttribute_ = writeOutputPort(static_cast<uint8_t>(value));
                    fillOutputBuffer();
                }));
    state.readOnly("A20", AttrType::Bool, "output port bit 1 (recorded; KVM does not mask A20)",
                   [this] { return uint64_t((outputPort_ & kOutputPortA20) ? 1 : 0); });
    state.field("last command", lastCommand_, AttrAccess::Read,
                "the last byte written to the command port");
    // The controller's own state behind the registers.
    state.hidden("RAM", ram_);
    state.hiddenEncoded(
        "queue",
        [this] {
            // Three bytes per queued byte: the value, whether it is the mouse's, whether a
            // device sent it.
            std::vector<uint8_t> bytes;
            for (const QueuedByte& queued : queue_)
                bytes.insert(bytes.end(),
                             {queued.value, uint8_t(queued.aux), uint8_t(queued.fromDevice)});
            return bytes;
        },
        [this](std::span<const uint8_t> bytes) {
            if (bytes.size() % 3 != 0 || bytes.size() / 3 > 2 * kQueueCapacity)
                return fmt::format("{} bytes are not a queue of 3-byte entries", bytes.size());
            queue_.clear();
            for (size_t i = 0; i < bytes.size(); i += 3)
                queue_.push_back({bytes[i], bytes[i + 1] != 0, bytes[i + 2] != 0});
            return std::string();
        });
    state.hidden("output full", outputFull_);
    state.hidden("output is the mouse's", outputAux_);
    state.hidden("output", output_);
    state.hidden("last read", lastRead_);
    state.hidden("break prefix pending", breakPrefixPending_);
    state.hidden("pending command", pendingCommand_);
    state.hidden("last write was a command", lastWriteWasCommand_);
    state.hidden("keyboard IRQ level", keyboardIrqLevel_);
    state.hidden("mouse IRQ level", mouseIrqLevel_);

    // Each device declares its own state in its group; how many of its bytes wait is the
    // controller's.
    state.group(kKeyboardGroup, "keyboard");
    keyboard_.describeState(state);
    state.readOnly("queued bytes", AttrType::U32,
                   "keyboard and controller bytes waiting, the output buffer included",
                   [this] { return uint64_t(queued(false)); });

    state.group(kMouseGroup, "mouse");
    mouse_.describeState(state);
    state.readOnly("queued bytes", AttrType::U32, "mouse bytes waiting, the output buffer included",
                   [this] { return uint64_t(queued(true)); });

    state.group(kStatisticsGroup, "statistics");
    state.statistic("bytes read", bytesRead_, "output buffer bytes the guest read");
    state.statistic("resets requested", resetsRequested_,
                    "reset line pulses (0xfe and friends, or 0xd1 with bit 0 clear)");
    state.statistic("bytes dropped", bytesDropped_, "bytes lost because a queue was full");
}

// Drive both IRQ lines to the restored levels (the interrupt controller's state comes back with
// the machine's).
void I8042Controller::afterRestore() {
    keyboardIrq_.setLevel(keyboardIrqLevel_);
    mouseIrq_.setLevel(mouseIrqLevel_);
}

void I8042Controller::afterAttributeWrite() {
    bool reset = false;
    {
        std::lock_guard lock(mutex_);
        reset = std::exchange(resetFromAttribute_, false);
    }
    if (reset && onResetRequest_)
        onResetRequest_();
}

} // namespace kvmscope
