#pragma once
// The 8042 as a guest driver sees it, for the controller's tests: its IRQ lines recorded, and
// port accesses as a driver makes them.
#include "DeviceTestSupport.h"
#include "devices/I8042Controller.h"

#include <cstdint>
#include <vector>

namespace kvmscope::testing::i8042 {

// Offsets and bits written out here rather than taken from the device, so that a wrong constant
// in the device shows up as a failure.
constexpr uint64_t DATA = 0, PORT_B = 1, STATUS = 4, COMMAND = 4;
constexpr uint8_t ST_OBF = 0x01, ST_IBF = 0x02, ST_SYS = 0x04, ST_A2 = 0x08, ST_AUXB = 0x20;
constexpr uint8_t CB_KBD_INT = 0x01, CB_AUX_INT = 0x02, CB_SYS = 0x04, CB_TRANSLATE = 0x40;

struct Fixture {
    RecordingIrqLine keyboardIrq;
    RecordingIrqLine mouseIrq;
    int resets = 0;
    I8042Controller i8042{keyboardIrq, mouseIrq, [this] { ++resets; }};

    void command(uint8_t value) { outb(i8042, COMMAND, value); }
    void commandWithData(uint8_t value, uint8_t data) {
        outb(i8042, COMMAND, value);
        outb(i8042, DATA, data);
    }
    void setCommandByte(uint8_t value) { commandWithData(0x60, value); }
    void toMouse(uint8_t value) { commandWithData(0xd4, value); }
    // Reads the output buffer while OBF says there is something, as a polling driver does.
    std::vector<uint8_t> drain() {
        std::vector<uint8_t> bytes;
        while (inb(i8042, STATUS) & ST_OBF)
            bytes.push_back(inb(i8042, DATA));
        return bytes;
    }
    uint64_t attr(uint32_t group, uint64_t attr) const { return i8042.getAttr(group, attr).scalar; }
};

using Bytes = std::vector<uint8_t>;

} // namespace kvmscope::testing::i8042
