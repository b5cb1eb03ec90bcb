#pragma once
// A conventional PCI function's 256-byte configuration space (PCI Local Bus Specification 3.0,
// 6.1) with what the hardware decides per bit: which bits software may write (the others keep
// their value: identification registers, the read-only status bits, the size bits of a BAR) and
// which are "write 1 to clear" (6.2.3: the error bits of the status register). Plain data, no
// lock: the function that owns it guards it.
#include "pci/PciRegisters.h"

#include <array>
#include <cstdint>

namespace kvmscope::pci {

class PciConfigSpace {
public:
    // Reads `size` bytes (1, 2 or 4) at `offset`, little endian; bytes past the end read 0xff.
    uint32_t read(unsigned offset, unsigned size) const;
    // A guest's write: each byte's writable bits take the new value, its write-1-to-clear bits
    // are cleared where the value has a 1, the rest stay. Bytes past the end are dropped.
    void write(unsigned offset, uint32_t value, unsigned size);

    // Set-up, ignoring the masks: the value the register has at reset.
    void set8(unsigned offset, uint8_t value) { bytes_[offset] = value; }
    void set16(unsigned offset, uint16_t value) { setRaw(offset, value, 2); }
    void set32(unsigned offset, uint32_t value) { setRaw(offset, value, 4); }
    void setRaw(unsigned offset, uint32_t value, unsigned size);
    // Which bits of the `size` bytes at `offset` software may write.
    void setWritable(unsigned offset, uint32_t mask, unsigned size);
    // Which of those bits are cleared by writing 1 instead (they are not also writable).
    void setWriteOneToClear(unsigned offset, uint32_t mask, unsigned size);

    uint8_t get8(unsigned offset) const { return bytes_[offset]; }
    uint16_t get16(unsigned offset) const { return static_cast<uint16_t>(read(offset, 2)); }
    uint32_t get32(unsigned offset) const { return read(offset, 4); }
    uint32_t writableMask(unsigned offset, unsigned size) const;

    std::array<uint8_t, kConfigSpaceSize>& bytes() { return bytes_; }
    const std::array<uint8_t, kConfigSpaceSize>& bytes() const { return bytes_; }

private:
    std::array<uint8_t, kConfigSpaceSize> bytes_{};
    std::array<uint8_t, kConfigSpaceSize> writable_{};
    std::array<uint8_t, kConfigSpaceSize> writeOneToClear_{};
};

} // namespace kvmscope::pci
