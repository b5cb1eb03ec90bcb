#include "pci/PciCapabilities.h"

#include "common/Error.h"

#include <bitset>
#include <fmt/format.h>

namespace kvmscope::pci {
namespace {

constexpr unsigned kHeaderBytes = 2; // the capability ID and the next pointer (6.7)

} // namespace

unsigned PciCapabilityList::add(uint8_t id, std::span<const uint8_t> body,
                                std::span<const uint8_t> writable) {
    const unsigned length = kHeaderBytes + static_cast<unsigned>(body.size());
    const unsigned offset = nextFree_;
    if (!writable.empty() && writable.size() != body.size())
        throw Error(fmt::format("PCI capability {:#04x}: {} writable-mask bytes for a body of {}",
                                id, writable.size(), body.size()));
    if (offset + length > kConfigSpaceSize)
        throw Error(fmt::format("PCI capability {:#04x} ({} bytes) does not fit at {:#x}: the "
                                "capabilities end at {:#x} (6.7)",
                                id, length, offset, kConfigSpaceSize));
    config_.set8(offset, id);
    config_.set8(offset + 1, 0); // the last one for now
    for (size_t i = 0; i < body.size(); ++i) {
        config_.set8(offset + kHeaderBytes + static_cast<unsigned>(i), body[i]);
        if (!writable.empty())
            config_.setWritable(offset + kHeaderBytes + static_cast<unsigned>(i), writable[i], 1);
    }
    // Link it after the last one, or from 0x34 when it is the first.
    const unsigned pointer = entries_.empty() ? kCapabilitiesPointer : entries_.back().offset + 1;
    config_.set8(pointer, static_cast<uint8_t>(offset));
    config_.set16(kStatus, static_cast<uint16_t>(config_.get16(kStatus) | kStatusCapabilities));
    entries_.push_back({id, offset, length});
    nextFree_ = (offset + length + 3) & ~3u; // 6.7: each capability is dword aligned
    return offset;
}

const PciCapability* PciCapabilityList::containing(unsigned offset) const {
    for (const PciCapability& capability : entries_)
        if (offset >= capability.offset && offset < capability.offset + capability.length)
            return &capability;
    return nullptr;
}

std::vector<PciCapability>
walkCapabilities(const std::function<uint32_t(unsigned offset, unsigned size)>& read) {
    std::vector<PciCapability> found;
    if (!(read(kStatus, 2) & kStatusCapabilities))
        return found;
    std::bitset<kConfigSpaceSize> seen;
    unsigned offset = read(kCapabilitiesPointer, 1) & kCapabilityPointerMask;
    while (offset >= kFirstCapabilityOffset && offset < kConfigSpaceSize && !seen[offset]) {
        seen[offset] = true;
        found.push_back({static_cast<uint8_t>(read(offset, 1)), offset, 0});
        offset = read(offset + 1, 1) & kCapabilityPointerMask;
    }
    return found;
}

} // namespace kvmscope::pci
