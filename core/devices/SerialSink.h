#pragma once
// Where the bytes a guest transmits on a serial port go: the headless console's file descriptor,
// the GUI's terminal widget, or a test's buffer. The UART knows nothing else about its host side.
#include <cstdint>
#include <span>

namespace kvmscope {

class SerialSink {
public:
    virtual ~SerialSink() = default;
    // Called on a vcpu thread, one call at a time per UART, never with the UART's lock held: an
    // implementation may block briefly (a full pipe) or call Uart16550::receive().
    virtual void serialOutput(std::span<const uint8_t> bytes) = 0;
};

} // namespace kvmscope
