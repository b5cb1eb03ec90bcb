#pragma once
// The device fuzz harness: the input is a sequence of 6-byte records, each one access a guest or
// the GUI could make — a port read or write of 1, 2 or 4 bytes anywhere in the device's range
// (the bus dispatches on the first port only, so an access may run past the range's end, as in
// AddressBus::read), an attribute read or write through the Device interface, or host input
// (serial bytes, key presses) through the device's own entry points.
//
// Port accesses must never throw; attribute calls may refuse with AttributeError only, and a
// readable attribute that attributes() lists must be readable. Anything else is a finding.
#include "FuzzSupport.h"
#include "devices/Device.h"
#include "devices/IrqLine.h"
#include "machine/BusDevice.h"

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

namespace kvmscope::fuzz {

// An interrupt line that checks what the devices promise: they call setLevel only when the level
// changes (the line starts low), so the same level twice in a row means a device lost track of
// its own output.
class FuzzIrqLine : public IrqLine {
public:
    void setLevel(bool high) override {
        check(high != level_, "a device set its IRQ line to the level it already had");
        level_ = high;
    }

private:
    bool level_ = false;
};

// One record of the input (little endian):
//   +0 operation: bits 0-2 kind (kDeviceOp* below), bits 3-4 access size (1, 2, 4, 4),
//      bit 5: set the upper 32 bits of an attribute value (out-of-range values for U8..U32)
//   +1 selector: port offset (modulo the range), attribute index, or attribute group
//   +2 value, 32 bits
constexpr size_t kDeviceRecordSize = 6;
enum DeviceOp : uint8_t {
    kDeviceOpRead,
    kDeviceOpReadAgain, // reads twice as often as anything else: guests poll
    kDeviceOpWrite,
    kDeviceOpWriteAgain,
    kDeviceOpGetAttr,  // the selector-th attribute of attributes()
    kDeviceOpSetAttr,  // the same, with the record's value
    kDeviceOpRawAttr,  // getAttr and setAttr on (selector, value & 0xff), listed or not
    kDeviceOpHostInput // the device's own host-side entry point, if it has one
};

struct DeviceUnderTest {
    BusDevice& bus;
    Device& device;
    uint64_t portCount;
    // Called for kDeviceOpHostInput with the record's selector and value; may be empty.
    std::function<void(uint8_t selector, uint32_t value)> hostInput;
};

class DeviceDriver {
public:
    explicit DeviceDriver(DeviceUnderTest target) : target_(std::move(target)) {
        attributes_ = target_.device.attributes();
        check(!attributes_.empty(), "a user-space device lists no attribute");
        // Once per process (each target drives one device type): hasAttr builds the list again
        // for every call, and the check does not depend on the input.
        static bool listChecked = false;
        if (!listChecked) {
            for (const AttributeInfo& info : attributes_)
                check(target_.device.hasAttr(info.group, info.attr),
                      "hasAttr is false for an attribute that attributes() lists");
            listChecked = true;
        }
    }

    void run(const uint8_t* data, size_t size) {
        InputReader input(data, size);
        while (!input.empty()) {
            const auto operation = input.read<uint8_t>();
            const auto selector = input.read<uint8_t>();
            const auto value = input.read<uint32_t>();
            step(operation, selector, value);
        }
    }

private:
    void step(uint8_t operation, uint8_t selector, uint32_t value) {
        static constexpr std::array<size_t, 4> kSizes = {1, 2, 4, 4};
        const size_t accessSize = kSizes[(operation >> 3) & 3];
        const uint64_t wide = (operation & 0x20) ? uint64_t{value} << 32 : 0;
        switch (static_cast<DeviceOp>(operation & 7)) {
        case kDeviceOpRead:
        case kDeviceOpReadAgain:
            portRead(selector % target_.portCount, accessSize);
            break;
        case kDeviceOpWrite:
        case kDeviceOpWriteAgain:
            portWrite(selector % target_.portCount, accessSize, value);
            break;
        case kDeviceOpGetAttr:
            getListed(attributes_[selector % attributes_.size()]);
            break;
        case kDeviceOpSetAttr:
            setListed(attributes_[selector % attributes_.size()], value | wide);
            break;
        case kDeviceOpRawAttr:
            rawAttr(selector, value & 0xff, value >> 8);
            break;
        case kDeviceOpHostInput:
            if (target_.hostInput)
                target_.hostInput(selector, value);
            break;
        }
    }

    void portRead(uint64_t offset, size_t accessSize) {
        std::array<uint8_t, 4> bytes{};
        try {
            target_.bus.read(offset, std::span<uint8_t>(bytes.data(), accessSize));
        } catch (const std::exception& error) {
            failOnException("a port read", error);
        }
    }

    void portWrite(uint64_t offset, size_t accessSize, uint32_t value) {
        std::array<uint8_t, 4> bytes{};
        std::memcpy(bytes.data(), &value, bytes.size());
        try {
            target_.bus.write(offset, std::span<const uint8_t>(bytes.data(), accessSize));
        } catch (const std::exception& error) {
            failOnException("a port write", error);
        }
    }

    void getListed(const AttributeInfo& info) {
        try {
            (void)target_.device.getAttr(info.group, info.attr);
        } catch (const AttributeError& error) {
            if (canRead(info.access))
                fail("getAttr refused an attribute listed as readable (" + info.name +
                     "): " + error.what());
        } catch (const std::exception& error) {
            failOnException("getAttr", error);
        }
    }

    void setListed(const AttributeInfo& info, uint64_t value) {
        AttrValue attrValue = AttrValue::of(value);
        if (info.type == AttrType::Bytes) {
            // A length around the attribute's own size, so that both the right and wrong sizes
            // come up: the current value's size plus or minus a few bytes.
            size_t length = value & 0xff;
            try {
                length =
                    target_.device.getAttr(info.group, info.attr).bytes.size() + (value & 7) - 3;
            } catch (const AttributeError&) {
            }
            attrValue.bytes.resize(length % 4096);
            for (size_t i = 0; i < attrValue.bytes.size(); ++i)
                attrValue.bytes[i] = static_cast<uint8_t>(value >> (8 * (i % 4)));
        }
        set(info.group, info.attr, attrValue);
    }

    void rawAttr(uint32_t group, uint64_t attr, uint64_t value) {
        try {
            (void)target_.device.hasAttr(group, attr);
            (void)target_.device.getAttr(group, attr);
        } catch (const AttributeError&) {
        } catch (const std::exception& error) {
            failOnException("getAttr", error);
        }
        set(group, attr, AttrValue::of(value));
    }

    void set(uint32_t group, uint64_t attr, const AttrValue& value) {
        try {
            target_.device.setAttr(group, attr, value);
        } catch (const AttributeError&) {
        } catch (const std::exception& error) {
            failOnException("setAttr", error);
        }
    }

    DeviceUnderTest target_;
    std::vector<AttributeInfo> attributes_;
};

} // namespace kvmscope::fuzz
