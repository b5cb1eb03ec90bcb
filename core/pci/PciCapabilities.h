#pragma once
// A function's capabilities list (PCI Local Bus Specification 3.0, 6.7 "Capabilities List"):
// the status register's bit 4 says there is one, the byte at 0x34 points to the first
// capability, and each capability starts with its ID and the offset of the next (0: the last).
// Capabilities live in the device-specific part of the space (0x40-0xff), dword aligned.
//
// PciCapabilityList builds the list in a function's configuration space while the function is
// constructed, with the bits software may write in each capability; walkCapabilities follows a
// list as system software does, guarding against a list that loops.
#include "pci/PciConfigSpace.h"

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace kvmscope::pci {

// One capability in the list: its ID and where it starts.
struct PciCapability {
    uint8_t id = 0;
    unsigned offset = 0;
    unsigned length = 0; // the bytes it occupies, as built; 0 when only walked
};

class PciCapabilityList {
public:
    explicit PciCapabilityList(PciConfigSpace& config) : config_(config) {}

    // Appends capability `id` whose bytes after the ID and next pointer are `body`, at the next
    // dword-aligned offset; `writable` (empty, or as long as `body`) gives the bits of each of
    // those bytes software may write. Sets the status register's capabilities bit and links the
    // capability in. Returns its offset; throws Error when it does not fit in 0x40-0xff.
    unsigned add(uint8_t id, std::span<const uint8_t> body, std::span<const uint8_t> writable = {});

    const std::vector<PciCapability>& entries() const { return entries_; }
    // The capability that holds configuration byte `offset`, or null.
    const PciCapability* containing(unsigned offset) const;

private:
    PciConfigSpace& config_;
    std::vector<PciCapability> entries_;
    unsigned nextFree_ = kFirstCapabilityOffset;
};

// The list as software finds it through `read(offset, size)`: empty when the status register's
// capabilities bit is clear. A pointer outside 0x40-0xff ends the walk; so does a pointer seen
// before (a loop), after which the list read so far is returned.
std::vector<PciCapability>
walkCapabilities(const std::function<uint32_t(unsigned offset, unsigned size)>& read);

} // namespace kvmscope::pci
