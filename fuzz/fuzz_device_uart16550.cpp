// The 16550A UART (devices/Uart16550.h) behind COM1's eight ports: register accesses, attribute
// calls, and host input — bytes typed by the user, or echoed back from inside the sink as a
// terminal in local-echo mode does (SerialSink.h allows receive() there).
#include "DeviceFuzzing.h"
#include "devices/Uart16550.h"

namespace {

using namespace kvmscope;

class EchoingSink : public SerialSink {
public:
    void serialOutput(std::span<const uint8_t> bytes) override {
        fuzz::check(!bytes.empty(), "the UART sent an empty output to its sink");
        if (echo && uart)
            uart->receive(bytes);
    }
    bool echo = false;
    Uart16550* uart = nullptr;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzIrqLine irq;
    EchoingSink sink;
    Uart16550 uart(irq, sink);
    sink.uart = &uart;
    fuzz::DeviceDriver driver(
        {uart, uart, Uart16550::kPortCount, [&](uint8_t selector, uint32_t value) {
             // Selector bit 7 toggles the echo; otherwise receive 1-4
             // bytes of the value (a FIFO overrun needs 17).
             if (selector & 0x80) {
                 sink.echo = !sink.echo;
                 return;
             }
             uint8_t bytes[4];
             std::memcpy(bytes, &value, sizeof bytes);
             uart.receive(std::span<const uint8_t>(bytes, 1 + selector % sizeof bytes));
         }});
    driver.run(data, size);
    return 0;
}
