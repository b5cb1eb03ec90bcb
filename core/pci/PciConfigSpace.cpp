#include "pci/PciConfigSpace.h"

namespace kvmscope::pci {

uint32_t PciConfigSpace::read(unsigned offset, unsigned size) const {
    uint32_t value = 0;
    for (unsigned i = 0; i < size && i < 4; ++i) {
        const unsigned at = offset + i;
        const uint8_t byte = at < kConfigSpaceSize ? bytes_[at] : 0xff;
        value |= uint32_t{byte} << (8 * i);
    }
    return value;
}

void PciConfigSpace::write(unsigned offset, uint32_t value, unsigned size) {
    for (unsigned i = 0; i < size && i < 4; ++i) {
        const unsigned at = offset + i;
        if (at >= kConfigSpaceSize)
            break;
        const auto byte = static_cast<uint8_t>(value >> (8 * i));
        uint8_t next = static_cast<uint8_t>((bytes_[at] & ~writable_[at]) | (byte & writable_[at]));
        next = static_cast<uint8_t>(next & ~(byte & writeOneToClear_[at]));
        bytes_[at] = next;
    }
}

void PciConfigSpace::setRaw(unsigned offset, uint32_t value, unsigned size) {
    for (unsigned i = 0; i < size && offset + i < kConfigSpaceSize; ++i)
        bytes_[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

void PciConfigSpace::setWritable(unsigned offset, uint32_t mask, unsigned size) {
    for (unsigned i = 0; i < size && offset + i < kConfigSpaceSize; ++i) {
        writable_[offset + i] = static_cast<uint8_t>(mask >> (8 * i));
        writeOneToClear_[offset + i] &= static_cast<uint8_t>(~writable_[offset + i]);
    }
}

void PciConfigSpace::setWriteOneToClear(unsigned offset, uint32_t mask, unsigned size) {
    for (unsigned i = 0; i < size && offset + i < kConfigSpaceSize; ++i) {
        writeOneToClear_[offset + i] = static_cast<uint8_t>(mask >> (8 * i));
        writable_[offset + i] &= static_cast<uint8_t>(~writeOneToClear_[offset + i]);
    }
}

uint32_t PciConfigSpace::writableMask(unsigned offset, unsigned size) const {
    uint32_t mask = 0;
    for (unsigned i = 0; i < size && i < 4 && offset + i < kConfigSpaceSize; ++i)
        mask |= uint32_t{writable_[offset + i]} << (8 * i);
    return mask;
}

} // namespace kvmscope::pci
